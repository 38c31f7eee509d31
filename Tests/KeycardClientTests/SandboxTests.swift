import Synchronization
import XCTest

@testable import KeycardClient

#if canImport(Glibc)
  import Glibc
#endif

/// The client against a real kcsh-sandbox over loopback, with faults
/// injected through the sandbox's /_sandbox/faults.
final class SandboxTests: XCTestCase {
  func call(_ path: String = "/organizations", retries: Int? = nil) -> APICall {
    APICall(method: "GET", path: path, query: [("limit", "1")], retries: retries)
  }

  func expectError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> KeycardError? {
    do {
      try body()
      XCTFail("no error", file: file, line: line)
    } catch let e as KeycardError {
      return e
    } catch {
      XCTFail("\(error)", file: file, line: line)
    }
    return nil
  }

  func testGetAndKeepAlive() throws {
    let sb = try SandboxProcess(["--demo"])
    let client = try sb.client()
    var ports: Set<Int> = []
    for _ in 0..<20 {
      let r = try client.send(call())
      XCTAssertEqual(r.status, 200)
      XCTAssertEqual(r.attempts, 1)
      XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("\"items\""))
      ports.insert(r.localPort)
    }
    XCTAssertEqual(ports.count, 1, "one kept-alive connection")
    XCTAssertNotEqual(ports.first, 0)
    let log = try sb.requests()
    XCTAssertEqual(log.count, 20)
    XCTAssertEqual(Set(log.compactMap(\.id)).count, 20)  // one ID per logical request
  }

  /// send() runs its first attempt on the calling thread; a second thread
  /// sending while that one's transfer is in flight goes through the I/O
  /// thread instead, and both get their answers.
  func testSendRunsOnTheCallingThreadElseOnTheIOThread() throws {
    let sb = try SandboxProcess(["--demo"])
    let client = try sb.client()
    XCTAssertEqual(try client.send(call()).status, 200)
    XCTAssertEqual(client.transport.transfersHere, 1)
    try sb.setFaults("latency=1s")
    let first = Results()
    let request = call()
    let thread = startThread { first.append(Result { () throws(KeycardError) in try client.send(request) }) }
    usleep(300_000)  // the other thread's transfer holds the calling-thread lane
    XCTAssertEqual(try client.send(call()).status, 200)
    pthread_join(thread, nil)
    XCTAssertEqual(try first.all.first?.get().status, 200)
    XCTAssertEqual(client.transport.transfersHere, 2, "the second sender went through the I/O thread")
  }

  func testRetriesKeepOneRequestIDAndHonourRetryAfter() throws {
    let sb = try SandboxProcess()
    let client = try sb.client()
    for code in [503, 429] {
      try sb.setFaults("\(code)=1")
      try sb.clearRequests()
      let started = monotonicNow()
      let e = expectError { _ = try client.send(call()) }
      let elapsed = monotonicNow() - started
      XCTAssertEqual(e?.kind, .api)
      XCTAssertEqual(e?.status, code)
      XCTAssertEqual(e?.attempts, 3)  // 2 retries by default
      // The sandbox sends Retry-After: 1 with 429 and 503: two waits of 1 s.
      XCTAssertGreaterThanOrEqual(elapsed, 1.95)
      XCTAssertLessThan(elapsed, 3.5)
      let log = try sb.requests()
      XCTAssertEqual(log.map(\.status), [code, code, code])
      XCTAssertEqual(Set(log.map(\.id)).count, 1)
      XCTAssertEqual(log.first?.id ?? nil, e?.requestID)
    }
  }

  func testRetriedStatusesWithBackoff() throws {
    let sb = try SandboxProcess()
    let client = try sb.client()
    for code in [408, 409, 500, 502, 504] {
      try sb.setFaults("\(code)=1")
      try sb.clearRequests()
      let started = monotonicNow()
      let e = expectError { _ = try client.send(call(retries: 1)) }
      XCTAssertEqual(e?.status, code)
      XCTAssertEqual(e?.attempts, 2, "\(code)")
      // No Retry-After: backoff 0.5 s (jitter off in tests).
      XCTAssertGreaterThanOrEqual(monotonicNow() - started, 0.45)
      XCTAssertEqual(try sb.requests().count, 2)
    }
  }

  func testNoRetryAfterOther4xx() throws {
    let sb = try SandboxProcess()
    let client = try sb.client(retries: 5)
    for code in [400, 401, 403, 404, 422] {
      try sb.setFaults("\(code)=1")
      try sb.clearRequests()
      let e = expectError { _ = try client.send(call()) }
      XCTAssertEqual(e?.status, code)
      XCTAssertEqual(e?.attempts, 1, "\(code)")
      XCTAssertEqual(try sb.requests().count, 1, "\(code)")
    }
    // And a genuine one: an unknown organization.
    try sb.setFaults("")
    try sb.clearRequests()
    let e = expectError { _ = try client.send(APICall(method: "GET", path: "/organizations/nosuchorg")) }
    XCTAssertEqual(e?.status, 404)
    XCTAssertEqual(e?.code, "not_found")
    XCTAssertEqual(e?.attempts, 1)
    XCTAssertEqual(e?.method, "GET")
    XCTAssertEqual(e?.path, "/organizations/nosuchorg")
    XCTAssertEqual(try sb.requests().count, 1)
  }

  func testRetryThenSucceed() throws {
    let sb = try SandboxProcess()
    let client = try sb.client(retries: 8)
    try sb.setFaults("500=0.4", seed: 7)
    var attempts = 0
    for _ in 0..<10 {
      let r = try client.send(call())
      XCTAssertEqual(r.status, 200)
      attempts += r.attempts
    }
    XCTAssertGreaterThan(attempts, 10)
  }

  func testConnectionDropsAreRetried() throws {
    let sb = try SandboxProcess()
    let client = try sb.client(retries: 1)
    try sb.setFaults("reset=1")
    try sb.clearRequests()
    let e = expectError { _ = try client.send(call()) }
    XCTAssertEqual(e?.kind, .transport)
    XCTAssertNil(e?.status)
    XCTAssertEqual(e?.attempts, 2)
    let log = try sb.requests()
    XCTAssertEqual(log.count, 2)
    XCTAssertEqual(Set(log.map(\.id)).count, 1)
    // A dropped connection now and then is invisible to the caller.
    try sb.setFaults("reset=0.3", seed: 3)
    let tolerant = try sb.client(retries: 6)
    for _ in 0..<10 { XCTAssertEqual(try tolerant.send(call()).status, 200) }
  }

  func testConnectionRefusedIsATransportError() throws {
    var config = Configuration(baseURL: "http://127.0.0.1:1", credentials: .apiKey(Secret("refused-key-123")))
    config.maxRetries = 1
    let client = try KeycardClient(configuration: config)
    client.randomJitter = { 0 }
    let e = expectError { _ = try client.send(call()) }
    XCTAssertEqual(e?.kind, .transport)
    XCTAssertEqual(e?.attempts, 2)
    XCTAssertTrue(e?.message.hasPrefix("connect:") ?? false, e?.message ?? "")
    XCTAssertFalse("\(e!)".contains("refused-key-123"))
  }

  func testRequestTimeout() throws {
    let sb = try SandboxProcess()
    let client = try sb.client(retries: 0) { $0.timeoutMs = 300 }
    try sb.setFaults("latency=3s")
    let started = monotonicNow()
    let e = expectError { _ = try client.send(call()) }
    XCTAssertEqual(e?.kind, .transport)
    XCTAssertTrue(e?.message.hasPrefix("timeout:") ?? false, e?.message ?? "")
    XCTAssertLessThan(monotonicNow() - started, 1.5)
  }

  func testCancelWithin200ms() throws {
    let sb = try SandboxProcess()
    try sb.setFaults("latency=10s")
    let transport = try Transport()
    let done = Waiter()
    let id = transport.start(HTTPRequest(method: "GET", url: sb.baseURL + "/organizations")) { done.finish($0) }
    usleep(300_000)
    let cancelled = monotonicNow()
    transport.cancel(id)
    let result = done.wait()
    XCTAssertLessThan(monotonicNow() - cancelled, 0.2)
    guard case .failure(let e) = result else { return XCTFail("completed") }
    XCTAssertEqual(e.kind, .cancelled)
    transport.shutdown()
  }

  /// Ctrl-C during a slow transfer cancels it within 200 ms, whichever path
  /// carries it: the caller's own thread (send waits, so the transfer runs
  /// there) or the I/O thread (a call started, as kc.parallel's are, then
  /// waited for).
  func testSIGINTCancelsAWaitingCall() throws {
    try withHarmlessSIGINT { try sigintCancelsASlowTransfer(started: false) }
  }

  func testSIGINTCancelsAStartedCall() throws {
    try withHarmlessSIGINT { try sigintCancelsASlowTransfer(started: true) }
  }

  func sigintCancelsASlowTransfer(started: Bool) throws {
    let sb = try SandboxProcess()
    try sb.setFaults("latency=10s")
    let client = try sb.client()
    let send = { [self] () throws in
      _ = try started ? client.start(call()) { _ in }.wait() : client.send(call())
    }
    let (e, late) = interrupted(afterMicroseconds: 300_000, send)
    XCTAssertEqual(e?.kind, .cancelled)
    XCTAssertEqual(e?.attempts, 1)
    XCTAssertLessThan(late, 0.2)
    XCTAssertEqual(client.transport.transfersHere, started ? 0 : 1)
    // The interrupt is spent: the next call goes through.
    try sb.setFaults("")
    XCTAssertNoThrow(try send())
  }

  /// Sends a call and raises SIGINT from another thread after a delay; the
  /// error and how long the call went on after the signal.
  func sendInterrupted(_ client: KeycardClient, afterMicroseconds delay: useconds_t) -> (KeycardError?, Double) {
    interrupted(afterMicroseconds: delay) { _ = try client.send(call()) }
  }

  /// Runs `body`, raising SIGINT from another thread after a delay; the
  /// error it threw and how long it went on after the signal.
  func interrupted(afterMicroseconds delay: useconds_t, _ body: () throws -> Void) -> (KeycardError?, Double) {
    let signalled = Moment()
    let thread = startThread {
      usleep(delay)
      signalled.at = monotonicNow()
      kill(getpid(), SIGINT)
    }
    let e = expectError(body)
    let finished = monotonicNow()
    pthread_join(thread, nil)
    return (e, finished - signalled.at)
  }

  // MARK: Client credentials

  /// Creates a service-account credential in the sandbox: (client_id, secret).
  func makeCredential(_ sb: SandboxProcess) throws -> (String, String) {
    let org = FlatJSON(try sb.send("POST", "/organizations", #"{"name":"Tokens Inc"}"#))!.string("id")!
    let sa = FlatJSON(try sb.send("POST", "/organizations/\(org)/service-accounts", #"{"name":"ci"}"#))!.string("id")!
    let cred = FlatJSON(
      try sb.send("POST", "/organizations/\(org)/service-accounts/\(sa)/credentials", #"{"name":"deploy"}"#))!
    return (cred.string("client_id")!, cred.string("client_secret")!)
  }

  func testTokenCachingAndRenewal() throws {
    // Tokens live 12 s, and the client renews 10 s before expiry: so a token
    // is reused at once, and renewed after 2 s.
    let sb = try SandboxProcess(["--token-ttl", "12"])
    let (id, secret) = try makeCredential(sb)
    let client = try sb.client(credentials: .clientCredentials(id: id, secret: Secret(secret)))
    XCTAssertEqual(try client.send(call()).status, 200)
    XCTAssertEqual(try client.send(call()).status, 200)
    XCTAssertEqual(client.tokensFetched, 1)
    usleep(2_300_000)
    XCTAssertEqual(try client.send(call()).status, 200)
    XCTAssertEqual(client.tokensFetched, 2)
  }

  func testNewTokenOnceAfter401() throws {
    let sb = try SandboxProcess()
    let (id, secret) = try makeCredential(sb)
    let client = try sb.client(credentials: .clientCredentials(id: id, secret: Secret(secret)))
    XCTAssertEqual(try client.send(call()).status, 200)
    // The server forgets the token (revoked, restarted): the next call gets
    // a 401, fetches a new token and goes through.
    client.setCachedToken("revoked-token-value", lifetime: 3600)
    let r = try client.send(call())
    XCTAssertEqual(r.status, 200)
    XCTAssertEqual(r.attempts, 2)
    XCTAssertEqual(client.tokensFetched, 2)
    // Only once: a 401 that persists is an error (the API key case shows it).
    let bad = try sb.client(credentials: .apiKey(Secret("not-the-key-at-all")))
    let e = expectError { _ = try bad.send(call()) }
    XCTAssertEqual(e?.status, 401)
    XCTAssertEqual(e?.attempts, 1)
  }

  /// A 401 to a call made without credentials says nothing of the token:
  /// it is kept, and the call is not sent again.
  func test401WithoutCredentialsKeepsTheToken() throws {
    let sb = try SandboxProcess()
    let (id, secret) = try makeCredential(sb)
    let client = try sb.client(credentials: .clientCredentials(id: id, secret: Secret(secret)))
    XCTAssertEqual(try client.send(call()).status, 200)
    var anonymous = call()
    anonymous.authenticated = false
    let e = expectError { _ = try client.send(anonymous) }
    XCTAssertEqual(e?.status, 401)
    XCTAssertEqual(e?.attempts, 1)
    XCTAssertEqual(try client.send(call()).status, 200)
    XCTAssertEqual(client.tokensFetched, 1)
  }

  func testBadClientCredentials() throws {
    let sb = try SandboxProcess()
    let (id, secret) = try makeCredential(sb)
    let wrong = secret + "x"
    let client = try sb.client(credentials: .clientCredentials(id: id, secret: Secret(wrong)))
    let e = expectError { _ = try client.send(call()) }
    XCTAssertEqual(e?.kind, .auth)
    XCTAssertEqual(e?.status, 401)
    let text = "\(e!)"
    XCTAssertTrue(text.contains("client credentials for \(id) were rejected"), text)
    XCTAssertFalse(text.contains(wrong), text)
    XCTAssertFalse(text.contains(secret), text)
  }

  func testTraceRedactsSecrets() throws {
    let sb = try SandboxProcess()
    let (id, secret) = try makeCredential(sb)
    let client = try sb.client(credentials: .clientCredentials(id: id, secret: Secret(secret)))
    let lines = TraceLines()
    client.tracing = true
    client.traceSink = { lines.append($0) }
    _ = try client.send(APICall(method: "GET", path: "/organizations", query: [("limit", "2"), ("access_token", "zzz")]))
    let token = client.cachedToken ?? "?"
    let all = lines.all.joined(separator: "\n")
    XCTAssertTrue(all.contains("POST \(sb.baseURL)/service-account-token -> 200"), all)
    XCTAssertTrue(all.contains("GET \(sb.baseURL)/organizations?limit=2&access_token=[redacted] -> 200 (1 attempt"), all)
    XCTAssertFalse(all.contains(secret), all)
    XCTAssertFalse(all.contains(token), all)
    XCTAssertFalse(all.contains(sb.apiKey), all)
  }

  // MARK: Calls that do not block (for coroutines)

  func testManyCallsAtOnceShareOneTokenAndRetryOnTimers() throws {
    let sb = try SandboxProcess(["--demo"])
    let (id, secret) = try makeCredential(sb)
    try sb.setFaults("503=0.3", seed: 11)
    let client = try sb.client(retries: 8, credentials: .clientCredentials(id: id, secret: Secret(secret)))
    let results = Results()
    let started = monotonicNow()
    for _ in 0..<40 {
      // Retry-After: 1 from the sandbox would make this slow; the waits run
      // side by side on the I/O thread's timers anyway.
      client.start(call()) { results.append($0) }
    }
    XCTAssertTrue(results.wait(count: 40, seconds: 30))
    XCTAssertLessThan(monotonicNow() - started, 15)
    let all = results.all
    XCTAssertEqual(all.filter { (try? $0.get().status) == 200 }.count, 40)
    XCTAssertGreaterThan(all.compactMap { try? $0.get().attempts }.reduce(0, +), 40)
    XCTAssertEqual(client.tokensFetched, 1)
  }

  func testCancelAWaitingCall() throws {
    let sb = try SandboxProcess()
    try sb.setFaults("503=1")  // Retry-After: 1
    let client = try sb.client()
    let results = Results()
    let handle = client.start(call()) { results.append($0) }
    usleep(300_000)  // the first attempt failed; the call waits to retry
    let cancelled = monotonicNow()
    handle.cancel()
    XCTAssertTrue(results.wait(count: 1, seconds: 5))
    XCTAssertLessThan(monotonicNow() - cancelled, 0.2)
    guard case .failure(let e) = results.all.first else { return XCTFail("no failure") }
    XCTAssertEqual(e.kind, .cancelled)
    XCTAssertEqual(e.attempts, 1)
    XCTAssertEqual(e.requestID, handle.requestID)
  }

  /// Ctrl-C during a retry's wait ends the call too.
  func testSIGINTDuringARetryWait() throws {
    try withHarmlessSIGINT { try sigintDuringARetryWait() }
  }

  func sigintDuringARetryWait() throws {
    let sb = try SandboxProcess()
    try sb.setFaults("503=1")
    let client = try sb.client()
    let (e, late) = sendInterrupted(client, afterMicroseconds: 400_000)
    XCTAssertEqual(e?.kind, .cancelled)
    XCTAssertLessThan(late, 0.2)
    // The interrupt is spent: the next call goes through.
    try sb.setFaults("")
    XCTAssertEqual(try client.send(call()).status, 200)
  }
}

/// Runs `body` on a thread of its own; join it with pthread_join.
func startThread(_ body: @escaping () -> Void) -> pthread_t {
  final class Box {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
  }
  var thread = pthread_t()
  pthread_create(
    &thread, nil,
    { arg in
      Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
      return nil
    }, Unmanaged.passRetained(Box(body)).toOpaque())
  return thread
}

final class Results: Sendable {
  private let items = Monitor<[Result<APIResponse, KeycardError>]>([])
  func append(_ r: Result<APIResponse, KeycardError>) { items.update { $0.append(r) } }
  var all: [Result<APIResponse, KeycardError>] { items.value }
  func wait(count: Int, seconds: Double) -> Bool {
    items.wait(seconds: seconds) { $0.count >= count ? true : nil } ?? false
  }
}

/// Runs `body` with SIGINT caught by a handler that does nothing, so that a
/// signal arriving when the client has not armed its own cannot end the
/// test run.
func withHarmlessSIGINT(_ body: () throws -> Void) rethrows {
  var quiet = sigaction()
  quiet.__sigaction_handler.sa_handler = { _ in }
  sigemptyset(&quiet.sa_mask)
  var old = sigaction()
  sigaction(SIGINT, &quiet, &old)
  defer { sigaction(SIGINT, &old, nil) }
  try body()
}

/// When something happened, written by another thread.
final class Moment: Sendable {
  private let time = Mutex(0.0)
  var at: Double {
    get { time.withLock { $0 } }
    set { time.withLock { $0 = newValue } }
  }
}

final class TraceLines: Sendable {
  private let lines = Mutex<[String]>([])
  func append(_ s: String) { lines.withLock { $0.append(s) } }
  var all: [String] { lines.withLock { $0 } }
}

/// A caller blocked until its transfer completes.
final class Waiter: Sendable {
  private let result = Monitor<Result<HTTPResponse, TransportError>?>(nil)
  func finish(_ r: Result<HTTPResponse, TransportError>) { result.update { $0 = r } }
  func wait() -> Result<HTTPResponse, TransportError> { result.wait { $0 }! }
}
