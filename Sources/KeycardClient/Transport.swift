import CCurl
import Synchronization
import Threads

@preconcurrency import Glibc

/// One HTTP exchange as the transport sees it: no retries, no auth logic.
public struct HTTPRequest: Sendable {
  public var method: String
  public var url: String
  /// "Name: value" lines.
  public var headers: [String]
  public var body: [UInt8]?
  /// HTTP Basic credentials (the client-credentials grant); curl encodes them.
  public var basicAuth: (user: String, password: String)?
  public var connectTimeoutMs: Int
  public var timeoutMs: Int

  public init(
    method: String, url: String, headers: [String] = [], body: [UInt8]? = nil,
    connectTimeoutMs: Int = 5_000, timeoutMs: Int = 60_000
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.connectTimeoutMs = connectTimeoutMs
    self.timeoutMs = timeoutMs
  }
}

public struct HTTPResponse: Sendable {
  public var status: Int
  /// Header names in lower case, in arrival order.
  public var headers: [(name: String, value: String)]
  public var body: [UInt8]
  /// "2" for HTTP/2, "1.1" for HTTP/1.1.
  public var httpVersion: String
  /// The local port of the connection used: the same port on consecutive
  /// requests means the connection was kept alive.
  public var localPort: Int = 0

  public func header(_ name: String) -> String? {
    headers.last(where: { $0.name == name })?.value
  }
}

/// Why a transfer produced no HTTP response.
public struct TransportError: Error, Sendable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    case connect  // could not reach the server (refused, DNS, TLS handshake)
    case timeout
    case reset  // the connection dropped mid-exchange
    case tls  // certificate verification failed: never retried
    case cancelled  // cancel() or Ctrl-C
    case other
  }
  public var kind: Kind
  public var message: String

  public var description: String { message }

  /// Whether a new attempt may succeed.
  public var isRetryable: Bool {
    switch kind {
    case .connect, .timeout, .reset: true
    case .tls, .cancelled, .other: false
    }
  }
}

/// Identifies a submitted transfer, for cancel().
public struct TransferID: Hashable, Sendable {
  let value: UInt64
}

/// HTTP over libcurl: one I/O thread owns a curl multi handle, so connections
/// are kept alive and shared by every request, and transfers run while the
/// Lua thread does other work. Requests come in through a locked queue and a
/// curl_multi_wakeup; results go out through a completion callback on the
/// I/O thread. A caller that would only wait runs its request itself
/// (performHere), on a second multi handle.
public final class Transport: @unchecked Sendable {
  public typealias Completion = @Sendable (Result<HTTPResponse, TransportError>) -> Void

  private let multi: UnsafeMutableRawPointer
  /// What callers hand the I/O thread, which takes it all each round.
  private struct Inbox {
    var pending: [Transfer] = []
    var cancels: Set<UInt64> = []
    var stopping = false
    var nextID: UInt64 = 1
    var timers: [Timer] = []
  }
  private let inbox = Mutex(Inbox())
  /// Counts start() calls, read without the lock by the idle I/O thread.
  private let submitted = Atomic<Int>(0)
  /// True while the I/O thread may be asleep in poll: only then does a new
  /// request need a wakeup (a write to a socketpair, and a context switch).
  private let mayBeAsleep = Atomic<Bool>(true)
  // Owned by the I/O thread:
  private var active: [UnsafeMutableRawPointer: Transfer] = [:]
  private var idle: [UnsafeMutableRawPointer] = []
  private var thread: pthread_t?
  private let caBundle: String?
  private let caPath: String?
  /// A second multi handle, driven by a thread that waits for its own
  /// request (performHere), and its easy handle; one such thread at a time.
  private let lane: UnsafeMutableRawPointer
  private var laneEasy: UnsafeMutableRawPointer?
  private let laneBusy = Atomic<Bool>(false)
  private let laneUses = Atomic<Int>(0)
  /// The interrupt watchers that wake each multi handle's poll on Ctrl-C.
  private var watchers: (multi: Int32, lane: Int32) = (-1, -1)

