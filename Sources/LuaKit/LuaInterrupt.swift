import LuaShim
import Threads

extension LuaState {
  /// Runs `body`, which runs Lua code in this state, as work Ctrl-C stops
  /// (Threads' `Interrupt`): a SIGINT arms a hook that raises
  /// "interrupted!" at the next instruction (lua.c's laction/lstop), and a
  /// second one before that hook fires ends the process. A hook armed too
  /// late to fire is removed after.
  public func interruptible<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    defer { kcsh_clear_interrupt(L) }
    return try Interrupt.during { () throws(E) -> R in
      try Interrupt.watching(kcsh_interrupt_watcher, UnsafeMutableRawPointer(L), fatal: true, body)
    }
  }
}

extension LuaState {
  /// Marks the coroutine at `index` as running until `leaveThread()`: a
  /// Ctrl-C meanwhile arms the interrupt hook in it too (hooks are per Lua
  /// thread, and arming them all the time would slow every instruction).
  public func enterThread(at index: Int32) {
    kcsh_enter_thread(L, index)
  }

  public func leaveThread() {
    kcsh_leave_thread()
  }

  /// Forgets a Ctrl-C that Swift has answered itself (kc.parallel raises
  /// `interrupted` with its report), so the hook does not raise it again.
  public func clearInterrupt() {
    kcsh_clear_interrupt(L)
  }
}
