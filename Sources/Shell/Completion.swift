import LuaKit

/// Tab completion, after Neovim's `vim._expand_pat`: the names of the chain
/// before the cursor (`string.fo` -> `string.format`, `s:up` -> `s:upper`),
/// read raw from globals, tables and their `__index` tables, plus the
/// completion data of the resource tree (stdlib/kc):
///
/// - the names a metatable lists in `__complete` (a record's methods and
///   child collections, which its `__index` function makes);
/// - inside a call's table argument (`org.users:update{ro`), the fields the
///   method takes: `__params` on a record's metatable, `_params` on a
///   collection's class.
///
/// Lua runs only where the tree promises it is cheap: the first read of the
/// lazy `kc` (which fills it) and a record's listed names. Only a string
/// argument that names a record (`kc.org("`, `org.users:get("`) sends a
/// request: kc/complete.lua's, within ~300 ms, cached for the session.
struct Completer {
  let state: LuaState

  func complete(_ before: String) -> Completions {
    if let found = accountCompletion(before) { return found }
    let bytes = Array(before.utf8)
    var start = bytes.count
    while start > 0, isChainByte(bytes[start - 1]) { start -= 1 }
    let chain = bytes[start...]
    let top = state.top
    defer { state.top = top }
    guard state.ensureStack(24), let parts = split(chain) else {
      return Completions(word: String(decoding: chain, as: UTF8.self), candidates: [])
    }
    let word = parts.word
    if parts.path.isEmpty {
      let fields = parameterNames(bytes[..<start], prefix: word)
      if !fields.isEmpty { return Completions(word: word, candidates: fields) }
      // Nothing typed at all: Tab does nothing rather than list every global.
      if word.isEmpty { return Completions(word: word, candidates: []) }
    }
    var names = Set<String>()
    if walk(parts.path) { collect(into: &names, prefix: word, functionsOnly: parts.colon) }
    if parts.path.isEmpty {
      names.formUnion(luaKeywords.filter { $0.hasPrefix(word) })
    }
    return Completions(word: word, candidates: names.sorted())
  }

  /// What kc/complete.lua offers (live values, enum values, names after a
  /// call), or nil: the description knows nothing here. kc is filled first
  /// (no request); a live value is fetched within its time limit.
  private func accountCompletion(_ before: String) -> Completions? {
    let top = state.top
    defer { state.top = top }
    guard state.ensureStack(8) else { return nil }
    // Only where the description can say something: after a quote, or a call.
    guard before.contains("\"") || before.contains("'") || before.contains(")") else { return nil }
    loadKC()
    guard (try? state.load("return require('kc.complete').complete(...)", name: "=kc.complete")) != nil
    else { return nil }
    state.push(before)
    guard state.pcall(nargs: 1, nresults: 3, traceback: false).isOK, state.type(at: -3) == .table,
      let word = state.string(at: -2)
    else { return nil }
    var notes: [String: String] = [:]
    if state.type(at: -1) == .table {
      let t = state.absolute(-1)
      state.pushNil()
      while (try? state.next(t)) == true {
        if let k = state.string(at: -2), let v = state.string(at: -1) { notes[k] = v }
        state.pop()
      }
    }
    return Completions(word: word, candidates: strings(at: top + 1), notes: notes)
  }

  /// `a.b:c` -> (["a", "b"], "c", colon); nil when malformed (`a..b`,
  /// `a:b.c`).
  private func split(_ chain: ArraySlice<UInt8>) -> (path: [String], word: String, colon: Bool)? {
    guard let sep = chain.lastIndex(where: { $0 == dot || $0 == colon }) else {
      return ([], String(decoding: chain, as: UTF8.self), false)
    }
    let head = chain[..<sep]
    guard !head.contains(colon) else { return nil }
    let path = head.split(separator: dot, omittingEmptySubsequences: false).map {
      String(decoding: $0, as: UTF8.self)
    }
    guard path.allSatisfy({ !$0.isEmpty }) else { return nil }
    return (path, String(decoding: chain[(sep + 1)...], as: UTF8.self), chain[sep] == colon)
  }

