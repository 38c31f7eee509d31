import Foundation
import XCTest

@testable import KeycardSandbox

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The server started in-process on port 0 and driven over real HTTP.
final class HTTPTests: XCTestCase {
  private var server: Task<Void, any Error>?
  private var base = ""
  private var key = ""
  private var sandbox: SandboxServer?

  override func setUp() async throws {
    var options = SandboxOptions()
    options.apiKey = "test-key"
    let sandbox = try SandboxServer(options)
    self.sandbox = sandbox
    key = sandbox.apiKey
    let (stream, continuation) = AsyncStream<Int>.makeStream()
    server = Task {
      try await sandbox.run(port: 0) { port in continuation.yield(port) }
    }
    var it = stream.makeAsyncIterator()
    let port = await it.next() ?? 0
    base = "http://127.0.0.1:\(port)"
  }

  override func tearDown() async throws {
    server?.cancel()
    _ = try? await server?.value
  }

  private func call(_ method: String, _ path: String, _ body: String? = nil, auth: Bool = true) async throws -> (Int, [String: Any]) {
    var req = URLRequest(url: URL(string: base + path)!)
    req.httpMethod = method
    if auth { req.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
    if let body {
      req.httpBody = Data(body.utf8)
      req.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    let (data, response) = try await URLSession.shared.data(for: req)
    let status = (response as! HTTPURLResponse).statusCode
    let json = data.isEmpty ? [:] : (try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:])
    return (status, json)
  }

  /// The token of the newest invitation mail.
  private func lastOutboxToken() async throws -> String {
    let (_, outbox) = try await call("GET", "/_sandbox/outbox", auth: false)
    return try XCTUnwrap(((outbox["items"] as? [[String: Any]])?.last)?["token"] as? String)
  }

  func testOrganizationLifecycle() async throws {
    let (s1, org) = try await call("POST", "/organizations", #"{"name": "Swift Test"}"#)
    XCTAssertEqual(s1, 201)
    XCTAssertEqual(org["label"] as? String, "swift-test")
    let id = try XCTUnwrap(org["id"] as? String)
    XCTAssertEqual(id.count, 26)
    let (s2, got) = try await call("GET", "/organizations/swift-test")
    XCTAssertEqual(s2, 200)
    XCTAssertEqual(got["id"] as? String, id)
    let (s3, list) = try await call("GET", "/organizations?limit=1")
    XCTAssertEqual(s3, 200)
    XCTAssertEqual((list["items"] as? [Any])?.count, 1)
  }

  func testErrorsHaveTheAPIShape() async throws {
    for (method, path, body, auth, status) in [
      ("GET", "/organizations", nil, false, 401),
      ("GET", "/nowhere", nil, true, 404),
      ("POST", "/organizations", "{", true, 400),
      ("GET", "/organizations?limit=0", nil, true, 400),
      ("PUT", "/organizations", nil, true, 405),
    ] as [(String, String, String?, Bool, Int)] {
      let (s, e) = try await call(method, path, body, auth: auth)
      XCTAssertEqual(s, status, "\(method) \(path)")
      XCTAssertEqual(e["status"] as? Int, status)
      XCTAssertNotNil(e["code"] as? String)
      XCTAssertNotNil(e["message"] as? String)
    }
  }

  func testInvitationBecomesAUser() async throws {
    _ = try await call("POST", "/organizations", #"{"name": "Inv"}"#)
    let (s1, inv) = try await call("POST", "/organizations/inv/invitations", #"{"email": "ana@example.com", "role": "org_admin"}"#)
    XCTAssertEqual(s1, 201)
    XCTAssertEqual(inv["status"] as? String, "pending")
    let (s2, dup) = try await call("POST", "/organizations/inv/invitations", #"{"email": "ANA@example.com", "role": "org_member"}"#)
    XCTAssertEqual(s2, 409)
    XCTAssertEqual(dup["code"] as? String, "invitation_pending")
    let token = try await lastOutboxToken()
    let (s3, accepted) = try await call("POST", "/invitations/\(token)/accept", auth: false)
    XCTAssertEqual(s3, 200)
    let userID = try XCTUnwrap(accepted["user_id"] as? String)
    let (s4, user) = try await call("GET", "/organizations/inv/users/\(userID)")
    XCTAssertEqual(s4, 200)
    XCTAssertEqual(user["role"] as? String, "org_admin")
  }

  /// A pending invitation past its expiry reads as expired everywhere, and cannot be accepted.
  func testLapsedInvitationShowsAsExpired() async throws {
    _ = try await call("POST", "/organizations", #"{"name": "Lapse"}"#)
    let (s1, inv) = try await call("POST", "/organizations/lapse/invitations", #"{"email": "bo@example.com", "role": "org_member"}"#)
    XCTAssertEqual(s1, 201)
    XCTAssertEqual(inv["status"] as? String, "pending")
    let token = try await lastOutboxToken()
    let (_, before) = try await call("GET", "/invitations/\(token)", auth: false)
    XCTAssertEqual(before["status"] as? String, "pending")

    try await XCTUnwrap(sandbox).store.write { db in
      try exec(db, "UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000Z'")
    }
    let (_, shown) = try await call("GET", "/invitations/\(token)", auth: false)
    XCTAssertEqual(shown["status"] as? String, "expired")
    let (_, list) = try await call("GET", "/organizations/lapse/invitations")
    XCTAssertEqual((list["items"] as? [[String: Any]])?.map { $0["status"] as? String }, ["expired"])
    let (_, identities) = try await call("GET", "/organizations/lapse/identities")
    let idn = try XCTUnwrap(identities["items"] as? [[String: Any]])
    XCTAssertEqual(idn.filter { $0["type"] as? String == "invitation" }.map { $0["status"] as? String }, ["expired"])
    let (s2, refused) = try await call("POST", "/invitations/\(token)/accept", auth: false)
    XCTAssertEqual(s2, 409)
    XCTAssertEqual(refused["code"] as? String, "invitation_not_pending")
    XCTAssertEqual(refused["message"] as? String, "this invitation has expired")
  }

  /// Demo rows carry what the routes write: the admin as inviter, the sandbox as user source.
  func testDemoDataMatchesWhatTheRoutesWrite() async throws {
    XCTAssertTrue(try XCTUnwrap(sandbox).store.loadDemo())
    XCTAssertTrue(try XCTUnwrap(sandbox).store.loadScale(2))
    let (_, made) = try await call("POST", "/organizations/acme/invitations", #"{"email": "new@example.com", "role": "org_member"}"#)
    let (_, invitations) = try await call("GET", "/organizations/acme/invitations")
    let creators = Set(try XCTUnwrap(invitations["items"] as? [[String: Any]]).map { $0["created_by"] as? String })
    XCTAssertEqual(creators, [try XCTUnwrap(made["created_by"] as? String)])
    for org in ["acme", "scale"] {
      let (_, users) = try await call("GET", "/organizations/\(org)/users")
      let sources = Set(try XCTUnwrap(users["items"] as? [[String: Any]]).map { $0["source"] as? String })
      XCTAssertEqual(sources, [SandboxServer.userSource], org)
    }
  }

  /// A missing row is a 404 from the body helpers themselves, never a 200 with an empty body.
  func testMissingServiceAccountRowIsNotFound() async throws {
    let store = try XCTUnwrap(sandbox).store
    func assertNotFound(_ message: String, _ body: () async throws -> [UInt8]) async {
      do {
        let bytes = try await body()
        XCTFail("\(message): got \(bytes.count) bytes")
      } catch {
        XCTAssertEqual((error as? APIError)?.status, 404)
        XCTAssertEqual((error as? APIError)?.message, message)
      }
    }
    let org = OrgRef(seq: 1, id: "nope", name: "Nope", owner: "")
    await assertNotFound("service account 'gone' not found") { try await store.read { try SandboxServer.saBody($0, org: org, "gone", false) } }
    await assertNotFound("credential 'gone' not found") { try await store.read { try SandboxServer.credentialBody($0, sa: 1, "gone", false) } }
    _ = try await call("POST", "/organizations", #"{"name": "SA"}"#)
    let (_, sa) = try await call("POST", "/organizations/sa/service-accounts", #"{"name": "ci"}"#)
    let saID = try XCTUnwrap(sa["id"] as? String)
    for (method, path, body, message) in [
      ("GET", "/organizations/sa/service-accounts/gone", nil, "service account 'gone' not found"),
      ("PATCH", "/organizations/sa/service-accounts/gone", #"{"name": "x"}"#, "service account 'gone' not found"),
      ("PATCH", "/organizations/sa/service-accounts/gone", "{}", "service account 'gone' not found"),
      ("GET", "/organizations/sa/service-accounts/\(saID)/credentials/gone", nil, "credential 'gone' not found"),
      ("PATCH", "/organizations/sa/service-accounts/\(saID)/credentials/gone", #"{"name": "x"}"#, "credential 'gone' not found"),
      ("GET", "/organizations/sa/service-accounts/gone/credentials/gone", nil, "service account 'gone' not found"),
    ] as [(String, String, String?, String)] {
      let (s, e) = try await call(method, path, body)
      XCTAssertEqual(s, 404, "\(method) \(path)")
      XCTAssertEqual(e["message"] as? String, message, "\(method) \(path)")
    }
  }
}
