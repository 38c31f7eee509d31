import Synchronization

/// What fault injection does to one request.
enum FaultAction: Sendable {
  case none
  /// The status, and the Retry-After to send with a 429 or 503, in milliseconds.
  case status(Int, retryAfterMs: Double)
  case reset
  /// Carry the request out, then drop the connection: the client cannot know
  /// whether its write happened (what makes blind retries of a POST duplicate).
  case lostReply
}

/// A parsed fault spec: `429=0.1,503=0.05,reset=0.02,latency=20ms`.
/// Statuses and `reset` are shares of requests (their sum at most 1); `latency` delays
/// every request, or a share of them with `latency=20ms@0.5`; `retry-after` is what
/// 429 and 503 answers ask clients to wait (default 1s); `lost=share` carries a
/// request out and then drops the connection instead of answering.
public struct FaultSpec: Sendable, Equatable {
  var statuses: [(code: Int, p: Double)] = []
  var reset = 0.0
  var lost = 0.0
  var latencyMs = 0.0
  var latencyShare = 1.0
  var retryAfterMs = 1000.0
  public let text: String

  public static func == (a: FaultSpec, b: FaultSpec) -> Bool { a.text == b.text }

  public init(_ spec: String) throws(APIError) {
    text = spec.trimmingSpaces
    if text.isEmpty || text == "off" { return }
    func bad(_ why: String) -> APIError { APIError(400, "invalid_fault_spec", "fault spec '\(spec.prefix(200))': \(why)") }
    func share(_ s: Substring, _ key: Substring) throws(APIError) -> Double {
      guard let p = Double(s), p >= 0, p <= 1 else { throw bad("'\(key)' needs a share between 0 and 1, got '\(s)'") }
      return p
    }
    for item in text.split(separator: ",") {
      let kv = item.split(separator: "=", maxSplits: 1)
      guard kv.count == 2 else { throw bad("expected key=value, got '\(item)'") }
      let k = kv[0].trimmingSpaces[...], v = kv[1].trimmingSpaces[...]
      if k == "reset" {
        reset = try share(v, k)
      } else if k == "lost" {
        lost = try share(v, k)
      } else if k == "latency" {
        let parts = v.split(separator: "@", maxSplits: 1)
        guard let ms = Self.duration(parts[0]) else { throw bad("latency needs a duration such as 20ms or 1s, got '\(parts[0])'") }
        latencyMs = ms
        if parts.count == 2 { latencyShare = try share(parts[1], k) }
      } else if k == "retry-after" {
        guard let ms = Self.duration(v) else { throw bad("retry-after needs a duration such as 0s or 200ms, got '\(v)'") }
        retryAfterMs = ms
      } else if let code = Int(k), (400...599).contains(code) {
        statuses.append((code, try share(v, k)))
      } else {
        throw bad("unknown key '\(k)' (use an HTTP status 400-599, reset, lost, latency or retry-after)")
      }
    }
    if statuses.reduce(reset + lost, { $0 + $1.p }) > 1 + 1e-9 { throw bad("the shares add up to more than 1") }
  }

  var isOff: Bool { statuses.isEmpty && reset == 0 && lost == 0 && latencyMs == 0 }

  static func duration(_ s: Substring) -> Double? {
    if s.hasSuffix("ms"), let v = Double(s.dropLast(2)), v >= 0, v <= 60_000 { return v }
    if s.hasSuffix("s"), let v = Double(s.dropLast(1)), v >= 0, v <= 60 { return v * 1000 }
    if let v = Double(s), v >= 0, v <= 60_000 { return v }
    return nil
  }
}

/// Draws faults from a seeded generator, so a run with the same --seed and the same
/// sequence of requests sees the same faults.
public final class FaultInjector: Sendable {
  private struct State {
    var spec: FaultSpec
    var seed: UInt64
    var rng: SplitMix64
  }
  private let state: Mutex<State>

  public init(spec: FaultSpec, seed: UInt64) {
    state = Mutex(State(spec: spec, seed: seed, rng: SplitMix64(seed: seed)))
  }

  public func set(_ spec: FaultSpec, seed: UInt64?) {
    state.withLock {
      $0.spec = spec
      if let seed { $0.seed = seed }
      $0.rng = SplitMix64(seed: $0.seed)
    }
  }

  public var current: (spec: String, seed: UInt64) { state.withLock { ($0.spec.text, $0.seed) } }

  /// The action and the delay (ms) for the next request.
  func draw() -> (FaultAction, Double) {
    state.withLock { s in
      if s.spec.isOff { return (.none, 0) }
      var delay = 0.0
      if s.spec.latencyMs > 0 {
        let u = s.rng.nextUnit()
        if u < s.spec.latencyShare { delay = s.spec.latencyMs }
      }
      let u = s.rng.nextUnit()
      var acc = 0.0
      for (code, p) in s.spec.statuses {
        acc += p
        if u < acc { return (.status(code, retryAfterMs: s.spec.retryAfterMs), delay) }
      }
      if u < acc + s.spec.reset { return (.reset, delay) }
      if u < acc + s.spec.reset + s.spec.lost { return (.lostReply, delay) }
      return (.none, delay)
    }
  }
}

struct SplitMix64: Sendable {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func nextUnit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
}

extension StringProtocol {
  var trimmingSpaces: String {
    var s = Substring(self)
    while let f = s.first, f.isWhitespace { s.removeFirst() }
    while let l = s.last, l.isWhitespace { s.removeLast() }
    return String(s)
  }
}
