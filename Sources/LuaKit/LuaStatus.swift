import CLua
import LuaShim

/// A Lua status (`LUA_OK`, `LUA_ERRRUN`, `LUA_ERRSYNTAX`…), for code that
/// follows lua.c, which reports an error from the value left on the stack
/// rather than from a thrown `LuaError`: its exact bytes (a `LuaError`'s
/// message is text), converted as `lua_tostring` does (`convertedBytes`).
public struct LuaStatus: RawRepresentable, Equatable, Sendable {
  public let rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }

  public static let ok = LuaStatus(rawValue: LUA_OK)
  public var isOK: Bool { rawValue == LUA_OK }
}

extension LuaState {
  /// `LUA_MULTRET`: a call keeps all its results.
  public static let allResults: Int32 = LUA_MULTRET

  /// `lua_pcall`: calls the function below the top `nargs` values in
  /// protected mode. On success `nresults` results are left (all by
  /// default); on error, the error value replaces the function and its
  /// arguments. With `traceback`, that value is lua.c's message: the
  /// error's text (or `__tostring`) and the traceback.
  public func pcall(nargs: Int32, nresults: Int32 = allResults, traceback: Bool) -> LuaStatus {
    room(1)
    guard traceback else { return LuaStatus(rawValue: kcsh_pcall(L, nargs, nresults, 0)) }
    let status = kcsh_pcall_traceback(L, nargs, nresults)
    if status != LUA_OK {
      // The handler kept the raised value for `call`; nobody reads it here,
      // and a stale one must not be taken for a later error's.
      room(1)
      kcsh_push_last_error(L)
      pop()
    }
    return LuaStatus(rawValue: status)
  }

  /// `luaL_loadfile`: compiles the file at `path` (stdin when nil; a `#!`
  /// line and a BOM are skipped) and pushes the chunk, or the error message.
  public func loadFile(_ path: UnsafePointer<CChar>?) -> LuaStatus {
    room(3)
    return LuaStatus(rawValue: luaL_loadfilex(L, path, nil))
  }

  /// `luaL_loadbuffer`: compiles `code` as the chunk `name` and pushes it,
  /// or the error message (the throwing form is `load(_:name:mode:)`).
  public func loadBuffer(_ code: UnsafeRawBufferPointer, name: String) -> LuaStatus {
    room(1)
    return LuaStatus(
      rawValue: luaL_loadbufferx(
        L, code.baseAddress?.assumingMemoryBound(to: CChar.self), code.count, name, nil))
  }

  /// Opens the standard libraries in protected mode.
  public func openLibraries() throws(LuaError) {
    room(1)
    try check(kcsh_popenlibs(L))
  }

  /// `lua_warning`: a warning (or a control message, `@on`/`@off`) for the
  /// warning function; `continued` when more of the same message follows.
  public func warn(_ message: String, continued: Bool = false) {
    lua_warning(L, message, continued ? 1 : 0)
  }
}
