import Foundation
import XCTest

@testable import KeycardClient

#if canImport(Glibc)
  import Glibc
#endif

/// A real kcsh-sandbox on a free loopback port, as a child of the tests.
/// Found through KCSH_SANDBOX_BIN, else next to the test bundle; tests skip
/// when there is none (the lean ASan build has no sandbox), except under
/// CI=true, where scripts/test always provides one.
final class SandboxProcess {
  let pid: pid_t
  let stdinFD: Int32
  let baseURL: String
  let apiKey: String
  /// A plain client (no retries) for setting up and for /_sandbox calls.
  let admin: KeycardClient

  static func binary() -> String? {
    if let p = getenv("KCSH_SANDBOX_BIN").map({ String(cString: $0) }), access(p, X_OK) == 0 { return p }
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return nil }
    var dir = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while let last = dir.last, last != "/" { dir.removeLast() }
    let p = dir + "kcsh-sandbox"
    return access(p, X_OK) == 0 ? p : nil
  }

  struct StartFailure: Error, CustomStringConvertible { let description: String }

  init(_ extra: [String] = []) throws {
    guard let bin = Self.binary() else {
      let why = "no kcsh-sandbox (set KCSH_SANDBOX_BIN)"
      if getenv("CI").map({ String(cString: $0) }) == "true" { throw StartFailure(description: why) }
      throw XCTSkip(why)
    }
    var toChild: [Int32] = [-1, -1]
    var fromChild: [Int32] = [-1, -1]
    pipe(&toChild)
    pipe(&fromChild)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
    posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
    posix_spawn_file_actions_addclose(&actions, toChild[1])
    posix_spawn_file_actions_addclose(&actions, fromChild[0])
    let args = [bin, "--port", "0", "--exit-with-stdin"] + extra
    let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, bin, &actions, nil, argv, environ)
    for p in argv { free(p) }
    posix_spawn_file_actions_destroy(&actions)
    close(toChild[0])
    close(fromChild[1])
    guard rc == 0 else { throw StartFailure(description: "cannot start \(bin)") }
    self.pid = pid
    stdinFD = toChild[1]
    // Its two ready lines.
    var out: [UInt8] = []
    var byte: UInt8 = 0
    while out.filter({ $0 == 10 }).count < 2 {
      if read(fromChild[0], &byte, 1) != 1 { break }
      out.append(byte)
    }
    close(fromChild[0])
    var url = "", key = ""
    for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
      if line.hasPrefix("KEYCARD_API_BASE_URL=") { url = String(line.dropFirst(21)) }
      if line.hasPrefix("KEYCARD_API_API_KEY=") { key = String(line.dropFirst(20)) }
    }
    baseURL = url
    apiKey = key
    var config = Configuration(baseURL: url, credentials: .apiKey(Secret(key)))
    config.maxRetries = 0
    admin = try KeycardClient(configuration: config)
    // A sandbox that is there but does not start is a failure, not a skip.
    if url.isEmpty { throw StartFailure(description: "\(bin) did not start") }
  }

  deinit {
    close(stdinFD)  // --exit-with-stdin: it stops
    var status: Int32 = 0
    for _ in 0..<400 {
      if waitpid(pid, &status, WNOHANG) == pid { return }
      usleep(5000)
    }
    kill(pid, SIGKILL)
    waitpid(pid, &status, 0)
  }

  /// A client on this sandbox with the API key (or other credentials).
  func client(retries: Int = 2, credentials: Credentials? = nil, configure: (inout Configuration) -> Void = { _ in })
    throws -> KeycardClient
  {
    var config = Configuration(baseURL: baseURL, credentials: credentials ?? .apiKey(Secret(apiKey)))
    config.maxRetries = retries
    configure(&config)
    let c = try KeycardClient(configuration: config)
    c.randomJitter = { 0 }
    return c
  }

  func setFaults(_ spec: String, seed: Int = 1) throws {
    _ = try admin.send(
      APICall(method: "PUT", path: "/_sandbox/faults", body: Array(#"{"spec":"\#(spec)","seed":\#(seed)}"#.utf8)))
  }

  func clearRequests() throws {
    _ = try admin.send(APICall(method: "DELETE", path: "/_sandbox/requests"))
  }

  /// The request IDs and statuses the sandbox received, oldest first.
  func requests() throws -> [(id: String?, status: Int, path: String)] {
    let body = try admin.send(APICall(method: "GET", path: "/_sandbox/requests")).body
    let log = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
    let items = try XCTUnwrap(log?["items"] as? [[String: Any]], String(decoding: body, as: UTF8.self))
    return items.map { ($0["request_id"] as? String, $0["status"] as? Int ?? -1, $0["path"] as? String ?? "") }
  }

  func send(_ method: String, _ path: String, _ body: String? = nil) throws -> [UInt8] {
    try admin.send(APICall(method: method, path: path, body: body.map { Array($0.utf8) })).body
  }
}
