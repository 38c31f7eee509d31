import CLua
import LuaShim

/// A view of one Lua thread's stack: the main state or a coroutine. It owns
/// nothing; `LuaVM` owns the state. Every method here either cannot raise a Lua
/// error or runs the raising part under `lua_pcall` and throws `LuaError`.
///
/// Running out of memory is the one error any allocating call can raise. A
/// `LuaVM` guards its allocator: while Swift frames are unprotected (inside a
/// Swift function, outside the protected calls it makes) a failed allocation
/// stops the process, as it would in Swift, rather than longjmp over them;
/// in Lua code it is the usual catchable "not enough memory".
///
/// Pushing methods make room on the stack themselves (a Swift function starts
/// with `LUA_MINSTACK`, 20, free slots), and stop the process rather than
/// write past the stack if it cannot grow (over a million slots).
///
/// The raw `lua_State` is internal: code outside LuaKit cannot make a call
/// that raises, because it cannot make a call at all except through here.
public struct LuaState {
  let L: OpaquePointer

  init(_ L: OpaquePointer) { self.L = L }

  /// The VM that owns this state (nil only while it is being closed).
  public var vm: LuaVM? {
    guard let p = kcsh_getowner(L) else { return nil }
    return Unmanaged<LuaVM>.fromOpaque(p).takeUnretainedValue()
  }

  // MARK: Stack

  public var top: Int32 {
    get { lua_gettop(L) }
    nonmutating set { lua_settop(L, newValue) }
  }

  public func pop(_ n: Int32 = 1) { kcsh_pop(L, n) }
  public func absolute(_ index: Int32) -> Int32 { lua_absindex(L, index) }
  public func type(at index: Int32) -> LuaType { LuaType(rawValue: lua_type(L, index)) ?? .none }
  public func typeName(at index: Int32) -> String { String(cString: lua_typename(L, lua_type(L, index))) }
  public func pushValue(at index: Int32) {
    room(1)
    lua_pushvalue(L, index)
  }
  public func insert(at index: Int32) { kcsh_insert(L, index) }
  public func remove(at index: Int32) { kcsh_remove(L, index) }

  /// Makes room for `n` more values; false when the stack cannot grow.
  @discardableResult
  public func ensureStack(_ n: Int32) -> Bool { lua_checkstack(L, n) != 0 }

  /// Room for `n` more values, or a clean stop: writing past the stack would
  /// corrupt memory, and the stack only refuses to grow past a million slots.
  @inline(__always)
  func room(_ n: Int32) {
    if lua_checkstack(L, n) == 0 { fatalError("Lua stack overflow (cannot grow the stack by \(n))") }
  }

  // MARK: Pushing

