import Synchronization
import XCTest

@testable import KeycardSandbox

final class UnitTests: XCTestCase {
  /// A full bucket lets a burst of `rate` through; then one request per 1/rate
  /// seconds, and the wait asked is exactly the time to the next token. Buckets
  /// are per credential.
  func testRateLimiterIsATokenBucketPerKey() {
    let now = Mutex(100.0)
    let limiter = RateLimiter(rate: 4, clock: { now.withLock { $0 } })
    for _ in 0..<4 { XCTAssertNil(limiter.take("a")) }
    XCTAssertEqual(try XCTUnwrap(limiter.take("a")), 0.25, accuracy: 1e-9)
    XCTAssertNil(limiter.take("b"), "another key has its own bucket")
    now.withLock { $0 += 0.1 }
    XCTAssertEqual(try XCTUnwrap(limiter.take("a")), 0.15, accuracy: 1e-9, "a refused request takes no token")
    now.withLock { $0 += 0.15 }
    XCTAssertNil(limiter.take("a"))
    XCTAssertNotNil(limiter.take("a"))
    now.withLock { $0 += 60 }
    for _ in 0..<4 { XCTAssertNil(limiter.take("a")) }
    XCTAssertNotNil(limiter.take("a"), "an idle bucket fills up to the burst, no more")
  }

  func testSHA256Vectors() {
    XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    XCTAssertEqual(SHA256.hex(String(repeating: "a", count: 1000)).count, 64)
  }

