@preconcurrency import Glibc
import KeycardClient
import LuaKit
import Threads

/// kc.parallel's requests (stdlib/kc/parallel.lua schedules them): prepared
/// in the task that asks (so a bad argument is raised there), sent when the
/// scheduler has room, answered in whatever order the I/O thread finishes
/// them. Only the Lua thread touches it; the I/O thread only posts to the
/// mailbox.
final class RequestQueue {
  enum Event: Sendable {
    case done(tag: Int64, Result<APIResponse, KeycardError>)
    /// A 429 or a 503 that asked the caller to wait `seconds`.
    case throttled(tag: Int64, seconds: Double)
  }

  private struct Request {
    var call: APICall
    var raw: Bool
    var handle: CallHandle?
  }

  private let context: KCContext
  private let mailbox = Mailbox<Event>()
  private var requests: [Int64: Request] = [:]
  private var ready: [Event] = []
  private var readyHead = 0
  private var lastTag: Int64 = 0
  /// A Ctrl-C bumps it: the run is over.
  private let generation = Interrupt.generation

  init(context: KCContext) { self.context = context }

  // Collected with its table: nothing it started keeps running.
  deinit { cancelAll() }

  /// Sets what kc.parallel needs of the native half in the table at
  /// `native`: queue(), now() (monotonic seconds), isatty(fd), and
  /// enter(co)/leave(...) around each resume of a task (Ctrl-C reaches it).
  static func install(_ s: LuaState, native: Int32, context: KCContext) {
    s.push(function: { s in
      push(s, context: context)
      return .results(1)
    })
    s.rawSet(native, field: "queue")
    s.push(function: { s in
      var ts = timespec()
      clock_gettime(CLOCK_MONOTONIC, &ts)
      s.push(Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
      return .results(1)
    })
    s.rawSet(native, field: "now")
    s.push(function: { s in
      s.push(isatty(Int32(try s.checkInteger(1))) == 1)
      return .results(1)
    })
    s.rawSet(native, field: "isatty")
    // enter(co) before resuming a task, leave(...) after: it answers its
    // arguments, so `leave(coroutine.resume(co))` passes the results on.
    s.push(function: { s in
      guard s.type(at: 1) == .thread else { throw s.typeError(1, expected: "thread") }
      s.enterThread(at: 1)
      return .results(0)
    })
    s.rawSet(native, field: "enter")
    s.push(function: { s in
      s.leaveThread()
      return .results(s.top)
    })
    s.rawSet(native, field: "leave")
  }

  /// Pushes a queue's functions as a table: prepare, send, next, cancel,
  /// interrupted.
  static func push(_ s: LuaState, context: KCContext) {
    let q = RequestQueue(context: context)
    s.newTable(hash: 4)
    s.push(function: { s in try q.prepare(s) })
    s.rawSet(-2, field: "prepare")
    s.push(function: { s in try q.send(s) })
    s.rawSet(-2, field: "send")
    s.push(function: { s in q.next(s) })
    s.rawSet(-2, field: "next")
    s.push(function: { s in
      if s.type(at: 1) == .nil || s.type(at: 1) == .none { q.cancelAll() } else { q.cancel(try s.checkInteger(1)) }
      return .results(0)
    })
    s.rawSet(-2, field: "cancel")
    s.push(function: { s in
      s.push(q.interrupted(s))
      return .results(1)
    })
    s.rawSet(-2, field: "interrupted")
  }

  /// prepare(t): checks t as kc.request does and answers its tag.
  private func prepare(_ s: LuaState) throws -> LuaResult {
    let (call, raw) = try context.parseCall(s)
    lastTag += 1
    requests[lastTag] = Request(call: call, raw: raw)
    s.push(lastTag)
    return .results(1)
  }

  /// send(tag): starts the request on the I/O thread.
  private func send(_ s: LuaState) throws -> LuaResult {
    let tag = try s.checkInteger(1)
    guard var request = requests[tag], request.handle == nil else {
      throw LuaError("kc.parallel: no request \(tag) to send")
    }
    let mailbox = self.mailbox
    var call = request.call
    call.onRetry = { response, delay in
      guard let r = response, r.status == 429 || (r.status == 503 && r.header("retry-after") != nil) else { return }
      mailbox.post(.throttled(tag: tag, seconds: delay))
    }
    request.handle = try context.getClient().start(call) { mailbox.post(.done(tag: tag, $0)) }
    requests[tag] = request
    return .results(0)
  }

  /// next(timeout): "done", tag, then what kc's raw request answers;
  /// "throttled", tag, seconds; "interrupted" after a Ctrl-C (everything is
  /// cancelled by then); nothing when `timeout` seconds pass first.
  private func next(_ s: LuaState) -> LuaResult {
    if readyHead == ready.count {
      ready = mailbox.take(waiting: s.number(at: 1) ?? 0)
      readyHead = 0
    }
    if interrupted(s) {
      s.push("interrupted")
      return .results(1)
    }
    guard readyHead < ready.count else { return .results(0) }
    let event = ready[readyHead]
    readyHead += 1
    switch event {
    case .throttled(let tag, let seconds):
      s.push("throttled")
      s.push(tag)
      s.push(seconds)
      return .results(3)
    case .done(let tag, let outcome):
      // A request cancelled meanwhile has no entry: its answer is dropped.
      guard let request = requests.removeValue(forKey: tag) else { return next(s) }
      s.push("done")
      s.push(tag)
      guard case .results(let n) = context.pushOutcome(s, request.call, outcome, raw: request.raw) else {
        return .results(2)
      }
      return .results(2 + n)
    }
  }

  /// True once a Ctrl-C came: then everything is cancelled, and Lua's
  /// interrupt hook disarmed (kc.parallel raises its own error).
  private func interrupted(_ s: LuaState) -> Bool {
    guard Interrupt.generation != generation else { return false }
    cancelAll()
    s.clearInterrupt()
    return true
  }

  private func cancel(_ tag: Int64) {
    requests.removeValue(forKey: tag)?.handle?.cancel()
  }

  private func cancelAll() {
    let all = requests
    requests.removeAll()
    for r in all.values { r.handle?.cancel() }
  }
}