  /// Pushes the value at `path` from the globals (filling the lazy `kc`
  /// first when the path starts there); false when a name is missing.
  private func walk(_ path: [String]) -> Bool {
    state.pushGlobals()
    if path.first == "kc" { loadKC() }
    for name in path {
      guard lookup(name) else { return false }
    }
    return true
  }

  /// Reads the lazy `kc` once, so that its fields exist: KCModule fills it
  /// (the tree and help, no client, no request) on the first read.
  private func loadKC() {
    let top = state.top
    defer { state.top = top }
    guard state.getGlobal("kc") == .table, state.pushMetatable(at: -1),
      state.rawGet(-1, field: "__name") == .string, state.string(at: -1) == "kc",
      state.rawGet(-2, field: "__index") == .function
    else { return }
    _ = try? state.getField(top + 1, "null")
  }

  /// Replaces the value on top with its field `name` (raw, following
  /// `__index` tables, or through `__index` for a name the metatable lists
  /// in `__complete`); false when there is none.
  private func lookup(_ name: String) -> Bool {
    for _ in 0..<8 {
      if state.type(at: -1) == .table {
        if state.rawGet(-1, field: name) != .nil {
          state.remove(at: -2)
          return true
        }
        state.pop()
      }
      if listed(-1).contains(name) {
        guard (try? state.getField(-1, name)) != nil else { return false }
        state.remove(at: -2)
        return state.type(at: -1) != .nil
      }
      guard pushIndexTable() else { return false }
      state.remove(at: -2)
    }
    return false
  }

  /// Pushes `getmetatable(v).__index` for the value on top when it is a
  /// table (strings have one: the string library).
  private func pushIndexTable() -> Bool {
    guard state.pushMetatable(at: -1) else { return false }
    let t = state.rawGet(-1, field: "__index")
    state.remove(at: -2)
    if t == .table { return true }
    state.pop()
    return false
  }

  /// The names the metatable of the value at `index` lists in `__complete`.
  private func listed(_ index: Int32) -> [String] {
    let top = state.top
    defer { state.top = top }
    guard state.pushMetatable(at: index), state.rawGet(-1, field: "__complete") == .table
    else { return [] }
    return strings(at: -1)
  }

  /// The strings `t[1]`, `t[2]`… of the table at `index`, up to the first
  /// non-string.
  private func strings(at index: Int32) -> [String] {
    let t = state.absolute(index)
    var out: [String] = []
    var i: Int64 = 1
    while state.rawGet(t, i) == .string, let s = state.string(at: -1) {
      out.append(s)
      state.pop()
      i += 1
    }
    state.pop()
    return out
  }

  /// The identifier keys of the value on top, of its `__index` chain and of
  /// its `__complete` list. Names starting with `_` only when the prefix
  /// does.
  private func collect(into names: inout Set<String>, prefix: String, functionsOnly: Bool) {
    let value = state.absolute(-1)
    let top = state.top
    defer { state.top = top }
    let hidden = !prefix.hasPrefix("_")
    func wanted(_ key: String) -> Bool {
      key.hasPrefix(prefix) && isLuaName(key.utf8) && !(hidden && key.hasPrefix("_"))
    }
    for name in listed(value) where wanted(name) {
      if !functionsOnly || fieldType(value, name) == .function { names.insert(name) }
    }
    for _ in 0..<8 {
      if state.type(at: -1) == .table {
        let t = state.absolute(-1)
        state.pushNil()
        while (try? state.next(t)) == true {
          if (!functionsOnly || state.type(at: -1) == .function), state.type(at: -2) == .string,
            let key = state.string(at: -2), wanted(key)
          {
            names.insert(key)
          }
          state.pop()
        }
      }
      guard pushIndexTable() else { return }
    }
  }

