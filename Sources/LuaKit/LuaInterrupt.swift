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
  /// Makes the coroutine at `index` stop with "interrupted!" on Ctrl-C as
  /// well: Lua's hooks are per thread, and the handler arms only the main one.
  public func makeInterruptible(threadAt index: Int32) {
    kcsh_interruptible_thread(L, index)
  }

  /// Forgets a Ctrl-C that Swift has answered itself (kc.parallel raises
  /// `interrupted` with its report), so the hook does not raise it again.
  public func clearInterrupt() {
    kcsh_clear_interrupt(L)
  }
}