  func testJSONParserAcceptsAndRejects() throws {
    let v = try JSONParser.parse(Array(#"{"a": [1, -2.5e3, true, null, "x\u00e9\ud83d\ude00"]}"#.utf8))
    XCTAssertEqual(v["a"], .array([.number(1), .number(-2500), .bool(true), .null, .string("xé😀")]))
    for bad in ["", "{", "{\"a\":}", "[1,]", "01", "nul", "\"\\ud800\"", "{\"a\":1}x", "\"\u{01}\"", "1.", "-"] {
      XCTAssertThrowsError(try JSONParser.parse(Array(bad.utf8)), bad)
    }
    let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    XCTAssertThrowsError(try JSONParser.parse(Array(deep.utf8)))
    XCTAssertThrowsError(try JSONParser.parse([0x22, 0xFF, 0x22]))
  }

  func testJSONWriterEscapes() {
    var w = JSONWriter()
    w.beginObject()
    let dynamicKey: String = "k\""  // keys from data are escaped; StaticString keys are trusted
    w.key(dynamicKey)
    w.string("a\nb\u{01}\\")
    w.field("n", 3)
    w.endObject()
    XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"{"k\"":"a\nb\u0001\\","n":3}"#)
  }

  func testEscapeScanAgreesWithBytewiseCheck() {
    let samples = ["", "plain ascii text of some length", "tab\there", "quote\"inside a long string", "é ü 😀 unicode only here",
      "ends with backslash \\", "\u{7F}del", "control \u{1F} late in a long string", String(repeating: "x", count: 77) + "\""]
    for s in samples {
      let special: Set<UInt8> = [0x22, 0x5C, 0x7F]
      let bytewise = s.utf8.contains { (c: UInt8) -> Bool in c < 0x20 || special.contains(c) }
      var copy = s
      XCTAssertEqual(copy.withUTF8 { JSONWriter.needsEscape($0) }, bytewise, s)
    }
  }

  func testCursorsAreOpaqueAndScoped() {
    let c = Cursor.encode(tag: "usr", seq: 12345)
    XCTAssertEqual(Cursor.decode(c, tag: "usr"), 12345)
    XCTAssertNil(Cursor.decode(c, tag: "inv"))
    XCTAssertNil(Cursor.decode("not a cursor!", tag: "usr"))
    XCTAssertNil(Cursor.decode("", tag: "usr"))
  }

  func testEmailValidation() {
    for ok in ["ana@acme.com", "a.b+c@x.example", "!#$%&'*+-/=?^_`{|}~@a.bc"] { XCTAssertTrue(isEmail(ok), ok) }
    for bad in ["", "ana", "ana@", "@acme.com", "a@b", "a b@c.com", "a@-b.com", "a..b@c.com", "a@b.123"] {
      XCTAssertFalse(isEmail(bad), bad)
    }
  }

  func testFaultSpecParsingAndDeterminism() throws {
    let spec = try FaultSpec("429=0.1,503=0.05,reset=0.02,latency=20ms")
    XCTAssertEqual(spec.latencyMs, 20)
    XCTAssertThrowsError(try FaultSpec("429=2"))
    XCTAssertThrowsError(try FaultSpec("700=0.1"))
    XCTAssertThrowsError(try FaultSpec("429=0.6,503=0.6"))
    XCTAssertThrowsError(try FaultSpec("latency=fast"))
    func run(_ seed: UInt64) -> [String] {
      let f = FaultInjector(spec: spec, seed: seed)
      return (0..<500).map { _ in
        switch f.draw().0 {
        case .none: "-"
        case .reset: "r"
        case .lostReply: "l"
        case .status(let c, _): String(c)
        }
      }
    }
    XCTAssertEqual(run(7), run(7))
    XCTAssertNotEqual(run(7), run(8))
    let a = run(7)
    XCTAssertTrue((20...80).contains(a.filter { $0 == "429" }.count))
    XCTAssertTrue(a.contains("r"))
  }

  /// The in-memory logs trim in batches; what a reader sees is still the newest `capacity` items.
  func testLogsShowTheNewestCapacityItems() throws {
    func items(_ bytes: [UInt8]) throws -> [JSON] {
      guard case .array(let a)? = try JSONParser.parse(bytes)["items"] else { XCTFail("no items"); return [] }
      return a
    }
    let log = RequestLog(capacity: 3)
    for n in 1...10 {
      log.record(method: "GET", path: "/\(n)", query: "", requestID: nil, status: 200, fault: nil)
      let seen = try items(log.json(limit: 100)).map { $0["seq"] }
      XCTAssertEqual(seen, (max(1, n - 2)...n).map { .number(Double($0)) }, "after \(n)")
    }
    XCTAssertEqual(try items(log.json(limit: 2)).map { $0["seq"] }, [.number(9), .number(10)])

    let outbox = Outbox(capacity: 3)
    for n in 1...10 {
      outbox.send(Outbox.Mail(
        id: "m\(n)", to: n % 2 == 0 ? "even@x.test" : "odd@x.test", subject: "", token: "", invitationID: "",
        organizationID: "", organizationName: "", role: "", sentAt: ""))
      let seen = try items(outbox.json(to: nil)).map { $0["id"] }
      XCTAssertEqual(seen, (max(1, n - 2)...n).map { .string("m\($0)") }, "after \(n)")
    }
    XCTAssertEqual(try items(outbox.json(to: "EVEN@x.test")).map { $0["id"] }, [.string("m8"), .string("m10")])
  }

  func testInvitationStatusAtNow() {
    let now = "2025-06-01T00:00:00.000Z", past = "2025-05-31T23:59:59.000Z", future = "2025-06-08T00:00:00.000Z"
    XCTAssertEqual(SandboxServer.invitationStatus("pending", expiresAt: past, now: now), "expired")
    XCTAssertEqual(SandboxServer.invitationStatus("pending", expiresAt: future, now: now), "pending")
    XCTAssertEqual(SandboxServer.invitationStatus("pending", expiresAt: now, now: now), "pending")
    XCTAssertEqual(SandboxServer.invitationStatus("pending", expiresAt: nil, now: now), "pending")
    XCTAssertEqual(SandboxServer.invitationStatus("accepted", expiresAt: past, now: now), "accepted")
    XCTAssertEqual(SandboxServer.invitationStatus("active", expiresAt: nil, now: now), "active")
  }
}
