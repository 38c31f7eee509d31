import CLua
import LuaShim

extension LuaState {
  /// One step of a raw traversal (`next`) of the table at `index`, with the
  /// previous key on top (nil to start): pops the key and pushes the next
  /// key and value, returning true, or pushes nothing and returns false at
  /// the end. A key that is not in the table (lua_next raises "invalid key
  /// to 'next'") is thrown instead, the key popped.
  ///
  ///     state.pushNil()
  ///     while try state.next(t) { ...; state.pop() }  // keep the key
  public func next(_ index: Int32) throws(LuaError) -> Bool {
    room(3)
    try check(kcsh_pnext(L, index))
    if type(at: -2) != .nil { return true }
    pop(2)  // nil, nil: the end
    return false
  }
}
