// LuaKit in brief (see each declaration for details):
//
//   let vm = try LuaVM()                      // all standard libraries open
//   vm.register("add") { L in                 // a Swift function, callable from Lua
//     L.push(try L.checkInteger(1) + L.checkInteger(2))
//     return .results(1)                      // or .yield(n), .yieldThen(n) { L, base in ... }
//   }
//   try vm.run("print(add(1, 2))")            // errors: LuaError (message, traceback, value)
//
// Values: push(_:) and value(at:)/values(from:) with LuaValue (nil, boolean,
// integer, number, string as bytes, table copied deeply, reference); ref(at:)
// keeps any value alive as a LuaRef; call(_:_:) calls a function value or
// LuaRef. Tables on the stack: getField/setField and getTable/setTable (with
// metamethods, protected), rawGet/rawSet (without). Swift objects:
// push(object:metatable:setup:), object(at:...), checkObject. Coroutines
// driven from Swift: newThread(), resume(nargs:). Raw access where the
// shell needs it: pushMetatable/setMetatable, next (protected), pointer(at:),
// push(cFunction:) and push(lightUserdata:) for C functions called through
// call(nargs:nresults:); and for lua.c-style code, LuaStatus with pcall,
// loadFile and loadBuffer, which leave the error value on the stack.
//
// The raw lua_State (LuaState.L, LuaVM.L) is internal: outside LuaKit no
// code can call Lua's C API, so none can make a call that raises.
//
// The rules that keep it safe: a Swift function never raises or yields
// itself (it returns, and LuaShim's C trampoline raises or yields after the
// Swift frames are gone); Swift calls into Lua only in protected mode; pushes
// make room on the stack; out of memory inside a Swift function stops the
// process instead of raising through it.

import CLua
import LuaShim

/// Owns a Lua state: created with the standard libraries open, closed on
/// deinit (which runs every pending `__gc`, releasing Swift objects). Use it
/// from one thread. Swift functions that capture their VM strongly keep it
/// open: capture `LuaState` (or the VM weakly) instead.
public final class LuaVM {
  let L: OpaquePointer
  public var state: LuaState { LuaState(L) }

  /// A new state; `openLibraries` opens all standard libraries.
  public init(openLibraries: Bool = true) throws(LuaError) {
    _ = installBridge
    guard let L = luaL_newstate() else { throw LuaError("cannot create state: not enough memory") }
    self.L = L
    lua_atpanic(L, { L in
      // Unreachable by design (Swift calls Lua only in protected mode), but
      // for running out of memory in Swift code outside any Lua call: stop
      // rather than longjmp into nowhere.
      let message = LuaState(L!).string(at: -1) ?? "?"
      fatalError("unprotected error in call to Lua API (\(message))")
    })
    // Thrown once self.L is set, deinit runs and closes the state.
    guard kcsh_guard_allocator(L) != 0 else { throw LuaError("cannot create state: not enough memory") }
    kcsh_setowner(L, Unmanaged.passUnretained(self).toOpaque())
    if openLibraries { try state.openLibraries() }
  }

  deinit {
    kcsh_setowner(L, nil)  // __gc callbacks during close must not reach self
    kcsh_close(L)
  }

  @discardableResult
  public func run(_ code: String, name: String = "=(swift)") throws(LuaError) -> [LuaValue] {
    try state.run(code, name: name)
  }

  public func register(_ name: String, _ body: @escaping LuaFunction) {
    state.register(name, body)
  }

  /// A full garbage collection (`collectgarbage()`), running finalizers.
  /// Errors in `__gc` become warnings, as in Lua, so nothing raises.
  public func collectGarbage() {
    _ = kcsh_gc(L, LUA_GCCOLLECT, 0)
  }

  /// Generational mode with default parameters, as lua.c sets it after
  /// opening the libraries.
  public func useGenerationalGC() { kcsh_gc_generational(L) }

  /// Bytes of memory Lua uses (`collectgarbage("count")` * 1024).
  public var memoryInUse: Int {
    Int(kcsh_gc(L, LUA_GCCOUNT, 0)) * 1024 + Int(kcsh_gc(L, LUA_GCCOUNTB, 0))
  }
}
