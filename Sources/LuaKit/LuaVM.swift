import CLua
import LuaShim

/// Owns a Lua state: created with the standard libraries open, closed on
/// deinit. Use it from one thread.
public final class LuaVM {
  public let L: OpaquePointer
  public var state: LuaState { LuaState(L) }

  /// A new state; `openLibraries` opens all standard libraries.
  public init(openLibraries: Bool = true) throws(LuaError) {
    _ = installBridge
    guard let L = luaL_newstate() else { throw LuaError("cannot create state: not enough memory") }
    self.L = L
    lua_atpanic(L, { L in
      // Unreachable by design (Swift only calls Lua in protected mode); if it
      // ever happens, stop rather than longjmp into nowhere.
      let message = LuaState(L!).string(at: -1) ?? "?"
      fatalError("unprotected error in call to Lua API (\(message))")
    })
    kcsh_setowner(L, Unmanaged.passUnretained(self).toOpaque())
    if openLibraries { try state.check(kcsh_popenlibs(L)) }
  }

  deinit {
    kcsh_setowner(L, nil)  // __gc callbacks during close must not reach self
    lua_close(L)
  }

  @discardableResult
  public func run(_ code: String, name: String = "=(swift)") throws(LuaError) -> [LuaValue] {
    try state.run(code, name: name)
  }

  public func register(_ name: String, _ body: @escaping LuaFunction) {
    state.register(name, body)
  }
}
