import CLua
import LuaShim

/// A Swift function callable from Lua. It reads its arguments from the state
/// (indices 1...top), pushes its results and says how many; or it throws,
/// and the error is raised in Lua once the Swift frames have returned.
///
/// Throwing `LuaArgumentError` raises `bad argument #n to 'f' (...)`; a
/// `LuaError` raises its value (or message); a `LuaErrorConvertible` raises
/// the value it pushes; any other error raises its description.
public typealias LuaFunction = (LuaState) throws -> LuaResult

/// Runs when a coroutine that a Swift function yielded is resumed: the values
/// passed to `coroutine.resume` are at `base + 1 ... top`.
public typealias LuaContinuation = (LuaState, _ base: Int32) throws -> LuaResult

/// What a Swift function asks of Lua when it returns.
public enum LuaResult {
  /// Return the top `n` values. The stack must hold them (arguments count:
  /// returning an argument is fine); claiming more is a Lua error, except
  /// that one value is not checked (it costs a call, and the worst it can
  /// return is the function itself).
  case results(Int32)
  /// Yield the top `n` values; `coroutine.resume`'s arguments become the
  /// function's results.
  case yield(Int32)
  /// Yield the top `n` values; on resume, `then` runs and its result counts.
  /// If the coroutine is never resumed, `then` is released when Lua collects
  /// the coroutine.
  case yieldThen(Int32, LuaContinuation)
}

final class FunctionBox {
  let body: LuaFunction
  init(_ body: @escaping LuaFunction) { self.body = body }
}

final class ContinuationBox {
  let body: LuaContinuation
  init(_ body: @escaping LuaContinuation) { self.body = body }
}

final class ObjectBox {
  let object: AnyObject
  init(_ object: AnyObject) { self.object = object }
}

extension LuaState {
  /// Pushes `body` as a Lua function. It may capture Swift state; Lua keeps
  /// it alive until the function value is collected.
  public func push(function body: @escaping LuaFunction) {
    room(2)
    kcsh_push_swift_function(L, Unmanaged.passRetained(FunctionBox(body)).toOpaque())
  }

  /// Registers `body` as the global `name`.
  public func register(_ name: String, _ body: @escaping LuaFunction) {
    push(function: body)
    setGlobal(name)
  }

  /// Pushes `object` as a full userdata with the metatable `metatable`, which
  /// `setup` fills the first time (with the metatable on top of the stack;
  /// `__gc` is set back afterwards, as it is what releases the object). The
  /// userdata keeps the object alive until Lua collects it (or the VM closes).
  /// `metatable` must not name the metatable of another kind of userdata
  /// (such as "FILE*"): that is a programming error and stops the process.
  public func push(object: AnyObject, metatable: String, setup: (LuaState) -> Void = { _ in }) {
    room(4)
    let made = kcsh_newmetatable(L, metatable)
    precondition(made >= 0, "'\(metatable)' is the metatable of userdata that are not Swift objects")
    if made == 1 {
      let base = top
      setup(self)
      top = base
      kcsh_restore_gc(L)
    }
    pop()
    _ = kcsh_push_swift_object(L, Unmanaged.passRetained(ObjectBox(object)).toOpaque(), metatable)
  }

  /// The Swift object of a userdata pushed by `push(object:metatable:)` with
  /// that metatable, or nil.
  public func object<T: AnyObject>(at index: Int32, metatable: String, as: T.Type = T.self) -> T? {
    guard let p = kcsh_to_swift_object(L, index, metatable) else { return nil }
    return Unmanaged<ObjectBox>.fromOpaque(p).takeUnretainedValue().object as? T
  }

  // MARK: Argument checks that throw instead of raising

  public func checkInteger(_ arg: Int32) throws -> Int64 {
    if let i = integer(at: arg) { return i }
    if type(at: arg) == .number { throw LuaArgumentError(arg, "number has no integer representation") }
    throw typeError(arg, expected: "number")
  }

  public func checkNumber(_ arg: Int32) throws -> Double {
    if let d = number(at: arg) { return d }
    throw typeError(arg, expected: "number")
  }

