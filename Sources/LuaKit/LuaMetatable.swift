import CLua

extension LuaState {
  /// Pushes the metatable of the value at `index` and returns true, or
  /// pushes nothing and returns false when it has none. Raw: `__metatable`
  /// does not hide it (this is `lua_getmetatable`, not `getmetatable`).
  @discardableResult
  public func pushMetatable(at index: Int32) -> Bool {
    room(1)
    return lua_getmetatable(L, index) != 0
  }

  /// Pops the table (or nil) on top and makes it the metatable of the table
  /// or userdata at `index`. Raw, like `lua_setmetatable`: a protected
  /// metatable (`__metatable`) is replaced all the same.
  public func setMetatable(_ index: Int32) {
    precondition(type(at: -1) == .table || type(at: -1) == .nil, "a metatable must be a table or nil")
    lua_setmetatable(L, index)
  }
}
