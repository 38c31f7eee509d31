// A small JSON reader and writer. Request bodies are decoded by hand so that every
// type mistake becomes a precise 4xx (never a crash), and responses are written
// straight into bytes because list pages are the hot path of the benchmarks.

/// A parsed JSON value. Objects keep a dictionary: the sandbox only looks fields up.
public enum JSON: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSON])
  case object([String: JSON])

  var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "boolean"
    case .number: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
  }

  public subscript(key: String) -> JSON? {
    if case .object(let o) = self { return o[key] }
    return nil
  }

  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }
}

public struct JSONParseError: Error, Sendable {
  public let message: String
}

/// Strict RFC 8259 parser with a depth limit, so hostile input cannot exhaust the stack.
public struct JSONParser {
  private let bytes: [UInt8]
  private var i = 0
  private var depth = 0
  static let maxDepth = 64

  public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSON {
    var p = JSONParser(bytes: bytes)
    p.skipWS()
    let v = try p.value()
    p.skipWS()
    if p.i != bytes.count { throw p.fail("unexpected data after the JSON value") }
    return v
  }

  private init(bytes: [UInt8]) { self.bytes = bytes }

  private func fail(_ what: String) -> JSONParseError {
    JSONParseError(message: "malformed JSON at byte \(i): \(what)")
  }

  private mutating func skipWS() {
    while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 {
      i += 1
    }
  }

  private mutating func value() throws(JSONParseError) -> JSON {
    guard i < bytes.count else { throw fail("unexpected end of input") }
    switch bytes[i] {
    case UInt8(ascii: "{"): return try object()
    case UInt8(ascii: "["): return try array()
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw fail("unexpected character")
    }
  }

  private mutating func literal(_ word: String) throws(JSONParseError) {
    let w = Array(word.utf8)
    guard i + w.count <= bytes.count else { throw fail("unexpected end of input") }
    for k in 0..<w.count where bytes[i + k] != w[k] { throw fail("invalid literal") }
    i += w.count
  }

  private mutating func enter() throws(JSONParseError) {
    depth += 1
    if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth)") }
  }

  private mutating func object() throws(JSONParseError) -> JSON {
    try enter()
    i += 1
    var out: [String: JSON] = [:]
    skipWS()
    if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
      i += 1; depth -= 1
      return .object(out)
    }
    while true {
      skipWS()
      guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
      let k = try string()
      skipWS()
      guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
      i += 1
      skipWS()
      out[k] = try value()
      skipWS()
      guard i < bytes.count else { throw fail("unexpected end of input") }
      if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
      if bytes[i] == UInt8(ascii: "}") { i += 1; break }
      throw fail("expected ',' or '}'")
    }
    depth -= 1
    return .object(out)
  }

  private mutating func array() throws(JSONParseError) -> JSON {
    try enter()
    i += 1
    var out: [JSON] = []
    skipWS()
    if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
      i += 1; depth -= 1
      return .array(out)
    }
    while true {
      skipWS()
      out.append(try value())
      skipWS()
      guard i < bytes.count else { throw fail("unexpected end of input") }
      if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
      if bytes[i] == UInt8(ascii: "]") { i += 1; break }
      throw fail("expected ',' or ']'")
    }
    depth -= 1
    return .array(out)
  }

  private mutating func hex4() throws(JSONParseError) -> UInt32 {
    guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[i]
      let d: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
      default: throw fail("bad \\u escape")
      }
      v = v << 4 | d
      i += 1
    }
    return v
  }

  private mutating func string() throws(JSONParseError) -> String {
    i += 1
    var buf: [UInt8] = []
    while true {
      guard i < bytes.count else { throw fail("unterminated string") }
      let c = bytes[i]
      if c == UInt8(ascii: "\"") { i += 1; break }
      if c < 0x20 { throw fail("control character in string") }
      if c != UInt8(ascii: "\\") { buf.append(c); i += 1; continue }
      i += 1
      guard i < bytes.count else { throw fail("unterminated escape") }
      let e = bytes[i]
      i += 1
      switch e {
      case UInt8(ascii: "\""): buf.append(0x22)
      case UInt8(ascii: "\\"): buf.append(0x5C)
      case UInt8(ascii: "/"): buf.append(0x2F)
      case UInt8(ascii: "b"): buf.append(0x08)
      case UInt8(ascii: "f"): buf.append(0x0C)
      case UInt8(ascii: "n"): buf.append(0x0A)
      case UInt8(ascii: "r"): buf.append(0x0D)
      case UInt8(ascii: "t"): buf.append(0x09)
      case UInt8(ascii: "u"):
        var cp = try hex4()
        if (0xD800...0xDBFF).contains(cp) {
          guard i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
            throw fail("unpaired surrogate")
          }
          i += 2
          let lo = try hex4()
          guard (0xDC00...0xDFFF).contains(lo) else { throw fail("unpaired surrogate") }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(cp) {
          throw fail("unpaired surrogate")
        }
        guard let scalar = Unicode.Scalar(cp) else { throw fail("bad code point") }
        buf.append(contentsOf: Array(String(Character(scalar)).utf8))
      default: throw fail("bad escape")
      }
    }
    guard let s = String(validating: buf, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
    return s
  }

  private mutating func number() throws(JSONParseError) -> JSON {
    let start = i
    if bytes[i] == UInt8(ascii: "-") { i += 1 }
    func digits(_ p: inout JSONParser) -> Int {
      let s = p.i
      while p.i < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.i]) { p.i += 1 }
      return p.i - s
    }
    guard i < bytes.count else { throw fail("bad number") }
    if bytes[i] == UInt8(ascii: "0") {
      i += 1
    } else if digits(&self) == 0 {
      throw fail("bad number")
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      if digits(&self) == 0 { throw fail("bad number") }
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
      if digits(&self) == 0 { throw fail("bad number") }
    }
    let text = String(decoding: bytes[start..<i], as: UTF8.self)
    guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
    return .number(d)
  }
}

