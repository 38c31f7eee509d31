@preconcurrency import Glibc

/// A value guarded by a lock, with a condition variable to wait until it
/// changes: where a thread must sleep until another answers (a call's
/// outcome). Synchronization's Mutex has no condition variable, and
/// Foundation's would cost start-up time. Everything else uses Mutex.
// @unchecked: a pthread mutex guards `state`; Swift has no condition-variable type.
final class Monitor<State: Sendable>: @unchecked Sendable {
  private var state: State
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  init(_ state: State) {
    self.state = state
    pthread_mutex_init(mutex, nil)
    var attr = pthread_condattr_t()
    pthread_condattr_init(&attr)
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
    pthread_cond_init(cond, &attr)
    pthread_condattr_destroy(&attr)
  }

  deinit {
    pthread_cond_destroy(cond)
    pthread_mutex_destroy(mutex)
    cond.deallocate()
    mutex.deallocate()
  }

  /// The state now.
  var value: State {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return state
  }

  /// Changes the state, then wakes every waiter.
  func update<R>(_ body: (inout State) throws -> R) rethrows -> R {
    pthread_mutex_lock(mutex)
    defer {
      pthread_cond_broadcast(cond)
      pthread_mutex_unlock(mutex)
    }
    return try body(&state)
  }

  /// Sleeps until `ready` gives a value, looking again whenever the state
  /// changes; nil if `seconds` pass first.
  func wait<R>(seconds: Double = .infinity, until ready: (State) -> R?) -> R? {
    let deadline = monotonicNow() + seconds
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    while true {
      if let r = ready(state) { return r }
      let left = deadline - monotonicNow()
      if left <= 0 { return nil }
      // At most a second at a time: a missed wakeup costs no more than that.
      sleep(ms: Int((min(left, 1) * 1000).rounded(.up)))
    }
  }

  /// Waits (the lock held) until signalled or `ms` milliseconds pass.
  private func sleep(ms: Int) {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    let ns = Int(ts.tv_nsec) + (ms % 1000) * 1_000_000
    ts.tv_sec += ms / 1000 + ns / 1_000_000_000
    ts.tv_nsec = ns % 1_000_000_000
    pthread_cond_timedwait(cond, mutex, &ts)
  }
}
