import Foundation
import XCTest

@testable import KeycardClient

#if canImport(Glibc)
  import Glibc
#endif

/// A real kcsh-sandbox on a free loopback port, as a child of the tests
/// (started by SandboxChild, as kcsh starts its own). Found through
/// KCSH_SANDBOX_BIN, else next to the test bundle; tests skip when there is
/// none (the lean ASan build has no sandbox), except under CI=true, where
/// scripts/test always provides one.
final class SandboxProcess {
  let child: SandboxChild
  var baseURL: String { child.baseURL }
  var apiKey: String { child.apiKey }
  /// A plain client (no retries) for setting up and for /_sandbox calls.
  let admin: KeycardClient

  static func binary() -> String? {
    if let p = getenv("KCSH_SANDBOX_BIN").map({ String(cString: $0) }), access(p, X_OK) == 0 { return p }
    guard let p = SandboxChild.besideExecutable, access(p, X_OK) == 0 else { return nil }
    return p
  }

  struct StartFailure: Error, CustomStringConvertible { let description: String }

  init(_ extra: [String] = []) throws {
    guard let bin = Self.binary() else {
      let why = "no kcsh-sandbox (set KCSH_SANDBOX_BIN)"
      if getenv("CI").map({ String(cString: $0) }) == "true" { throw StartFailure(description: why) }
      throw XCTSkip(why)
    }
    // A sandbox that is there but does not start is a failure, not a skip.
    child = try SandboxChild(path: bin, arguments: ["--port", "0", "--exit-with-stdin"] + extra)
    var config = Configuration(baseURL: child.baseURL, credentials: .apiKey(Secret(child.apiKey)))
    config.maxRetries = 0
    do {
      admin = try KeycardClient(configuration: config)
    } catch {
      child.stop()
      throw error
    }
  }

  deinit {
    child.stop()
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
