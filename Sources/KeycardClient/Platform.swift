@preconcurrency import Glibc

/// Monotonic time in seconds.
func monotonicNow() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Wall-clock time in seconds since the epoch.
func wallNow() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_REALTIME, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The process environment as read by getenv, or a fixed dictionary (tests).
public struct Environment: Sendable {
  let fixed: [String: String]?

  public static let process = Environment(fixed: nil)
  public init(_ values: [String: String]) { fixed = values }
  init(fixed: [String: String]?) { self.fixed = fixed }

  public subscript(name: String) -> String? {
    if let fixed { return fixed[name] }
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
  }
}

func writeStderr(_ text: String) {
  var text = text
  text.withUTF8 { buf in _ = fwrite(buf.baseAddress, 1, buf.count, stderr) }
}

/// A random version 4 UUID, lower case.
func makeUUID() -> String {
  // Two 64-bit draws (two getrandom calls), not sixteen byte-sized ones.
  var rng = SystemRandomNumberGenerator()
  let a = rng.next(), b = rng.next()
  var bytes = (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? a : b) >> (8 * UInt64(i % 8))) }
  bytes[6] = (bytes[6] & 0x0F) | 0x40
  bytes[8] = (bytes[8] & 0x3F) | 0x80
  let hex = Array("0123456789abcdef".utf8)
  var out: [UInt8] = []
  out.reserveCapacity(36)
  for (i, b) in bytes.enumerated() {
    if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
    out.append(hex[Int(b >> 4)])
    out.append(hex[Int(b & 15)])
  }
  return String(decoding: out, as: UTF8.self)
}
