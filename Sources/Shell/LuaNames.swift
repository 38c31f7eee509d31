/// Lua's reserved words and its rule for names, shared by the printer (which
/// keys print bare, `{a = 1}` against `{["end"] = 1}`) and completion (which
/// keys can follow a dot).
let luaKeywords = [
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
  "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
]

private let keywordBytes = Set(luaKeywords.map { Array($0.utf8) })

/// A byte that may appear in a Lua name: an ASCII letter, digit or `_`.
func isLuaNameByte(_ b: UInt8) -> Bool {
  b == UInt8(ascii: "_") || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) || (b >= 0x30 && b <= 0x39)
}

/// Whether `s` is a Lua name: name bytes, not starting with a digit, and
/// not a reserved word.
func isLuaName(_ s: some Collection<UInt8>) -> Bool {
  guard let first = s.first, !(first >= 0x30 && first <= 0x39), s.allSatisfy(isLuaNameByte) else { return false }
  return !keywordBytes.contains(Array(s))
}