  public func pushNil() {
    room(1)
    lua_pushnil(L)
  }
  public func push(_ b: Bool) {
    room(1)
    lua_pushboolean(L, b ? 1 : 0)
  }
  public func push(_ i: Int64) {
    room(1)
    lua_pushinteger(L, i)
  }
  public func push(_ i: Int) { push(Int64(i)) }
  public func push(_ d: Double) {
    room(1)
    lua_pushnumber(L, d)
  }
  /// Pushes the UTF-8 bytes of `s`.
  public func push(_ s: String) {
    var s = s
    s.withUTF8 { push(bytes: UnsafeRawBufferPointer($0)) }
  }
  public func push(_ s: LuaString) { push(bytes: s.bytes) }
  public func push(bytes: [UInt8]) { bytes.withUnsafeBytes { push(bytes: $0) } }
  public func push(bytes: UnsafeRawBufferPointer) {
    room(1)
    _ = lua_pushlstring(L, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
  }
  /// Pushes a light userdata: a bare pointer, for a C function to read
  /// (a buffer it decodes, say). Lua neither owns nor checks it.
  public func push(lightUserdata p: UnsafeMutableRawPointer?) {
    room(1)
    lua_pushlightuserdata(L, p)
  }

  /// Pushes a C function (no upvalues; this cannot raise). It runs under
  /// Lua's rules, so it may raise: call it with `call(nargs:nresults:)`,
  /// which is protected, as for any Lua function.
  public func push(cFunction f: lua_CFunction) {
    room(1)
    kcsh_pushcfunction(L, f)
  }

  /// Pushes the value `ref` holds; nil if it belongs to another (or a
  /// closed) VM, whose registry slot would mean something else here.
  public func push(_ ref: LuaRef) {
    room(1)
    guard let owner = ref.vm, owner.L == vm?.L else { return lua_pushnil(L) }
    lua_rawgeti(L, kcsh_registryindex(), Int64(ref.ref))
  }

  /// Pushes a Lua value for a Swift one (tables become new tables; references
  /// push the value they hold).
  public func push(_ value: LuaValue) {
    switch value {
    case .nil: pushNil()
    case .boolean(let b): push(b)
    case .integer(let i): push(i)
    case .number(let d): push(d)
    case .string(let s): push(bytes: s.bytes)
    case .table(let t):
      room(3)
      lua_createtable(L, Int32(clamping: t.array.count), Int32(clamping: t.hash.count))
      for (i, v) in t.array.enumerated() {
        push(v)
        lua_rawseti(L, -2, Int64(i + 1))
      }
      // Keys Lua rejects (nil, NaN) are skipped: lua_rawset would raise.
      for (k, v) in t.hash where !k.isNil && !v.isNil {
        if case .number(let d) = k, d.isNaN { continue }
        push(k)
        push(v)
        lua_rawset(L, -3)
      }
    case .reference(let r): push(r)
    }
  }

  public func newTable(array: Int32 = 0, hash: Int32 = 0) {
    room(1)
    lua_createtable(L, array, hash)
  }

  // MARK: Reading

  public func boolean(at index: Int32) -> Bool { lua_toboolean(L, index) != 0 }

  /// The integer at `index`, or nil when it is not a number with an exact
  /// integer value (strings are not converted).
  public func integer(at index: Int32) -> Int64? {
    guard lua_type(L, index) == LUA_TNUMBER else { return nil }
    var ok: Int32 = 0
    let i = kcsh_tointeger(L, index, &ok)
    return ok != 0 ? i : nil
  }

  /// True when the value at `index` is a number of subtype integer (what
  /// `math.type` calls "integer").
  public func isInteger(at index: Int32) -> Bool { lua_isinteger(L, index) != 0 }

  /// The number at `index` (strings are not converted).
  public func number(at index: Int32) -> Double? {
    lua_type(L, index) == LUA_TNUMBER ? lua_tonumberx(L, index, nil) : nil
  }

  /// The string at `index` as text (bytes decoded as UTF-8, invalid sequences
  /// replaced); nil unless it is a string (numbers are not converted, so the
  /// stack is not changed).
  public func string(at index: Int32) -> String? {
    withBytes(at: index) { String(decoding: $0, as: UTF8.self) }
  }

  /// The string at `index` as bytes.
  public func bytes(at index: Int32) -> [UInt8]? { withBytes(at: index) { Array($0) } }

  /// `lua_tolstring` without changing the stack: the bytes of a string, or
  /// of a number as Lua writes it (`%.14g`, integers in full); nil for any
  /// other type. No metamethod runs.
  public func convertedBytes(at index: Int32) -> [UInt8]? {
    guard type(at: index) == .number else { return bytes(at: index) }
    pushValue(at: index)  // lua_tolstring converts in place: a copy
    defer { pop() }
    var len = 0
    guard let p = lua_tolstring(L, -1, &len) else { return nil }
    return Array(UnsafeRawBufferPointer(start: p, count: len))
  }

  /// The address of the value at `index` (`lua_topointer`): its identity
  /// for tables, functions, userdata, threads and strings, while it lives;
  /// a light userdata's own pointer; nil for nil, booleans and numbers.
  public func pointer(at index: Int32) -> UnsafeRawPointer? { lua_topointer(L, index) }

  /// Calls `body` with the bytes of the string at `index`, without copying.
  /// The buffer is valid only during the call.
  public func withBytes<R>(at index: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
    guard lua_type(L, index) == LUA_TSTRING else { return nil }
    var len = 0
    guard let p = lua_tolstring(L, index, &len) else { return nil }
    return try p.withMemoryRebound(to: UInt8.self, capacity: len) {
      try body(UnsafeBufferPointer(start: $0, count: len))
    }
  }

  /// The length of the value at `index` without metamethods (`rawlen`).
  public func rawLength(at index: Int32) -> Int { Int(lua_rawlen(L, index)) }

  /// A reference that keeps the value at `index` alive (in the registry) until
  /// the `LuaRef` is released. Nil for nil.
  public func ref(at index: Int32) -> LuaRef? {
    let t = type(at: index)
    guard t != .nil, t != .none else { return nil }
    pushValue(at: index)
    return LuaRef(ref: luaL_ref(L, kcsh_registryindex()), vm: vm, type: t)
  }

  /// Tables nested deeper than this are not copied (an error): the copy
  /// recurses, and a script could otherwise exhaust the thread's stack.
  public static let maxTableDepth = 1000

  /// A Swift copy of the value at `index`. Tables are copied deeply (raw
  /// access, no metamethods, so nothing can raise); a table that contains
  /// itself, or tables nested deeper than `maxTableDepth`, are an error.
  /// Functions, userdata and threads become references.
  public func value(at index: Int32) throws(LuaError) -> LuaValue {
    var path: Set<UnsafeRawPointer> = []
    return try value(at: absolute(index), path: &path)
  }

  private func value(at index: Int32, path: inout Set<UnsafeRawPointer>) throws(LuaError) -> LuaValue {
    switch type(at: index) {
    case .none, .nil: return .nil
    case .boolean: return .boolean(boolean(at: index))
    case .number:
      if lua_isinteger(L, index) != 0 { return .integer(lua_tointegerx(L, index, nil)) }
      return .number(lua_tonumberx(L, index, nil))
    case .string: return .string(LuaString(bytes: bytes(at: index) ?? []))
    case .table:
      guard let p = lua_topointer(L, index), path.insert(p).inserted else {
        throw LuaError("cannot copy a table that contains itself")
      }
      guard path.count <= Self.maxTableDepth else {
        path.remove(p)
        throw LuaError("cannot copy a table nested more than \(Self.maxTableDepth) levels deep")
      }
      defer { path.remove(p) }
      guard ensureStack(3) else { throw LuaError("stack overflow (table nested too deeply)") }
      var table = LuaTable()
      let n = lua_rawlen(L, index)
      var i: Int64 = 1
      while i <= n {
        defer { pop() }  // the value rawgeti pushed, nil included
        if lua_rawgeti(L, index, i) == LUA_TNIL { break }
        table.array.append(try value(at: top, path: &path))
        i += 1
      }
      let count = Int64(table.array.count)
      lua_pushnil(L)
      while lua_next(L, index) != 0 {
        defer { pop() }
        if lua_isinteger(L, -2) != 0 {
          let k = lua_tointegerx(L, -2, nil)
          if k >= 1, k <= count { continue }
        }
        let key = try value(at: top - 1, path: &path)
        table.hash[key] = try value(at: top, path: &path)
      }
      return .table(table)
    case .function, .userdata, .lightUserdata, .thread:
      return ref(at: index).map { .reference($0) } ?? .nil
    }
  }

  // MARK: Tables and globals

  /// `t[field] = v` without metamethods, for the table at `index` and v on
  /// top; pops v.
  public func rawSet(_ index: Int32, field: String) {
    let t = absolute(index)
    push(field)
    insert(at: -2)
    lua_rawset(L, t)
  }

  /// `t[field] = text` without metamethods, for the table on top of the
  /// stack; nil leaves the field absent (as JSON null does in decoded answers).
  public func rawSet(field: String, _ text: String?) {
    guard let text else { return }
    push(text)
    rawSet(-2, field: field)
  }

  /// `t[field] = n` without metamethods, for the table on top of the stack;
  /// nil leaves the field absent.
  public func rawSet(field: String, _ n: Int?) {
    guard let n else { return }
    push(n)
    rawSet(-2, field: field)
  }

  /// Pushes `t[field]` without metamethods and returns its type.
  @discardableResult
  public func rawGet(_ index: Int32, field: String) -> LuaType {
    let t = absolute(index)
    push(field)
    return LuaType(rawValue: lua_rawget(L, t)) ?? .nil
  }

  /// Replaces the key on top with `t[key]` without metamethods, for the
  /// table at `index`, and returns its type.
  @discardableResult
  public func rawGet(_ index: Int32) -> LuaType {
    LuaType(rawValue: lua_rawget(L, index)) ?? .nil
  }

  /// `t[i] = v` without metamethods, for the table at `index` and v on top;
  /// pops v.
  public func rawSet(_ index: Int32, _ i: Int64) { lua_rawseti(L, index, i) }

  /// Pushes `t[i]` without metamethods and returns its type.
  @discardableResult
  public func rawGet(_ index: Int32, _ i: Int64) -> LuaType {
    room(1)
    return LuaType(rawValue: lua_rawgeti(L, index, i)) ?? .nil
  }

  /// Pushes `t[field]` for the value at `index`, honouring `__index`, and
  /// returns its type; errors (from a metamethod, or indexing a non-table)
  /// are thrown and push nothing.
  @discardableResult
  public func getField(_ index: Int32, _ field: String) throws(LuaError) -> LuaType {
    let t = absolute(index)
    room(4)
    push(field)
    try getTable(t)
    return type(at: -1)
  }

  /// `t[field] = v` for the value at `index` and v on top, honouring
  /// `__newindex`; pops v, also when it throws.
  public func setField(_ index: Int32, _ field: String) throws(LuaError) {
    let t = absolute(index)
    room(5)
    push(field)
    insert(at: -2)
    try setTable(t)
  }

  /// `t[k]` with metamethods, for the value at `index` and k on top
  /// (replaced by the value; popped on error).
  public func getTable(_ index: Int32) throws(LuaError) {
    room(3)
    try check(kcsh_pgettable(L, index))
  }

  /// `t[k] = v` with metamethods, for the value at `index`; pops k and v.
  public func setTable(_ index: Int32) throws(LuaError) {
    room(3)
    try check(kcsh_psettable(L, index))
  }

  public func pushGlobals() {
    room(1)
    lua_rawgeti(L, kcsh_registryindex(), Int64(LUA_RIDX_GLOBALS))
  }

  /// Pops the top value into `registry[name]` (the registry has no
  /// metatable: a plain set). For flags the standard libraries read, such
  /// as `LUA_NOENV`.
  public func setRegistryField(_ name: String) {
    pushRegistry()
    insert(at: -2)
    rawSet(-2, field: name)
    pop()
  }

  private func pushRegistry() {
    room(1)
    lua_pushvalue(L, kcsh_registryindex())
  }

  /// Pushes the global `name` (raw access to the globals table).
  @discardableResult
  public func getGlobal(_ name: String) -> LuaType {
    pushGlobals()
    let t = rawGet(-1, field: name)
    remove(at: -2)
    return t
  }

  /// Pops the top value into the global `name`.
  public func setGlobal(_ name: String) {
    pushGlobals()
    insert(at: -2)
    rawSet(-2, field: name)
    pop()
  }

  /// `tostring(v)` for the value at `index`, honouring `__tostring` and
  /// `__name`; errors in `__tostring` are thrown.
  public func toString(at index: Int32) throws(LuaError) -> String {
    room(3)
    try check(kcsh_ptolstring(L, index))
    defer { pop() }
    return string(at: -1) ?? ""
  }

  // MARK: Loading and calling

  /// Compiles `code` and pushes the chunk as a function.
  public func load(_ code: [UInt8], name: String, mode: String = "bt") throws(LuaError) {
    room(1)
    let status = code.withUnsafeBytes { buf in
      luaL_loadbufferx(L, buf.baseAddress?.assumingMemoryBound(to: CChar.self), buf.count, name, mode)
    }
    try check(status)
  }

  public func load(_ code: String, name: String, mode: String = "bt") throws(LuaError) {
    try load(Array(code.utf8), name: name, mode: mode)
  }

  /// Calls the function below the top `nargs` values in protected mode,
  /// leaving `nresults` results (or all, with LUA_MULTRET). On error the
  /// stack is as before the function was pushed, and the error carries the
  /// traceback and the original error value.
  public func call(nargs: Int32, nresults: Int32 = LUA_MULTRET) throws(LuaError) {
    room(1)
    try check(kcsh_pcall_traceback(L, nargs, nresults), traceback: true)
  }

  /// Calls `function` (a function value, or anything with `__call`) with
  /// `args` in protected mode and returns its results as Swift values.
  @discardableResult
  public func call(_ function: LuaValue, _ args: [LuaValue] = []) throws(LuaError) -> [LuaValue] {
    let base = top
    room(Int32(clamping: args.count) + 1)
    push(function)
    for a in args { push(a) }
    try call(nargs: Int32(clamping: args.count))
    defer { top = base }
    return try values(from: base + 1)
  }

  /// Calls the function `ref` holds with `args`; see `call(_:_:)`.
  @discardableResult
  public func call(_ function: LuaRef, _ args: [LuaValue] = []) throws(LuaError) -> [LuaValue] {
    try call(.reference(function), args)
  }

  /// Runs `code` and returns its results.
  @discardableResult
  public func run(_ code: String, name: String = "=(swift)") throws(LuaError) -> [LuaValue] {
    let base = top
    try load(code, name: name)
    try call(nargs: 0)
    defer { top = base }
    return try values(from: base + 1)
  }

  /// Swift copies of the values from `index` to the top.
  public func values(from index: Int32) throws(LuaError) -> [LuaValue] {
    var results: [LuaValue] = []
    var i = index
    while i <= top {
      results.append(try value(at: i))
      i += 1
    }
    return results
  }

  /// Turns a Lua status into a thrown error, popping the error value.
  func check(_ status: Int32, traceback: Bool = false) throws(LuaError) {
    guard status != LUA_OK else { return }
    defer { pop() }
    let text = string(at: -1) ?? "(error object is a \(typeName(at: -1)) value)"
    guard traceback else {
      throw LuaError(text, value: (try? value(at: -1)) ?? .nil, original: original(at: -1))
    }
    // The message handler kept the value that was raised; nil when it did
    // not run (out of memory, or an error in the handler itself).
    let kept = kcsh_push_last_error(L) != 0
    defer { pop() }
    let raised: Int32 = kept ? -1 : -2
    let value = (try? self.value(at: raised)) ?? .nil
    let message: String
    if let m = value.text {
      message = m
    } else {
      message = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? text
    }
    throw LuaError(message, traceback: text, value: value, original: original(at: raised))
  }

  /// A reference to an error value that a copy would not reproduce (a table
  /// loses its metatable and identity), so rethrowing it raises the original.
  func original(at index: Int32) -> LuaRef? {
    switch type(at: index) {
    case .table, .userdata, .function, .thread, .lightUserdata: ref(at: index)
    default: nil
    }
  }
}