  /// The string argument `arg`; a number is converted in place, as
  /// `luaL_checklstring` does.
  public func checkString(_ arg: Int32) throws -> String {
    if type(at: arg) == .number { _ = lua_tolstring(L, arg, nil) }
    if let s = string(at: arg) { return s }
    throw typeError(arg, expected: "string")
  }

  public func checkTable(_ arg: Int32) throws {
    if type(at: arg) != .table { throw typeError(arg, expected: "table") }
  }

  /// The Swift object of userdata argument `arg`, pushed with `metatable`.
  public func checkObject<T: AnyObject>(_ arg: Int32, metatable: String, as: T.Type = T.self) throws -> T {
    if let o = object(at: arg, metatable: metatable, as: T.self) { return o }
    throw typeError(arg, expected: metatable)
  }

  /// `luaL_typeerror`'s message: the actual type is the `__name` of its
  /// metatable when there is one.
  public func typeError(_ arg: Int32, expected: String) -> LuaArgumentError {
    let base = top
    defer { top = base }
    let idx = arg > 0 ? arg : absolute(arg)
    let actual: String
    if luaL_getmetafield(L, idx, "__name") == LUA_TSTRING, let name = string(at: -1) {
      actual = name
    } else {
      actual =
        switch type(at: idx) {
        case .lightUserdata: "light userdata"
        case .none: "no value"
        default: typeName(at: idx)
        }
    }
    return LuaArgumentError(arg, "\(expected) expected, got \(actual)")
  }
}

// MARK: The Swift side of the C trampolines

/// Turns a Swift function's outcome into a trampoline status. Results are the
/// common case and cost nothing here.
@inline(__always)
private func perform(_ state: LuaState, _ body: () throws -> LuaResult) -> Int32 {
  do {
    switch try body() {
    case .results(let n):
      return n
    case .yield(let n):
      kcsh_set_yield_count(n)
      return Int32(KCSH_YIELD)
    case .yieldThen(let n, let k):
      // The box goes below the n values: n must be on the stack.
      guard n >= 0, n <= state.top else {
        return raise(state, LuaError("Swift function yields \(n) values but pushed \(state.top)"))
      }
      state.room(1)
      kcsh_push_continuation(state.L, Unmanaged.passRetained(ContinuationBox(k)).toOpaque())
      state.insert(at: -(n + 1))
      kcsh_set_yield_count(n)
      return Int32(KCSH_YIELD_K)
    }
  } catch let error {
    return raise(state, error)
  }
}

/// Pushes the Lua value for `error` and says how the trampoline raises it.
private func raise(_ state: LuaState, _ error: any Error) -> Int32 {
  state.room(2)
  switch error {
  case let error as LuaArgumentError:
    state.push(error.message)
    kcsh_set_argerror_index(error.argument)
    return Int32(KCSH_ARGERROR)
  case let error as LuaError:
    error.push(onto: state)
  case let error as any LuaErrorConvertible:
    let before = state.top
    error.pushLuaError(onto: state)
    // Exactly one value, whatever the conformer did.
    if state.top <= before { state.push(String(describing: error)) }
    state.top = before + 1
  default:
    state.push(String(describing: error))
  }
  return Int32(KCSH_RAISE)
}

private let dispatchFunction: kcsh_dispatch_fn = { L, box in
  let state = LuaState(L!)
  // The box is alive: the closure being called holds it in an upvalue.
  return Unmanaged<FunctionBox>.fromOpaque(box!)._withUnsafeGuaranteedRef { function in
    perform(state) { try function.body(state) }
  }
}

private let resumeContinuation: kcsh_resume_fn = { L, box, base in
  let state = LuaState(L!)
  return Unmanaged<ContinuationBox>.fromOpaque(box!)._withUnsafeGuaranteedRef { k in
    perform(state) { try k.body(state, base) }
  }
}

private let releaseBox: kcsh_release_fn = { box in
  Unmanaged<AnyObject>.fromOpaque(box!).release()
}

/// Installs the trampolines' Swift callbacks; done once, before any state.
let installBridge: Void = kcsh_install(dispatchFunction, resumeContinuation, releaseBox)
