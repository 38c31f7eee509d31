/// The query string, decoded once, with repeated keys kept (expand=a&expand=b).
struct Query: Sendable {
  private(set) var pairs: [(String, String)] = []

  init(_ raw: String) throws(APIError) {
    guard !raw.isEmpty else { return }
    for part in raw.split(separator: "&", omittingEmptySubsequences: true) {
      let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard let k = percentDecode(kv[0], plusIsSpace: true) else {
        throw APIError(400, "invalid_parameter", "malformed percent-encoding in the query string")
      }
      let v = kv.count > 1 ? percentDecode(kv[1], plusIsSpace: true) : ""
      guard let v else { throw APIError(400, "invalid_parameter", "malformed percent-encoding in query parameter '\(k)'") }
      pairs.append((k, v))
    }
  }

  func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }

  /// The single value of `key`; a key given twice with different values is a 400.
  func one(_ key: String) throws(APIError) -> String? {
    var found: String?
    for (k, v) in pairs where k == key {
      if let f = found, f != v { throw APIError.badParameter(key, "was given more than once") }
      found = v
    }
    return found
  }
}

/// Decodes %XX escapes; nil when an escape is malformed or the result is not UTF-8.
func percentDecode(_ s: Substring, plusIsSpace: Bool) -> String? {
  if !s.utf8.contains(UInt8(ascii: "%")) && !(plusIsSpace && s.utf8.contains(UInt8(ascii: "+"))) {
    return String(s)
  }
  var out: [UInt8] = []
  out.reserveCapacity(s.utf8.count)
  var it = s.utf8.makeIterator()
  func hexval(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
  }
  while let c = it.next() {
    if c == UInt8(ascii: "%") {
      guard let h = it.next(), let l = it.next(), let hv = hexval(h), let lv = hexval(l) else { return nil }
      out.append(hv << 4 | lv)
    } else if plusIsSpace && c == UInt8(ascii: "+") {
      out.append(0x20)
    } else {
      out.append(c)
    }
  }
  return String(validating: out, as: UTF8.self)
}