  /// The type of `v[name]` for the value at `index`, read through `__index`
  /// (nil when that fails).
  private func fieldType(_ index: Int32, _ name: String) -> LuaType {
    let top = state.top
    defer { state.top = top }
    return (try? state.getField(index, name)) ?? .nil
  }

  /// Inside a call's table argument (`m{ro`, `m({ro`, `m(id, {a = 1, ro`):
  /// the fields method `m` takes that start with `prefix`, from `__params`
  /// on the metatable of the value it is called on, or `_params` along its
  /// `__index` chain. `text` is what comes before the word.
  private func parameterNames(_ text: ArraySlice<UInt8>, prefix: String) -> [String] {
    guard let j = lastNonBlank(text, before: text.endIndex),
      text[j] == lbrace || text[j] == comma,
      let brace = opener(text[...j]), text[brace] == lbrace
    else { return [] }
    var call = brace
    if let k = lastNonBlank(text, before: brace), text[k] == lparen || text[k] == comma {
      guard let paren = opener(text[...k]), text[paren] == lparen else { return [] }
      call = paren
    }
    guard let end = lastNonBlank(text, before: call) else { return [] }
    var start = end + 1
    while start > text.startIndex, isChainByte(text[start - 1]) { start -= 1 }
    guard let parts = split(text[start..<(end + 1)]), !parts.path.isEmpty, walk(parts.path) else {
      return []
    }
    guard pushParams(), state.rawGet(-1, field: parts.word) == .table else { return [] }
    let given = givenFields(text[(brace + 1)...])
    return strings(at: -1).filter { $0.hasPrefix(prefix) && !given.contains($0) }
  }

  /// Pushes the parameter table for the value on top: its metatable's
  /// `__params` (records) or `_params` through `__index` (collections).
  private func pushParams() -> Bool {
    if state.pushMetatable(at: -1) {
      if state.rawGet(-1, field: "__params") == .table { return true }
      state.pop(2)
    }
    return lookup("_params") && state.type(at: -1) == .table
  }
}

/// The names given a value (`name =`) at the top level of a table
/// constructor, from what follows its brace.
private func givenFields(_ text: ArraySlice<UInt8>) -> Set<String> {
  var names = Set<String>()
  var depth = 0
  for i in text.indices {
    switch text[i] {
    case lparen, lbrace, UInt8(ascii: "["): depth += 1
    case UInt8(ascii: ")"), UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
    case UInt8(ascii: "=") where depth == 0:
      guard i + 1 == text.endIndex || text[i + 1] != UInt8(ascii: "="),
        let end = lastNonBlank(text, before: i), isLuaNameByte(text[end])
      else { continue }
      var start = end
      while start > text.startIndex, isLuaNameByte(text[start - 1]) { start -= 1 }
      names.insert(String(decoding: text[start...end], as: UTF8.self))
    default: break
    }
  }
  return names
}

/// The index of the last byte before `end` that is not a blank.
private func lastNonBlank(_ text: ArraySlice<UInt8>, before end: Int) -> Int? {
  text[..<end].lastIndex { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
}

/// The index of the last bracket in `text` left open (strings are not
/// skipped: a bracket inside one can mislead it).
private func opener(_ text: ArraySlice<UInt8>) -> Int? {
  var depth = 0
  for i in text.indices.reversed() {
    switch text[i] {
    case UInt8(ascii: ")"), UInt8(ascii: "}"), UInt8(ascii: "]"): depth += 1
    case lparen, lbrace, UInt8(ascii: "["):
      if depth == 0 { return i }
      depth -= 1
    default: break
    }
  }
  return nil
}

private let dot = UInt8(ascii: ".")
private let colon = UInt8(ascii: ":")
private let comma = UInt8(ascii: ",")
private let lparen = UInt8(ascii: "(")
private let lbrace = UInt8(ascii: "{")

private func isChainByte(_ b: UInt8) -> Bool { isLuaNameByte(b) || b == dot || b == colon }
