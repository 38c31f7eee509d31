@preconcurrency import Glibc
import Synchronization
import Threads

/// A kcsh-sandbox child on a free loopback port: the one way Swift starts a
/// sandbox (kcsh's `--sandbox` and the Swift tests both use it).
///
/// The child's stdin is a pipe that only this process holds (close-on-exec,
/// so other children do not inherit it); with `--exit-with-stdin` the child
/// stops when that pipe closes, which also covers this process being killed.
/// The child gets its own process group, so a Ctrl-C meant for a script or
/// the REPL does not reach it. What it writes on stderr while it starts is
/// shown only if it fails; afterwards its stderr goes to ours and its stdout
/// is read and dropped.
public final class SandboxChild: Sendable {
  public struct Failure: Error, CustomStringConvertible {
    public let message: String

    public init(message: String) {
      self.message = message
    }

    public var description: String { message }
  }

  public let pid: pid_t
  /// What the child printed: KEYCARD_API_BASE_URL and KEYCARD_API_API_KEY.
  public let baseURL: String
  public let apiKey: String
  private let stdinFD: Int32
  private let stopped = Atomic<Bool>(false)

  /// How long the child may take to print its address.
  public static let startTimeoutMilliseconds: Int32 = 30_000

  /// kcsh-sandbox next to the running program (kcsh, or the test bundle).
  public static var besideExecutable: String? {
    Executable.directory.map { $0 + "/kcsh-sandbox" }
  }

  /// Starts `path` with `arguments` and reads its two lines.
  public init(path: String, arguments: [String]) throws(Failure) {
    var pipes: [[Int32]] = []
    for _ in 0..<3 {
      var fds: [Int32] = [-1, -1]
      guard Self.makePipe(&fds) else {
        for fd in pipes.joined() { close(fd) }
        throw Self.systemFailure("pipe")
      }
      pipes.append(fds)
    }
    let (toChild, fromStdout, fromStderr) = (pipes[0], pipes[1], pipes[2])
    let pid: pid_t
    do {
      pid = try Self.spawn(path, arguments, stdio: [toChild[0], fromStdout[1], fromStderr[1]])
    } catch {
      for fd in pipes.joined() { close(fd) }
      throw error
    }
    for fd in [toChild[0], fromStdout[1], fromStderr[1]] { close(fd) }

    var startup = Startup(stdout: fromStdout[0], stderr: fromStderr[0])
    let lines: [String]
    do {
      lines = try startup.readLines(2)
    } catch {
      Self.stop(pid: pid, stdinFD: toChild[1])
      throw startup.failure(error.message)
    }
    var url: String?
    var key: String?
    for line in lines {
      if line.hasPrefix("KEYCARD_API_BASE_URL=") { url = String(line.dropFirst(21)) }
      if line.hasPrefix("KEYCARD_API_API_KEY=") { key = String(line.dropFirst(20)) }
    }
    guard let url, let key else {
      Self.stop(pid: pid, stdinFD: toChild[1])
      let printed = lines.joined(separator: " | ")
      throw startup.failure("kcsh-sandbox did not print its URL and API key (it printed: \(printed))")
    }
    Self.startForwarding(stdout: fromStdout[0], stderr: fromStderr[0])
    self.pid = pid
    self.stdinFD = toChild[1]
    self.baseURL = url
    self.apiKey = key
  }

  /// Stops the child (once): closes its stdin and waits; if it is still
  /// there after 2 s, SIGTERM; after 2 s more, SIGKILL.
  public func stop() {
    guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
    Self.stop(pid: pid, stdinFD: stdinFD)
  }

  private static func stop(pid: pid_t, stdinFD: Int32) {
    close(stdinFD)
    if waitExit(pid, milliseconds: 2000) { return }
    kill(pid, SIGTERM)
    if waitExit(pid, milliseconds: 2000) { return }
    kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  }

  /// True once `pid` has exited (and was reaped) within the time given.
  private static func waitExit(_ pid: pid_t, milliseconds: Int) -> Bool {
    var status: Int32 = 0
    for _ in 0..<(milliseconds / 5 + 1) {
      let r = waitpid(pid, &status, WNOHANG)
      if r == pid || (r < 0 && errno != EINTR) { return true }
      usleep(5000)
    }
    return false
  }