/// Appends JSON text to a byte array; the caller keeps the structure balanced.
public struct JSONWriter {
  public var bytes: [UInt8] = []
  private var needsComma = false

  public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

  @inline(__always) private mutating func separate() {
    if needsComma { bytes.append(UInt8(ascii: ",")) }
  }

  public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
  public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
  public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
  public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

  /// A key known at compile time: plain ASCII, copied without escaping.
  public mutating func key(_ k: StaticString) {
    separate()
    bytes.append(UInt8(ascii: "\""))
    k.withUTF8Buffer { bytes.append(contentsOf: $0) }
    bytes.append(UInt8(ascii: "\""))
    bytes.append(UInt8(ascii: ":"))
    needsComma = false
  }

  public mutating func key(_ k: String) {
    separate()
    var k = k
    k.withUTF8 { writeEscaped($0) }
    bytes.append(UInt8(ascii: ":"))
    needsComma = false
  }

  public mutating func string(_ s: String) {
    separate()
    var s = s
    s.withUTF8 { writeEscaped($0) }
    needsComma = true
  }

  public mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) { separate(); writeEscaped(utf8); needsComma = true }
  public mutating func bool(_ b: Bool) { separate(); bytes.append(contentsOf: b ? Self.trueBytes : Self.falseBytes); needsComma = true }
  public mutating func null() { separate(); bytes.append(contentsOf: Self.nullBytes); needsComma = true }
  public mutating func int(_ n: Int) { separate(); bytes.append(contentsOf: String(n).utf8); needsComma = true }

  public mutating func number(_ d: Double) {
    separate()
    if d == d.rounded(), abs(d) < 1e15 { bytes.append(contentsOf: String(Int64(d)).utf8) } else { bytes.append(contentsOf: String(d).utf8) }
    needsComma = true
  }

  /// Appends text that is already valid JSON (e.g. a stored JSON column).
  public mutating func raw(_ json: String) { separate(); bytes.append(contentsOf: json.utf8); needsComma = true }
  public mutating func raw(_ json: [UInt8]) { separate(); bytes.append(contentsOf: json); needsComma = true }

  public mutating func field(_ k: StaticString, _ v: String) { key(k); string(v) }
  public mutating func field(_ k: StaticString, _ v: String?) { key(k); if let v { string(v) } else { null() } }
  public mutating func field(_ k: StaticString, _ v: Bool) { key(k); bool(v) }
  public mutating func field(_ k: StaticString, _ v: Int) { key(k); int(v) }

  public mutating func value(_ v: JSON) {
    switch v {
    case .null: null()
    case .bool(let b): bool(b)
    case .number(let d): number(d)
    case .string(let s): string(s)
    case .array(let a):
      beginArray()
      for e in a { value(e) }
      endArray()
    case .object(let o):
      beginObject()
      for k in o.keys.sorted() { key(k); value(o[k]!) }
      endObject()
    }
  }

  private static let trueBytes = Array("true".utf8)
  private static let falseBytes = Array("false".utf8)
  private static let nullBytes = Array("null".utf8)
  private static let hex = Array("0123456789abcdef".utf8)

  /// Whether any byte is a control character, '"', '\\' or DEL; eight bytes at a
  /// time (SWAR), since every string of every page goes through here.
  static func needsEscape(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = s.baseAddress else { return false }
    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
    @inline(__always) func hasZero(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
    var i = 0
    while i + 8 <= s.count {
      let v = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
      // a byte below 0x20, '"', '\\' or DEL (no false negatives)
      if (v &- ones &* 0x20) & ~v & highs != 0 || hasZero(v ^ (ones &* 0x22)) || hasZero(v ^ (ones &* 0x5C))
        || hasZero(v ^ (ones &* 0x7F))
      {
        // a hit is rare: confirm it byte by byte
        for k in i..<(i + 8) where base[k] < 0x20 || base[k] == 0x22 || base[k] == 0x5C || base[k] == 0x7F { return true }
      }
      i += 8
    }
    while i < s.count {
      let c = base[i]
      if c < 0x20 || c == 0x22 || c == 0x5C || c == 0x7F { return true }
      i += 1
    }
    return false
  }

  private mutating func writeEscaped(_ s: UnsafeBufferPointer<UInt8>) {
    bytes.append(UInt8(ascii: "\""))
    // Most text needs no escape: copy it in one go.
    if !Self.needsEscape(s) {
      bytes.append(contentsOf: s)
      bytes.append(UInt8(ascii: "\""))
      return
    }
    for c in s {
      switch c {
      case UInt8(ascii: "\""): bytes.append(0x5C); bytes.append(c)
      case UInt8(ascii: "\\"): bytes.append(0x5C); bytes.append(c)
      case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
      case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
      case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
      case 0..<0x20, 0x7F:
        bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
        bytes.append(Self.hex[Int(c >> 4)])
        bytes.append(Self.hex[Int(c & 0xF)])
      default: bytes.append(c)
      }
    }
    bytes.append(UInt8(ascii: "\""))
  }
}

extension JSON {
  /// Compact JSON text, keys sorted: used to store nested values such as SSO protocols.
  public var text: String {
    var w = JSONWriter()
    w.value(self)
    return String(decoding: w.bytes, as: UTF8.self)
  }
}
