import XCTest

@testable import KeycardClient

#if canImport(Glibc)
  import Glibc
#endif

/// The client's rules that need no server: retries, configuration, errors.
final class RulesTests: XCTestCase {
  func response(_ status: Int, _ headers: [(String, String)] = [], body: String = "") -> HTTPResponse {
    HTTPResponse(status: status, headers: headers.map { ($0.0, $0.1) }, body: Array(body.utf8), httpVersion: "1.1")
  }

  /// A 409 that names a state is an answer; one that does not (a concurrent
  /// change) is retried; the SDKs' behaviour retries both.
  func testStateConflictsAreNotRetried() {
    let pending = response(409, body: #"{"message": "m", "code": "invitation_pending", "status": 409}"#)
    let race = response(409, body: #"{"message": "m", "code": "conflict", "status": 409}"#)
    XCTAssertFalse(KeycardClient.shouldRetry(pending))
    XCTAssertTrue(KeycardClient.shouldRetry(pending, retryConflicts: true))
    XCTAssertTrue(KeycardClient.shouldRetry(race))
    XCTAssertTrue(KeycardClient.shouldRetry(response(409, body: "not json")))
    XCTAssertTrue(KeycardClient.shouldRetry(response(409, [("x-should-retry", "true")], body: #"{"code": "already_member"}"#)))
  }

  func testWhatIsRetried() {
    for s in [408, 409, 429, 500, 502, 503, 504, 599] {
      XCTAssertTrue(KeycardClient.shouldRetry(response(s)), "\(s)")
    }
    for s in [400, 401, 403, 404, 405, 410, 422, 499] {
      XCTAssertFalse(KeycardClient.shouldRetry(response(s)), "\(s)")
    }
    XCTAssertTrue(KeycardClient.shouldRetry(response(400, [("x-should-retry", "true")])))
    XCTAssertFalse(KeycardClient.shouldRetry(response(503, [("x-should-retry", "false")])))
    XCTAssertTrue(TransportError(kind: .reset, message: "").isRetryable)
    XCTAssertTrue(TransportError(kind: .connect, message: "").isRetryable)
    XCTAssertTrue(TransportError(kind: .timeout, message: "").isRetryable)
    XCTAssertFalse(TransportError(kind: .tls, message: "").isRetryable)
    XCTAssertFalse(TransportError(kind: .cancelled, message: "").isRetryable)
  }

  func testBackoff() {
    // 0.5 s doubling up to 8 s; jitter takes off up to 25%.
    let plain = (0..<8).map { KeycardClient.retryDelay(retry: $0, response: nil, jitter: 0) }
    XCTAssertEqual(plain, [0.5, 1, 2, 4, 8, 8, 8, 8])
    XCTAssertEqual(KeycardClient.retryDelay(retry: 0, response: nil, jitter: 0.25), 0.375)
    XCTAssertEqual(KeycardClient.retryDelay(retry: 4, response: response(503), jitter: 0.1), 7.2, accuracy: 1e-9)
  }

  func testRetryAfter() {
    func delay(_ h: [(String, String)], now: Double = 1_000_000) -> Double {
      KeycardClient.retryDelay(retry: 0, response: response(429, h), jitter: 0, now: now)
    }
    XCTAssertEqual(delay([("retry-after-ms", "250")]), 0.25)
    XCTAssertEqual(delay([("retry-after-ms", "250"), ("retry-after", "5")]), 0.25)  // ms first
    XCTAssertEqual(delay([("retry-after", "3")]), 3)
    XCTAssertEqual(delay([("retry-after", "0")]), 0)
    XCTAssertEqual(delay([("retry-after", "1.5")]), 1.5)
    XCTAssertEqual(delay([("retry-after", "61")]), 0.5)  // out of range: backoff
    XCTAssertEqual(delay([("retry-after-ms", "90000")]), 0.5)
    XCTAssertEqual(delay([("retry-after", "soon")]), 0.5)
    // An HTTP date 7 s ahead of "now".
    let now = 784_111_777.0  // Sun, 06 Nov 1994 08:49:37 GMT
    XCTAssertEqual(delay([("retry-after", "Sun, 06 Nov 1994 08:49:44 GMT")], now: now), 7)
    XCTAssertEqual(delay([("retry-after", "Sun, 06 Nov 1994 08:49:30 GMT")], now: now), 0)  // past
    XCTAssertEqual(delay([("retry-after", "Sun, 06 Nov 1994 09:49:37 GMT")], now: now), 0.5)  // an hour
  }

  func testAPIErrorFromBody() {
    var r = response(404)
    r.body = Array(#"{"message":"Organization not found","code":"not_found","status":404}"#.utf8)
    let e = KeycardClient.apiError(r)
    XCTAssertEqual(e.status, 404)
    XCTAssertEqual(e.code, "not_found")
    XCTAssertEqual(e.message, "Organization not found")
    r.body = Array("<html>\n<body>Bad gateway</body></html>".utf8)
    r.status = 502
    XCTAssertEqual(KeycardClient.apiError(r).message, "<html> <body>Bad gateway</body></html>")
    var full = e
    full.method = "GET"
    full.path = "/organizations/x"
    full.requestID = "abc"
    full.attempts = 1
    XCTAssertEqual(full.description, "404 not_found: Organization not found (GET /organizations/x, request abc, 1 attempt)")
  }

  func testRedaction() {
    let r = Redactor()
    r.add("kcsb_supersecretkey")
    r.add("short")  // too short to redact safely
    XCTAssertEqual(r.scrub("bad key kcsb_supersecretkey!"), "bad key [redacted]!")
    XCTAssertEqual(r.scrub("short"), "short")
    XCTAssertEqual("\(Secret("hunter2hunter2"))", "[redacted]")
    XCTAssertEqual(
      KeycardClient.redactQuery("http://h/x?limit=2&access_token=abc&client_secret=s"),
      "http://h/x?limit=2&access_token=[redacted]&client_secret=[redacted]")
  }

  func testQueryString() {
    XCTAssertEqual(KeycardClient.queryString([]), "")
    XCTAssertEqual(
      KeycardClient.queryString([("query[email]", "@acme.com"), ("expand", "a b"), ("expand", "é")]),
      "?query%5Bemail%5D=%40acme.com&expand=a%20b&expand=%C3%A9")
  }

  func testFlatJSON() {
    let f = FlatJSON(Array(#"{"access_token":"t\u00e9\n","expires_in":3600,"nested":{"a":[1,{"b":2}]},"x":null}"#.utf8))
    XCTAssertEqual(f?.string("access_token"), "té\n")
    XCTAssertEqual(f?.number("expires_in"), 3600)
    XCTAssertNil(FlatJSON(Array("[1]".utf8)))
    XCTAssertNil(FlatJSON(Array("{\"a\":".utf8)))
  }

  func testUUID() {
    let u = makeUUID()
    XCTAssertEqual(u.count, 36)
    XCTAssertEqual(Array(u)[14], "4")
    XCTAssertNotEqual(u, makeUUID())
  }
}