  /// Loads libcurl (the first time) and starts the I/O thread.
  public init(environment: Environment = .process) throws(TransportError) {
    var err = [CChar](repeating: 0, count: 256)
    if kc_curl_load(&err, err.count) != 0 {
      throw TransportError(kind: .other, message: String(decoding: err.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    guard let m = kc_multi_init() else { throw TransportError(kind: .other, message: "curl_multi_init failed") }
    guard let l = kc_multi_init() else {
      kc_multi_cleanup(m)
      throw TransportError(kind: .other, message: "curl_multi_init failed")
    }
    multi = m
    lane = l
    // HTTP/2 multiplexing when offered; a few connections per host at most.
    _ = kc_multi_setopt_long(m, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
    _ = kc_multi_setopt_long(m, CURLMOPT_MAX_HOST_CONNECTIONS, 16)
    caBundle = environment["CURL_CA_BUNDLE"] ?? environment["SSL_CERT_FILE"]
    caPath = environment["SSL_CERT_DIR"]
    let box = Unmanaged.passRetained(self).toOpaque()
    let tid = startThreadWithoutSIGINT(
      { arg in
        let transport = Unmanaged<Transport>.fromOpaque(arg!).takeRetainedValue()
        transport.run()
        return nil
      }, box)
    guard let tid else {
      Unmanaged<Transport>.fromOpaque(box).release()
      kc_multi_cleanup(m)
      throw TransportError(kind: .other, message: "cannot start the I/O thread")
    }
    thread = tid
    // Ctrl-C during a run wakes both polls, which then cancel what was begun
    // before it; unwatched before each handle is cleaned up.
    watchers = (Interrupt.watch(kc_multi_wakeup_watcher, m), Interrupt.watch(kc_multi_wakeup_watcher, l))
  }

  // The I/O thread holds a reference until its loop ends, so no transfer
  // of either multi handle is running here.
  deinit {
    Interrupt.unwatch(watchers.lane)
    if let laneEasy { kc_easy_cleanup(laneEasy) }
    kc_multi_cleanup(lane)
  }

  /// Stops the I/O thread; pending transfers complete as cancelled.
  public func shutdown() {
    inbox.withLock { $0.stopping = true }
    _ = kc_multi_wakeup(multi)
    // The last reference to a client can go away on the I/O thread itself
    // (a completion holding it): that thread cannot join itself, so it is
    // detached and ends once its loop sees `stopping`.
    if let thread {
      if pthread_equal(thread, pthread_self()) != 0 { pthread_detach(thread) } else { pthread_join(thread, nil) }
    }
    thread = nil
  }

  /// Submits a request; `completion` runs on the I/O thread.
  @discardableResult
  public func start(_ request: HTTPRequest, completion: @escaping Completion) -> TransferID {
    let id = inbox.withLock { box -> UInt64 in
      let id = box.nextID
      box.nextID += 1
      box.pending.append(Transfer(id: id, request: request, completion: completion))
      return id
    }
    submitted.add(1, ordering: .sequentiallyConsistent)
    if mayBeAsleep.load(ordering: .sequentiallyConsistent) { _ = kc_multi_wakeup(multi) }
    return TransferID(value: id)
  }

  /// Cancels one transfer: it completes with `.cancelled` within a poll round.
  public func cancel(_ id: TransferID) {
    inbox.withLock { _ = $0.cancels.insert(id.value) }
    _ = kc_multi_wakeup(multi)
  }

  /// Runs `fire` on the I/O thread once `seconds` have passed (a retry's
  /// wait), or `cancel` instead if everything is cancelled first (Ctrl-C,
  /// shutdown).
  public func schedule(
    after seconds: Double, fire: @escaping @Sendable () -> Void, cancel: @escaping @Sendable () -> Void
  ) {
    let generation = Interrupt.generation
    let timer = Timer(due: monotonicNow() + max(0, seconds), generation: generation, fire: fire, cancel: cancel)
    inbox.withLock { $0.timers.append(timer) }
    _ = kc_multi_wakeup(multi)
  }

  // MARK: On the calling thread

  /// Runs `request` on the calling thread, on a multi handle of its own
  /// (with its own kept-alive connections), or answers nil at once when
  /// another thread is using that handle (then use start). A caller that
  /// would only wait anyway saves the two hand-offs of a request through the
  /// I/O thread, a wake-up each way, which on loopback cost more than curl
  /// itself (docs/performance.md). Ctrl-C cancels the transfer.
  public func performHere(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError>? {
    guard laneBusy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return nil }
    defer { laneBusy.store(false, ordering: .releasing) }
    laneUses.add(1, ordering: .relaxed)
    guard let easy = laneEasy ?? kc_easy_init() else {
      return .failure(TransportError(kind: .other, message: "curl_easy_init failed"))
    }
    laneEasy = easy
    let t = Transfer(id: 0, request: request, completion: { _ in })
    configure(easy, t)
    defer { reset(easy, t) }
    guard kc_multi_add(lane, easy) == CURLM_OK else {
      return .failure(TransportError(kind: .other, message: "curl_multi_add_handle failed"))
    }
    defer { _ = kc_multi_remove(lane, easy) }
    // A Ctrl-C meanwhile bumps the generation and wakes this handle's poll.
    return Interrupt.during {
      var running: Int32 = 0
      while true {
        _ = kc_multi_perform(lane, &running)
        var done: UnsafeMutableRawPointer?
        var code = CURLE_OK
        if kc_multi_next_done(lane, &done, &code) != 0 { return outcome(t, easy, code) }
        if Interrupt.generation != t.generation {
          return .failure(TransportError(kind: .cancelled, message: "interrupted"))
        }
        // curl shortens the wait to its own next timeout (request timeouts).
        _ = kc_multi_poll(lane, 1_000, nil)
      }
    }
  }

  /// How many transfers ran on a calling thread (tests).
  var transfersHere: Int { laneUses.load(ordering: .relaxed) }

  // MARK: The I/O thread

  private func run() {
    var running: Int32 = 0
    var seenGeneration = Interrupt.generation
    while true {
      let now = monotonicNow()
      // start() counts a request after queueing it: any counted after this
      // load is looked for again before sleeping.
      let taken = submitted.load(ordering: .sequentiallyConsistent)
      // Ctrl-C (Threads' Interrupt): a new generation cancels what was begun
      // or scheduled before it, once.
      let generation = Interrupt.generation
      let interrupted = generation != seenGeneration
      seenGeneration = generation
      let (new, cancelled, stop, due, nextDue) = inbox.withLock {
        box -> ([Transfer], Set<UInt64>, Bool, [Timer], Double?) in
        defer {
          box.pending.removeAll(keepingCapacity: true)
          box.cancels.removeAll()
        }
        var due: [Timer] = []
        if box.stopping {
          due = box.timers
          box.timers.removeAll()
        } else if interrupted {
          due = box.timers.filter { $0.generation != generation }
          box.timers.removeAll { $0.generation != generation }
        } else if box.timers.contains(where: { $0.due <= now }) {
          due = box.timers.filter { $0.due <= now }
          box.timers.removeAll { $0.due <= now }
        }
        return (box.pending, box.cancels, box.stopping, due, box.timers.map(\.due).min())
      }
      for t in new { begin(t) }
      // Shut down, interrupted (begun before this Ctrl-C) or cancelled by ID,
      // whichever of them came in this round.
      for (easy, t) in active {
        let why =
          stop ? "the client shut down"
          : interrupted && t.generation != generation ? "interrupted"
          : cancelled.contains(t.id) ? "cancelled" : nil
        if let why { finish(easy, t, .failure(TransportError(kind: .cancelled, message: why))) }
      }
      // Timers taken out for a shutdown or an interrupt are cancelled; else due.
      for timer in due { if stop || interrupted { timer.cancel() } else { timer.fire() } }
      if stop { break }
      _ = kc_multi_perform(multi, &running)
      var easy: UnsafeMutableRawPointer?
      var code = CURLE_OK
      while kc_multi_next_done(multi, &easy, &code) != 0 {
        guard let easy, let t = active[easy] else { continue }
        finish(easy, t, outcome(t, easy, code))
      }
      // No spinning for the next request before sleeping: on two CPUs shared
      // with the server, the spin took CPU from it and from Lua decoding the
      // answer, and sequential page requests ran slower (docs/performance.md).
      // Sleeps until a socket is ready, a timer is due or a wakeup comes.
      var wait = active.isEmpty ? 10_000 : 1_000
      if let next = nextDue { wait = min(wait, max(0, Int(((next - monotonicNow()) * 1000).rounded(.up)))) }
      // Announce the sleep, then look once more: a start() either sees the
      // flag and wakes the poll, or was counted before this load and is
      // picked up at once (Dekker's handshake, sequentially consistent).
      mayBeAsleep.store(true, ordering: .sequentiallyConsistent)
      if submitted.load(ordering: .sequentiallyConsistent) == taken {
        _ = kc_multi_poll(multi, Int32(wait), nil)
      }
      mayBeAsleep.store(false, ordering: .sequentiallyConsistent)
    }
    for easy in idle { kc_easy_cleanup(easy) }
    idle.removeAll()
    Interrupt.unwatch(watchers.multi)
    kc_multi_cleanup(multi)
  }

  private func begin(_ t: Transfer) {
    guard let easy = idle.popLast() ?? kc_easy_init() else {
      t.completion(.failure(TransportError(kind: .other, message: "curl_easy_init failed")))
      return
    }
    configure(easy, t)
    if kc_multi_add(multi, easy) != CURLM_OK {
      recycle(easy, t)
      t.completion(.failure(TransportError(kind: .other, message: "curl_multi_add_handle failed")))
      return
    }
    active[easy] = t
  }

  private func configure(_ h: UnsafeMutableRawPointer, _ t: Transfer) {
    let r = t.request
    _ = r.url.withCString { kc_easy_setopt_ptr(h, CURLOPT_URL, $0) }
    _ = kc_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
    _ = kc_easy_setopt_long(h, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
    _ = kc_easy_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
    _ = kc_easy_setopt_ptr(h, CURLOPT_ACCEPT_ENCODING, "")
    _ = kc_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, r.connectTimeoutMs)
    _ = kc_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, r.timeoutMs)
    // A page of 100 users is ~23 KB: one read and one write callback with
    // the curl tool's 100 KB buffer, where libcurl's default 16 KB takes two.
    _ = kc_easy_setopt_long(h, CURLOPT_BUFFERSIZE, 102_400)
    // TLS verification is always on; only the trust store can change.
    _ = kc_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
    _ = kc_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
    if let ca = caBundle { _ = ca.withCString { kc_easy_setopt_ptr(h, CURLOPT_CAINFO, $0) } }
    if let dir = caPath { _ = dir.withCString { kc_easy_setopt_ptr(h, CURLOPT_CAPATH, $0) } }
    _ = kc_easy_setopt_ptr(h, CURLOPT_ERRORBUFFER, t.errorBuffer)
    let me = Unmanaged.passUnretained(t).toOpaque()
    _ = kc_easy_setopt_writefn(h, CURLOPT_WRITEFUNCTION, onBody)
    _ = kc_easy_setopt_ptr(h, CURLOPT_WRITEDATA, me)
    _ = kc_easy_setopt_writefn(h, CURLOPT_HEADERFUNCTION, onHeader)
    _ = kc_easy_setopt_ptr(h, CURLOPT_HEADERDATA, me)
    switch r.method {
    case "GET": _ = kc_easy_setopt_long(h, CURLOPT_HTTPGET, 1)
    case "POST": _ = kc_easy_setopt_long(h, CURLOPT_POST, 1)
    default: _ = r.method.withCString { kc_easy_setopt_ptr(h, CURLOPT_CUSTOMREQUEST, $0) }
    }
    if let body = r.body ?? (r.method == "POST" ? [] : nil) {
      _ = kc_easy_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
      _ = body.withUnsafeBytes { kc_easy_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)) }
    }
    if let auth = r.basicAuth {
      _ = kc_easy_setopt_long(h, CURLOPT_HTTPAUTH, 1 /* CURLAUTH_BASIC: a macro Swift cannot import */)
      _ = auth.user.withCString { kc_easy_setopt_ptr(h, CURLOPT_USERNAME, $0) }
      _ = auth.password.withCString { kc_easy_setopt_ptr(h, CURLOPT_PASSWORD, $0) }
    }
    var list: UnsafeMutablePointer<curl_slist>?
    // curl adds "Expect: 100-continue" to large POSTs: a round trip for nothing.
    for line in r.headers + ["Expect:"] { list = line.withCString { kc_slist_append(list, $0) } }
    t.headerList = list
    _ = kc_easy_setopt_ptr(h, CURLOPT_HTTPHEADER, list)
  }

  private func outcome(_ t: Transfer, _ h: UnsafeMutableRawPointer, _ code: CURLcode) -> Result<HTTPResponse, TransportError> {
    if code == CURLE_OK {
      var status = 0
      _ = kc_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
      var version = 0
      _ = kc_easy_getinfo_long(h, CURLINFO_HTTP_VERSION, &version)
      let v = version == Int(CURL_HTTP_VERSION_2_0) ? "2" : version == Int(CURL_HTTP_VERSION_1_0) ? "1.0" : "1.1"
      var port = 0
      _ = kc_easy_getinfo_long(h, CURLINFO_LOCAL_PORT, &port)
      return .success(
        HTTPResponse(status: status, headers: t.headers, body: t.body, httpVersion: v, localPort: port))
    }
    let detail = String(cString: t.errorBuffer.assumingMemoryBound(to: CChar.self))
    let text = detail.isEmpty ? String(cString: kc_easy_strerror(code)) : detail
    let kind: TransportError.Kind
    switch code {
    case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .connect
    case CURLE_OPERATION_TIMEDOUT: kind = .timeout
    case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM: kind = .tls
    case CURLE_SSL_CONNECT_ERROR: kind = .connect
    case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
      CURLE_HTTP2_STREAM:
      kind = .reset
    default: kind = .other
    }
    return .failure(TransportError(kind: kind, message: text))
  }

  /// Clears `easy` for its next transfer; its connections stay open.
  private func reset(_ easy: UnsafeMutableRawPointer, _ t: Transfer) {
    kc_easy_reset(easy)
    if let list = t.headerList {
      kc_slist_free_all(list)
      t.headerList = nil
    }
  }

  private func finish(_ easy: UnsafeMutableRawPointer, _ t: Transfer, _ result: Result<HTTPResponse, TransportError>) {
    _ = kc_multi_remove(multi, easy)
    active[easy] = nil
    recycle(easy, t)
    t.completion(result)
  }

  private func recycle(_ easy: UnsafeMutableRawPointer, _ t: Transfer) {
    reset(easy, t)
    if idle.count < 32 { idle.append(easy) } else { kc_easy_cleanup(easy) }
  }
}

/// A wait on the I/O thread (a retry's backoff).
struct Timer {
  let due: Double
  /// The interrupt generation when it was set: a later Ctrl-C cancels it.
  let generation: UInt32
  let fire: @Sendable () -> Void
  let cancel: @Sendable () -> Void
}

/// A transfer in flight: the request, and the response as it arrives.
final class Transfer {
  let id: UInt64
  let request: HTTPRequest
  let completion: Transport.Completion
  var headers: [(name: String, value: String)] = []
  var body: [UInt8] = []
  var headerList: UnsafeMutablePointer<curl_slist>?
  /// The interrupt generation when it was submitted: a later Ctrl-C
  /// cancels it.
  let generation = Interrupt.generation
  let errorBuffer = UnsafeMutableRawPointer.allocate(byteCount: Int(CURL_ERROR_SIZE) + 1, alignment: 1)

