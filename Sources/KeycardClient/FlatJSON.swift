/// Reads the top-level scalar fields of a JSON object: all the client itself
/// needs (error bodies, token answers). Nested values are skipped. Response
/// bodies meant for scripts are decoded by LuaJSON, straight into Lua.
struct FlatJSON {
  enum Scalar: Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
  }

  private(set) var fields: [String: Scalar] = [:]

  /// nil when `bytes` is not a JSON object.
  init?(_ bytes: [UInt8]) {
    var r = Reader(bytes: bytes)
    r.ws()
    guard r.eat(UInt8(ascii: "{")) else { return nil }
    r.ws()
    if r.eat(UInt8(ascii: "}")) { return }
    while true {
      r.ws()
      guard let key = r.string() else { return nil }
      r.ws()
      guard r.eat(UInt8(ascii: ":")) else { return nil }
      r.ws()
      guard let value = r.value(depth: 0) else { return nil }
      if let value { fields[key] = value }
      r.ws()
      if r.eat(UInt8(ascii: ",")) { continue }
      if r.eat(UInt8(ascii: "}")) { return }
      return nil
    }
  }

  func string(_ key: String) -> String? {
    if case .string(let s) = fields[key] { return s }
    return nil
  }

  func number(_ key: String) -> Double? {
    if case .number(let d) = fields[key] { return d }
    return nil
  }

  private struct Reader {
    let bytes: [UInt8]
    var i = 0

    mutating func ws() {
      while i < bytes.count, [32, 9, 10, 13].contains(bytes[i]) { i += 1 }
    }

    mutating func eat(_ c: UInt8) -> Bool {
      if i < bytes.count, bytes[i] == c {
        i += 1
        return true
      }
      return false
    }

    mutating func string() -> String? {
      guard eat(UInt8(ascii: "\"")) else { return nil }
      var out: [UInt8] = []
      while i < bytes.count {
        let c = bytes[i]
        i += 1
        if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
        if c != UInt8(ascii: "\\") {
          out.append(c)
          continue
        }
        guard i < bytes.count else { return nil }
        let e = bytes[i]
        i += 1
        switch e {
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "t"): out.append(9)
        case UInt8(ascii: "r"): out.append(13)
        case UInt8(ascii: "b"): out.append(8)
        case UInt8(ascii: "f"): out.append(12)
        case UInt8(ascii: "u"):
          guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16)
          else { return nil }
          i += 4
          // Lone surrogates become U+FFFD: good enough for messages.
          out.append(contentsOf: Array(String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}").utf8))
        default: out.append(e)
        }
      }
      return nil
    }

    /// .some(nil) for a nested value that was skipped.
    mutating func value(depth: Int) -> Scalar?? {
      guard i < bytes.count, depth < 64 else { return nil }
      switch bytes[i] {
      case UInt8(ascii: "\""): return string().map { .some(.string($0)) }
      case UInt8(ascii: "t"): return word("true") ? .some(.bool(true)) : nil
      case UInt8(ascii: "f"): return word("false") ? .some(.bool(false)) : nil
      case UInt8(ascii: "n"): return word("null") ? .some(.null) : nil
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        let close = bytes[i] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
        let object = close == UInt8(ascii: "}")
        i += 1
        ws()
        if eat(close) { return .some(nil) }
        while true {
          ws()
          if object {
            guard string() != nil else { return nil }
            ws()
            guard eat(UInt8(ascii: ":")) else { return nil }
            ws()
          }
          guard value(depth: depth + 1) != nil else { return nil }
          ws()
          if eat(UInt8(ascii: ",")) { continue }
          if eat(close) { return .some(nil) }
          return nil
        }
      default:
        let start = i
        while i < bytes.count, "+-.0123456789eE".utf8.contains(bytes[i]) { i += 1 }
        guard let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { return nil }
        return .some(.number(d))
      }
    }

    mutating func word(_ w: String) -> Bool {
      let u = Array(w.utf8)
      guard i + u.count <= bytes.count, Array(bytes[i..<i + u.count]) == u else { return false }
      i += u.count
      return true
    }
  }
}
