import Glibc
import Synchronization

/// `--rate-limit N`: a token bucket of N requests per second for each credential
/// presented (API key or access token), as real API gateways keep. A request that
/// finds the bucket empty is answered 429 with the wait until the next token, so a
/// client that honours Retry-After is never refused twice in a row for the same
/// reason. Random `429=share` faults cannot test that: they ignore how fast the
/// client goes.
public final class RateLimiter: Sendable {
  /// Tokens per second, which is also the burst a full bucket allows.
  public let rate: Double
  private struct Bucket {
    var tokens: Double
    var at: Double
  }
  private let buckets = Mutex<[String: Bucket]>([:])
  private let clock: @Sendable () -> Double

  /// `clock` is monotonic seconds; tests pass their own.
  public init(rate: Double, clock: @escaping @Sendable () -> Double = RateLimiter.monotonic) {
    precondition(rate > 0)
    self.rate = rate
    self.clock = clock
  }

  /// Takes a token from `key`'s bucket: nil when the request may go on, else the
  /// wait (seconds) until a token is there.
  public func take(_ key: String) -> Double? {
    let now = clock()
    let capacity = max(1, rate)
    return buckets.withLock { all in
      var b = all[key] ?? Bucket(tokens: capacity, at: now)
      b.tokens = min(capacity, b.tokens + (now - b.at) * rate)
      b.at = now
      defer { all[key] = b }
      if b.tokens >= 1 {
        b.tokens -= 1
        return nil
      }
      return (1 - b.tokens) / rate
    }
  }

  public static func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}
