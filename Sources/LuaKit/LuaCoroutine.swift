import CLua
import LuaShim

/// How a coroutine resumed from Swift stopped.
public enum LuaResumeResult: Equatable, Sendable {
  /// It yielded this many values (on top of its stack).
  case yielded(Int32)
  /// Its function returned this many values (on top of its stack).
  case returned(Int32)
}

extension LuaState {
  /// Pushes a new coroutine (a Lua thread) and returns its stack. The value
  /// on this stack keeps it alive; push its function onto the new stack, then
  /// `resume` it. For a scheduler written in Swift: a Swift function in the
  /// coroutine yields (say, with a pending request), and Swift resumes the
  /// coroutine later with the answer.
  public func newThread() -> LuaState {
    room(1)
    return LuaState(lua_newthread(L))
  }

  /// Resumes this coroutine with the top `nargs` values of its stack as the
  /// arguments (the function is below them the first time). Runs in
  /// protected mode: an error is thrown, with the coroutine's traceback, and
  /// leaves the coroutine dead. `from` is the thread doing the resuming, when
  /// it is a Lua thread (it counts for the C-stack limit).
  public func resume(nargs: Int32, from: LuaState? = nil) throws(LuaError) -> LuaResumeResult {
    var n: Int32 = 0
    let status = kcsh_resume(L, from?.L, nargs, &n)
    switch status {
    case LUA_OK: return .returned(n)
    case LUA_YIELD: return .yielded(n)
    default:
      // The dead coroutine's stack is intact: the traceback is its own.
      let value = (try? self.value(at: -1)) ?? .nil
      let text = string(at: -1) ?? describeDeadError()
      let original = original(at: -1)
      room(3)
      luaL_traceback(L, L, text, 0)
      let traceback = string(at: -1)
      pop(2)
      throw LuaError(text, traceback: traceback, value: value, original: original)
    }
  }

  /// The text of the non-string error on top of this dead coroutine, as
  /// lua.c's message handler gives it: its `__tostring`, else "(error object
  /// is a ... value)". A dead coroutine cannot run calls, so `__tostring`
  /// runs on the main thread, with the value moved there.
  private func describeDeadError() -> String {
    let fallback = "(error object is a \(typeName(at: -1)) value)"
    room(2)
    guard luaL_getmetafield(L, -1, "__tostring") != LUA_TNIL else { return fallback }
    pop()
    lua_rawgeti(L, kcsh_registryindex(), lua_Integer(LUA_RIDX_MAINTHREAD))
    let main = LuaState(lua_tothread(L, -1))
    pop()
    main.room(1)
    lua_pushvalue(L, -1)
    lua_xmove(L, main.L, 1)
    defer { main.pop() }
    return (try? main.toString(at: -1)) ?? fallback
  }

  /// True when `coroutine.status` would say "suspended": it yielded, or it
  /// has not started (a function on its stack). Take the results of a
  /// finished coroutine off its stack, or they look like a function to run.
  public var canResume: Bool {
    let s = lua_status(L)
    return s == LUA_YIELD || (s == LUA_OK && top > 0)
  }
}
