import Glibc

/// Identifiers, secrets and timestamps in the API's formats.
enum Ids {
  private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-".utf8)

  /// A 26-character URL-safe nanoid, as the API's IDs are.
  static func nanoid(_ length: Int = 26) -> String {
    var rng = SystemRandomNumberGenerator()
    var out = [UInt8](repeating: 0, count: length)
    var bits: UInt64 = 0
    for i in 0..<length {
      // One 64-bit draw feeds ten characters (6 bits each): --scale makes many IDs.
      if i % 10 == 0 { bits = rng.next() }
      out[i] = alphabet[Int(bits & 63)]
      bits >>= 6
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// A secret with 256 bits of entropy, URL-safe, prefixed so it is recognisable in logs.
  static func secret(prefix: String) -> String { prefix + nanoid(43) }
}

/// RFC 3339 UTC timestamps with millisecond precision.
public enum Clock {
  static func nowSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  static func now() -> String { format(nowSeconds()) }

  public static func seconds() -> Double { nowSeconds() }

  static func format(_ t: Double) -> String {
    var secs = time_t(t.rounded(.down))
    let ms = Int((t - Double(secs)) * 1000)
    var tmv = tm()
    gmtime_r(&secs, &tmv)
    func pad(_ v: Int32, _ w: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, w - s.count)) + s
    }
    return "\(pad(tmv.tm_year + 1900, 4))-\(pad(tmv.tm_mon + 1, 2))-\(pad(tmv.tm_mday, 2))T"
      + "\(pad(tmv.tm_hour, 2)):\(pad(tmv.tm_min, 2)):\(pad(tmv.tm_sec, 2)).\(pad(Int32(ms), 3))Z"
  }
}