  init(id: UInt64, request: HTTPRequest, completion: @escaping Transport.Completion) {
    self.id = id
    self.request = request
    self.completion = completion
    errorBuffer.storeBytes(of: 0, as: UInt8.self)
  }

  deinit { errorBuffer.deallocate() }
}

private let onBody: kc_write_fn = { data, size, n, user in
  let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
  let count = size * n
  if let data, count > 0 {
    t.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
  }
  return count
}

private let onHeader: kc_write_fn = { data, size, n, user in
  let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
  let count = size * n
  guard let data, count > 0 else { return count }
  let line = UnsafeRawBufferPointer(start: data, count: count)
  if line.starts(with: "HTTP/".utf8) {
    t.headers.removeAll()  // a new response (after 100 Continue): start over
    return count
  }
  guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return count }
  // Lower-case ASCII in place of String.lowercased(): no Unicode tables.
  let name = String(unsafeUninitializedCapacity: colon) { out in
    for (i, c) in line[..<colon].enumerated() { out[i] = c >= 65 && c <= 90 ? c + 32 : c }
    return colon
  }
  var value = line[(colon + 1)...]
  while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
  while let l = value.last, l == 10 || l == 13 || l == 32 || l == 9 { value = value.dropLast() }
  let text = String(decoding: value, as: UTF8.self)
  // Size the body buffer once instead of growing it chunk by chunk.
  if name == "content-length", let n = Int(text), n > 0, n < 64 << 20 { t.body.reserveCapacity(n) }
  t.headers.append((name, text))
  return count
}
