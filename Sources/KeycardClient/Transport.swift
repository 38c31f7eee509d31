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
  /// Never sent twice by libcurl itself. libcurl sends a request again when a
  /// reused connection drops before any answer, which makes a write twice if
  /// the server had carried it out. Such a request's body is fed through a
  /// read callback that cannot rewind, so curl fails the transfer instead
  /// (a `reset`), and the caller decides.
  public var sentOnce = false

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
/// Lua thread does other work. Requests come in through a locked inbox and a
/// curl_multi_wakeup; results go out through a completion callback on the
/// I/O thread. A caller that would only wait runs its request itself
/// (performHere), on a second multi handle, the lane. Both multi handles
/// drive their transfers the same way (CurlMulti, Transfer).
public final class Transport: Sendable {
  public typealias Completion = @Sendable (Result<HTTPResponse, TransportError>) -> Void

  /// What callers hand the I/O thread, which takes it all each round.
  private struct Inbox {
    var pending: [Transfer] = []
    var cancels: Set<UInt64> = []
    var stopping = false
    var nextID: UInt64 = 1
    var timers: [Timer] = []
  }
  private let inbox = Mutex(Inbox())
  /// Wakes the I/O thread's poll (the I/O thread owns its multi handle).
  private let wakeIO: MultiWakeup
  private let thread = Mutex<pthread_t?>(nil)
  /// Counts start() calls, read without the lock by the idle I/O thread.
  private let submitted = Atomic<Int>(0)
  /// True while the I/O thread may be asleep in poll: only then does a new
  /// request need a wakeup (a write to a socketpair, and a context switch).
  private let mayBeAsleep = Atomic<Bool>(true)
  /// The second multi handle, driven by a thread that waits for its own
  /// request (performHere); one such thread at a time.
  private let lane: Mutex<CurlMulti>
  private let laneUses = Atomic<Int>(0)

  /// Loads libcurl (the first time) and starts the I/O thread.
  public init(environment: Environment = .process) throws(TransportError) {
    var err = [CChar](repeating: 0, count: 256)
    if kc_curl_load(&err, err.count) != 0 {
      throw TransportError(kind: .other, message: String(decoding: err.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    let trust = TrustStore(
      caBundle: environment["CURL_CA_BUNDLE"] ?? environment["SSL_CERT_FILE"], caPath: environment["SSL_CERT_DIR"])
    let io = try CurlMulti(trust: trust)
    lane = Mutex(try CurlMulti(trust: trust))
    wakeIO = io.wakeup
    // The I/O thread owns `io`, and holds a reference to the transport
    // until its loop ends.
    let box = Unmanaged.passRetained(IOThread(transport: self, multi: io)).toOpaque()
    let tid = startThreadWithoutSIGINT(
      { arg in
        let start = Unmanaged<IOThread>.fromOpaque(arg!).takeRetainedValue()
        start.transport.run(start.multi)
        return nil
      }, box)
    guard let tid else {
      Unmanaged<IOThread>.fromOpaque(box).release()
      throw TransportError(kind: .other, message: "cannot start the I/O thread")
    }
    thread.withLock { $0 = tid }
  }

  /// What the I/O thread starts with.
  private final class IOThread {
    let transport: Transport
    let multi: CurlMulti
    init(transport: Transport, multi: CurlMulti) {
      self.transport = transport
      self.multi = multi
    }
  }

  /// Stops the I/O thread; pending transfers complete as cancelled.
  public func shutdown() {
    inbox.withLock { $0.stopping = true }
    wakeIO()
    // The last reference to a client can go away on the I/O thread itself
    // (a completion holding it): that thread cannot join itself, so it is
    // detached and ends once its loop sees `stopping`.
    if let t = thread.withLock({ $0.take() }) {
      if pthread_equal(t, pthread_self()) != 0 { pthread_detach(t) } else { pthread_join(t, nil) }
    }
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
    if mayBeAsleep.load(ordering: .sequentiallyConsistent) { wakeIO() }
    return TransferID(value: id)
  }

  /// Cancels one transfer: it completes with `.cancelled` within a poll round.
  public func cancel(_ id: TransferID) {
    inbox.withLock { _ = $0.cancels.insert(id.value) }
    wakeIO()
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
    wakeIO()
  }

  // MARK: On the calling thread

  /// Runs `request` on the calling thread, on a multi handle of its own
  /// (with its own kept-alive connections), or answers nil at once when
  /// another thread is using that handle (then use start). A caller that
  /// would only wait anyway saves the two hand-offs of a request through the
  /// I/O thread, a wake-up each way, which on loopback cost more than curl
  /// itself (docs/performance.md). Ctrl-C cancels the transfer.
  public func performHere(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError>? {
    lane.withLockIfAvailable { multi in
      laneUses.add(1, ordering: .relaxed)
      let t = Transfer(id: 0, request: request, completion: { _ in })
      if let error = multi.begin(t) { return .failure(error) }
      // A Ctrl-C meanwhile bumps the generation and wakes this handle's poll.
      return Interrupt.during {
        while true {
          let ended = multi.step { $0.stopReason(generation: Interrupt.generation) }
          if let (_, result) = ended.first { return result }
          multi.poll(ms: 1_000)
        }
      }
    }
  }

  /// How many transfers ran on a calling thread (tests).
  var transfersHere: Int { laneUses.load(ordering: .relaxed) }

  // MARK: The I/O thread

  private func run(_ multi: CurlMulti) {
    var seenGeneration = Interrupt.generation
    while true {
      let now = monotonicNow()
      // start() counts a request after queueing it: any counted after this
      // load is looked for again before sleeping.
      let taken = submitted.load(ordering: .sequentiallyConsistent)
      // Ctrl-C (Threads' Interrupt): a new generation cancels what was
      // submitted or scheduled before it, once.
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
      for t in new {
        if let error = multi.begin(t) { t.completion(.failure(error)) }
      }
      // Shut down, cancelled by ID or submitted before a Ctrl-C; then
      // whatever curl finished.
      let ended = multi.step { t in
        t.stopReason(shutdown: stop, cancelled: cancelled.contains(t.id), generation: generation)
      }
      for (t, result) in ended { t.completion(result) }
      // Timers taken out for a shutdown or an interrupt are cancelled; else due.
      for timer in due { if stop || interrupted { timer.cancel() } else { timer.fire() } }
      if stop { break }
      // No spinning for the next request before sleeping: on two CPUs shared
      // with the server, the spin took CPU from it and from Lua decoding the
      // answer, and sequential page requests ran slower (docs/performance.md).
      // Sleeps until a socket is ready, a timer is due or a wakeup comes.
      var wait = multi.isEmpty ? 10_000 : 1_000
      if let next = nextDue { wait = min(wait, max(0, Int(((next - monotonicNow()) * 1000).rounded(.up)))) }
      // Announce the sleep, then look once more: a start() either sees the
      // flag and wakes the poll, or was counted before this load and is
      // picked up at once (Dekker's handshake, sequentially consistent).
      mayBeAsleep.store(true, ordering: .sequentiallyConsistent)
      if submitted.load(ordering: .sequentiallyConsistent) == taken { multi.poll(ms: wait) }
      mayBeAsleep.store(false, ordering: .sequentiallyConsistent)
    }
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