  private static func spawn(_ path: String, _ arguments: [String], stdio: [Int32])
    throws(Failure) -> pid_t
  {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (target, fd) in stdio.enumerated() {
      posix_spawn_file_actions_adddup2(&actions, fd, Int32(target))
    }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGINT)
    sigaddset(&defaults, SIGPIPE)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setpgroup(&attributes, 0)
    let flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
    posix_spawnattr_setflags(&attributes, Int16(flags))

    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    guard rc == 0 else {
      throw Failure(message: "cannot start \(path): \(String(cString: strerror(rc)))")
    }
    return pid
  }

  /// Reading the child's first lines, keeping what it says on stderr.
  private struct Startup {
    let stdout: Int32
    let stderr: Int32
    var errors: [UInt8] = []

    init(stdout: Int32, stderr: Int32) {
      self.stdout = stdout
      self.stderr = stderr
    }

    /// Reads `count` lines from stdout; fails if the child closes it or
    /// takes longer than `startTimeoutMilliseconds`. Bytes after the last
    /// line are dropped.
    mutating func readLines(_ count: Int) throws(Failure) -> [String] {
      var lines: [String] = []
      var current: [UInt8] = []
      var waited: Int32 = 0
      while lines.count < count {
        var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
        let ready = poll(&fds, 2, 100)
        if ready < 0 && errno == EINTR { continue }
        if ready == 0 {
          waited += 100
          if waited >= startTimeoutMilliseconds {
            throw Failure(message: "kcsh-sandbox did not start within \(startTimeoutMilliseconds / 1000) s")
          }
          continue
        }
        if fds[1].revents != 0 { _ = readSome(stderr, into: &errors) }
        guard fds[0].revents != 0 else { continue }
        var chunk: [UInt8] = []
        guard readSome(stdout, into: &chunk) else {
          throw Failure(message: "kcsh-sandbox stopped before it was ready")
        }
        for byte in chunk {
          if byte == UInt8(ascii: "\n") {
            if lines.count < count { lines.append(String(decoding: current, as: UTF8.self)) }
            current = []
          } else {
            current.append(byte)
          }
        }
      }
      return lines
    }

    /// The failure, with what the child said on stderr (it has been
    /// stopped; a process it left behind may hold stderr, so wait 1 s at most).
    mutating func failure(_ message: String) -> Failure {
      var poller = pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)
      while poll(&poller, 1, 1000) > 0 && readSome(stderr, into: &errors) {}
      close(stdout)
      close(stderr)
      var text = String(decoding: errors, as: UTF8.self)
      if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
      return Failure(message: message + (text.isEmpty ? "" : "; it said:\n" + text.dropLast()))
    }
  }

  /// Appends what one read() gives; false at end of file or on error.
  private static func readSome(_ fd: Int32, into bytes: inout [UInt8]) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = read(fd, &buffer, buffer.count)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return false }
      bytes += buffer[..<n]
      return true
    }
  }

  /// On a thread of its own, drops the child's further stdout (so it never
  /// blocks on a full pipe) and copies its stderr to kcsh's.
  private static func startForwarding(stdout: Int32, stderr: Int32) {
    let fds = UnsafeMutableRawPointer(bitPattern: Int(stdout) << 32 | Int(stderr))
    let thread = startThreadWithoutSIGINT(
      { argument in
        let packed = Int(bitPattern: argument)
        var open = [Int32(truncatingIfNeeded: packed >> 32), Int32(truncatingIfNeeded: packed & 0xffff_ffff)]
        let err = open[1]
        while !open.isEmpty {
          var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
          if poll(&fds, nfds_t(fds.count), -1) < 0 {
            if errno == EINTR { continue }
            break
          }
          for p in fds where p.revents != 0 {
            var bytes: [UInt8] = []
            if SandboxChild.readSome(p.fd, into: &bytes) {
              if p.fd == err { bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) } }
            } else {
              close(p.fd)
              open.removeAll { $0 == p.fd }
            }
          }
        }
        for fd in open { close(fd) }
        return nil
      }, fds)
    if let thread {
      pthread_detach(thread)
    } else {
      close(stdout)
      close(stderr)
    }
  }

  /// A pipe whose ends are closed on exec. pipe then fcntl is not atomic,
  /// but no other thread starts processes meanwhile (Glibc does not export
  /// pipe2 to Swift).
  private static func makePipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
  }

  private static func systemFailure(_ what: String) -> Failure {
    Failure(message: "cannot start kcsh-sandbox: \(what): \(String(cString: strerror(errno)))")
  }
}
