import CThreads

/// Ctrl-C, one model for the whole process (the details are in CThreads.h).
///
/// Work that Ctrl-C stops runs inside `during`: a SIGINT then bumps
/// `generation` (waits and transfers begun before it give up) and calls the
/// watchers (wakeups of the threads that wait, Lua's interrupt hook). Outside
/// any run, at the REPL's prompt, it only ends the wait for input.
public enum Interrupt {
  /// Counts the SIGINTs that came during runs: something begun at one
  /// generation is cancelled once it changes.
  public static var generation: UInt32 { kcsh_intr_generation() }

  /// Runs `body` as work Ctrl-C stops, with the handler installed for its
  /// length (runs nest).
  public static func during<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    kcsh_intr_run_begin()
    defer { kcsh_intr_run_end() }
    return try body()
  }

  /// Keeps the handler installed for the length of `body` (a REPL session),
  /// then puts back what was there.
  public static func installed<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    kcsh_intr_install()
    defer { kcsh_intr_uninstall() }
    return try body()
  }

  /// Runs `body` with `fn(arg)` called by the signal handler during runs;
  /// `fn` must be async-signal-safe (a write to a descriptor, a flag).
  /// `fatal` makes the next SIGINT after one that called it end the process
  /// (lua.c: in case the hook it arms never fires, stuck in C code).
  public static func watching<R, E: Error>(
    _ fn: kcsh_intr_fn, _ arg: UnsafeMutableRawPointer?, fatal: Bool = false, _ body: () throws(E) -> R
  ) throws(E) -> R {
    let slot = watch(fn, arg, fatal: fatal)
    defer { unwatch(slot) }
    return try body()
  }

  /// Registers `fn(arg)` as `watching` does, for an owner that outlives a
  /// call (a transport's multi handle); returns the slot for `unwatch`.
  public static func watch(_ fn: kcsh_intr_fn, _ arg: UnsafeMutableRawPointer?, fatal: Bool = false) -> Int32 {
    kcsh_intr_watch(fn, arg, fatal ? 1 : 0)
  }

  /// The handler no longer calls the watcher once this returns.
  public static func unwatch(_ slot: Int32) { kcsh_intr_unwatch(slot) }

  /// The REPL's wait for a line: true when `fd` has input, false on a Ctrl-C
  /// (consumed), nil on an error.
  public static func waitForInput(_ fd: Int32) -> Bool? {
    switch kcsh_intr_wait_input(fd) {
    case 1: true
    case 0: false
    default: nil
    }
  }

  /// Whether a Ctrl-C came at the prompt since the last look (a read that
  /// failed with EINTR); clears it.
  public static func takePromptInterrupt() -> Bool { kcsh_intr_take() != 0 }
}
