import CLua
import LuaKit
import LuaShim

/// Tab completion, first cut: the names of the chain before the cursor
/// (`string.fo` -> `string.format`, `s:up` -> `s:upper`), read raw from
/// globals, tables and their `__index` tables. No Lua code runs.
struct Completer {
  let state: LuaState

  func complete(_ before: String) -> Completions {
    let bytes = Array(before.utf8)
    var start = bytes.count
    while start > 0, isChainByte(bytes[start - 1]) { start -= 1 }
    let chain = bytes[start...]
    var path: [String] = []
    var word = String(decoding: chain, as: UTF8.self)
    var methods = false
    if let sep = chain.lastIndex(where: { $0 == dot || $0 == colon }) {
      methods = chain[sep] == colon
      let head = chain[..<sep]
      guard !head.contains(colon) else { return Completions(word: word, candidates: []) }
      path = head.split(separator: dot, omittingEmptySubsequences: false).map {
        String(decoding: $0, as: UTF8.self)
      }
      guard path.allSatisfy({ !$0.isEmpty }) else { return Completions(word: word, candidates: []) }
      word = String(decoding: chain[(sep + 1)...], as: UTF8.self)
    }
    // Nothing typed at all: Tab does nothing rather than list every global.
    if path.isEmpty && word.isEmpty { return Completions(word: word, candidates: []) }

    let top = state.top
    defer { state.top = top }
    guard state.ensureStack(8) else { return Completions(word: word, candidates: []) }
    state.pushGlobals()
    for name in path {
      guard lookup(name) else { return Completions(word: word, candidates: []) }
    }
    var names = Set<String>()
    collect(into: &names, prefix: word, functionsOnly: methods)
    if path.isEmpty {
      names.formUnion(luaKeywords.filter { $0.hasPrefix(word) })
    }
    return Completions(word: word, candidates: names.sorted())
  }

  /// Replaces the value on top with its field `name` (raw, following
  /// `__index` tables); false when there is none.
  private func lookup(_ name: String) -> Bool {
    for _ in 0..<8 {
      if state.type(at: -1) == .table {
        if state.rawGet(-1, field: name) != .nil {
          state.remove(at: -2)
          return true
        }
        state.pop()
      }
      guard pushIndexTable() else { return false }
      state.remove(at: -2)
    }
    return false
  }

  /// Pushes `getmetatable(v).__index` for the value on top when it is a
  /// table (strings have one: the string library).
  private func pushIndexTable() -> Bool {
    guard lua_getmetatable(state.L, -1) != 0 else { return false }
    let t = state.rawGet(-1, field: "__index")
    state.remove(at: -2)
    if t == .table { return true }
    state.pop()
    return false
  }

  /// The identifier keys of the value on top and of its `__index` chain.
  private func collect(into names: inout Set<String>, prefix: String, functionsOnly: Bool) {
    let top = state.top
    defer { state.top = top }
    for _ in 0..<8 {
      if state.type(at: -1) == .table {
        let t = state.absolute(-1)
        lua_pushnil(state.L)
        while lua_next(state.L, t) != 0 {
          if (!functionsOnly || state.type(at: -1) == .function), state.type(at: -2) == .string,
            let key = state.string(at: -2), key.hasPrefix(prefix), isName(key)
          {
            names.insert(key)
          }
          state.pop()
        }
      }
      guard pushIndexTable() else { return }
    }
  }
}

private let dot = UInt8(ascii: ".")
private let colon = UInt8(ascii: ":")

private func isNameByte(_ b: UInt8) -> Bool {
  b == UInt8(ascii: "_") || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) || (b >= 0x30 && b <= 0x39)
}

private func isChainByte(_ b: UInt8) -> Bool { isNameByte(b) || b == dot || b == colon }

private func isName(_ s: String) -> Bool {
  guard let f = s.utf8.first, !(f >= 0x30 && f <= 0x39) else { return false }
  return s.utf8.allSatisfy(isNameByte)
}

private let luaKeywords = [
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
  "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
]
