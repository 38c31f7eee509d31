#if canImport(Glibc)
  @preconcurrency import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `--sandbox`: runs `kcsh-sandbox` (next to the kcsh binary) as a child on a
/// free loopback port and points kcsh's environment at it.
///
/// The child's stdin is a pipe that only kcsh holds (close-on-exec, so
/// scripts' own children do not inherit it); `--exit-with-stdin` makes the
/// child stop when that pipe closes, which also covers kcsh being killed.
/// The child gets its own process group, so a Ctrl-C meant for the script or
/// the REPL does not reach it.
enum Sandbox {
  struct Failure: Error {
    let message: String
  }

  private struct Child {
    let pid: pid_t
    let stdinFD: Int32
  }

  /// The running child; read by the atexit handler (os.exit ends the process
  /// from inside Lua).
  nonisolated(unsafe) private static var child: Child?
  nonisolated(unsafe) private static var atexitInstalled = false

  /// How long the child may take to print its address.
  static let startTimeoutMilliseconds: Int32 = 30_000

  /// Starts the child, sets KEYCARD_API_BASE_URL and KEYCARD_API_API_KEY in
  /// kcsh's environment and returns the base URL.
  static func start() throws(Failure) -> String {
    guard let dir = Executable.directory else {
      throw Failure(message: "--sandbox: cannot find kcsh's own directory")
    }
    let path = dir + "/kcsh-sandbox"
    guard access(path, X_OK) == 0 else {
      throw Failure(message: "--sandbox needs kcsh-sandbox next to kcsh, and \(path) is missing")
    }
    var toChild: [Int32] = [-1, -1]
    var fromChild: [Int32] = [-1, -1]
    guard makePipe(&toChild) else { throw systemFailure("pipe") }
    guard makePipe(&fromChild) else {
      close(toChild[0])
      close(toChild[1])
      throw systemFailure("pipe")
    }
    let pid: pid_t
    do {
      pid = try spawn(path, ["--port", "0", "--exit-with-stdin"], stdin: toChild[0], stdout: fromChild[1])
    } catch {
      for fd in toChild + fromChild { close(fd) }
      throw error
    }
    close(toChild[0])
    close(fromChild[1])
    child = Child(pid: pid, stdinFD: toChild[1])
    if !atexitInstalled {
      atexitInstalled = true
      atexit { Sandbox.stopRunning() }
    }

    let lines: [String]
    do {
      lines = try readLines(2, from: fromChild[0])
    } catch {
      close(fromChild[0])
      stopRunning()
      throw error
    }
    startDraining(fromChild[0])
    var url: String?
    var key: String?
    for line in lines {
      if line.hasPrefix("KEYCARD_API_BASE_URL=") { url = String(line.dropFirst(21)) }
      if line.hasPrefix("KEYCARD_API_API_KEY=") { key = String(line.dropFirst(20)) }
    }
    guard let url, let key else {
      stopRunning()
      throw Failure(message: "kcsh-sandbox did not print its URL and API key (it printed: \(lines.joined(separator: " | ")))")
    }
    setenv("KEYCARD_API_BASE_URL", url, 1)
    setenv("KEYCARD_API_API_KEY", key, 1)
    return url
  }

  /// Stops the child, if one runs: closes its stdin and waits; if it is still
  /// there after 2 s, SIGTERM; after 2 s more, SIGKILL.
  static func stopRunning() {
    guard let running = child else { return }
    child = nil
    close(running.stdinFD)
    if waitExit(running.pid, milliseconds: 2000) { return }
    kill(running.pid, SIGTERM)
    if waitExit(running.pid, milliseconds: 2000) { return }
    kill(running.pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(running.pid, &status, 0) < 0 && errno == EINTR {}
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

  private static func spawn(_ path: String, _ arguments: [String], stdin: Int32, stdout: Int32)
    throws(Failure) -> pid_t
  {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdin, 0)
    posix_spawn_file_actions_adddup2(&actions, stdout, 1)

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

  /// Reads `count` lines from `fd`, failing if the child closes its output
  /// or takes longer than `startTimeoutMilliseconds`. Bytes after the last
  /// line are dropped.
  private static func readLines(_ count: Int, from fd: Int32) throws(Failure) -> [String] {
    var lines: [String] = []
    var current: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 512)
    var waited: Int32 = 0
    while lines.count < count {
      var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, 100)
      if ready < 0 && errno == EINTR { continue }
      if ready == 0 {
        waited += 100
        if waited >= startTimeoutMilliseconds {
          throw Failure(message: "kcsh-sandbox did not start within \(startTimeoutMilliseconds / 1000) s")
        }
        continue
      }
      let n = read(fd, &buffer, buffer.count)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 {
        throw Failure(message: "kcsh-sandbox stopped before it was ready (see its messages above)")
      }
      for byte in buffer[..<n] {
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

  /// Reads and drops the child's further output on a thread of its own, so
  /// that it never blocks on a full pipe.
  private static func startDraining(_ fd: Int32) {
    var thread = pthread_t()
    let rc = pthread_create(
      &thread, nil,
      { argument in
        let fd = Int32(Int(bitPattern: argument) - 1)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
          let n = read(fd, &buffer, buffer.count)
          if n > 0 || (n < 0 && errno == EINTR) { continue }
          break
        }
        close(fd)
        return nil
      }, UnsafeMutableRawPointer(bitPattern: Int(fd) + 1))
    if rc == 0 { pthread_detach(thread) } else { close(fd) }
  }

  /// A pipe whose ends are closed on exec (kcsh runs no other thread yet,
  /// so pipe then fcntl is not racy).
  private static func makePipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
  }

  private static func systemFailure(_ what: String) -> Failure {
    Failure(message: "--sandbox: \(what): \(String(cString: strerror(errno)))")
  }
}
