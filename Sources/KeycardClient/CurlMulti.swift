import CCurl
import Threads

/// A curl multi handle and the transfers on it, driven by one thread at a
/// time: the I/O thread's loop, or a caller of performHere (the lane). Both
/// take their transfers through the same steps here, so setting one up,
/// stopping it and reading its outcome exist once.
final class CurlMulti {
  private let handle: UnsafeMutableRawPointer
  private let trust: TrustStore
  private var active: [UnsafeMutableRawPointer: Transfer] = [:]
  /// Easy handles kept for the next transfers, with their connections.
  private var idle: [UnsafeMutableRawPointer] = []
  /// The interrupt watcher that wakes this handle's poll on Ctrl-C.
  private let watcher: Int32

  init(trust: TrustStore) throws(TransportError) {
    guard let m = kc_multi_init() else { throw TransportError(kind: .other, message: "curl_multi_init failed") }
    handle = m
    self.trust = trust
    // HTTP/2 multiplexing when offered. Over HTTP/1.1 each request in flight
    // needs a connection of its own, so the cap bounds kc.parallel's
    // concurrency: high enough for a pool of 64, low enough not to flood a host.
    _ = kc_multi_setopt_long(m, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
    _ = kc_multi_setopt_long(m, CURLMOPT_MAX_HOST_CONNECTIONS, 64)
    // Ctrl-C during a run wakes the poll; the next step stops what was
    // submitted before it.
    watcher = Interrupt.watch(kc_multi_wakeup_watcher, m)
  }

  deinit {
    Interrupt.unwatch(watcher)
    for (easy, _) in active { _ = kc_multi_remove(handle, easy) }
    for easy in idle + active.keys { kc_easy_cleanup(easy) }
    kc_multi_cleanup(handle)
  }

  /// Wakes this handle's poll, from any thread.
  var wakeup: MultiWakeup { MultiWakeup(handle: handle) }

  /// Whether no transfer is on the handle.
  var isEmpty: Bool { active.isEmpty }

  /// Sets `t` up on an easy handle and adds it; the error if curl refuses.
  func begin(_ t: Transfer) -> TransportError? {
    guard let easy = idle.popLast() ?? kc_easy_init() else {
      return TransportError(kind: .other, message: "curl_easy_init failed")
    }
    t.configure(easy, trust: trust)
    guard kc_multi_add(handle, easy) == CURLM_OK else {
      recycle(easy, t)
      return TransportError(kind: .other, message: "curl_multi_add_handle failed")
    }
    active[easy] = t
    return nil
  }

  /// One round: stops each transfer that `stop` gives a reason for, lets
  /// curl move the others, and returns every transfer that ended, with its
  /// result (their completions are the caller's to run).
  func step(stop: (Transfer) -> TransportError?) -> [(Transfer, Result<HTTPResponse, TransportError>)] {
    var ended: [(Transfer, Result<HTTPResponse, TransportError>)] = []
    for (easy, t) in active {
      if let why = stop(t) {
        end(easy, t)
        ended.append((t, .failure(why)))
      }
    }
    var running: Int32 = 0
    _ = kc_multi_perform(handle, &running)
    var easy: UnsafeMutableRawPointer?
    var code = CURLE_OK
    while kc_multi_next_done(handle, &easy, &code) != 0 {
      guard let easy, let t = active[easy] else { continue }
      ended.append((t, t.outcome(easy, code)))
      end(easy, t)
    }
    return ended
  }

  /// Sleeps until a socket is ready, a wakeup comes or `ms` pass; curl
  /// shortens the wait to its own next timeout (request timeouts).
  func poll(ms: Int) { _ = kc_multi_poll(handle, Int32(ms), nil) }

  private func end(_ easy: UnsafeMutableRawPointer, _ t: Transfer) {
    _ = kc_multi_remove(handle, easy)
    active[easy] = nil
    recycle(easy, t)
  }

  private func recycle(_ easy: UnsafeMutableRawPointer, _ t: Transfer) {
    t.reset(easy)
    if idle.count < 32 { idle.append(easy) } else { kc_easy_cleanup(easy) }
  }
}

/// Wakes a multi handle's poll from another thread.
// @unchecked: curl_multi_wakeup is the one call libcurl allows on a handle another thread drives.
struct MultiWakeup: @unchecked Sendable {
  let handle: UnsafeMutableRawPointer
  func callAsFunction() { _ = kc_multi_wakeup(handle) }
}
