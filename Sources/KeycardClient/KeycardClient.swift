import CCurl
import Synchronization
import Threads

@preconcurrency import Glibc

/// One logical API call: it may take several attempts.
public struct APICall: Sendable {
  public var method: String
  /// A path below the base URL ("/organizations/acme/users").
  public var path: String
  public var query: [(name: String, value: String)]
  public var body: [UInt8]?
  /// Retries after the first attempt; nil means the client's default.
  public var retries: Int?
  /// Whether a 409 naming a state conflict is retried; nil means the client's
  /// default (Configuration.retryConflicts).
  public var retryConflicts: Bool?
  /// A bearer token to use instead of the configured credentials (an
  /// organization token from the token exchange, say).
  public var token: String?
  /// False for endpoints that need no credentials (invitation look-ups).
  public var authenticated: Bool
  /// Extra "Name: value" lines for this call only.
  public var headers: [String] = []
  /// The body's type, when there is a body.
  public var contentType = "application/json"
  /// The X-Client-Request-ID of every attempt; nil: a new UUID per call. A
  /// journaled write sends the same one on every attempt and every rerun.
  public var requestID: String?
  /// A write that must not be carried out twice (a journaled create): it is
  /// retried only when the server cannot have carried it out (no connection
  /// made, a 429, or an answer that says `x-should-retry: true`); any other
  /// failure is left to the caller, who reconciles before sending it again.
  public var once = false
  /// HTTP Basic credentials (the client-credentials grant); curl encodes them.
  var basicAuth: (user: String, password: String)?
  /// Told of each retry the call waits for: the answer that asked for it
  /// (nil after a connection error) and the wait in seconds, on the I/O
  /// thread. kc.parallel pauses its whole pool when a 429 or 503 asks.
  public var onRetry: (@Sendable (_ response: HTTPResponse?, _ delay: Double) -> Void)?

  public init(
    method: String, path: String, query: [(name: String, value: String)] = [], body: [UInt8]? = nil,
    retries: Int? = nil, token: String? = nil, authenticated: Bool = true
  ) {
    self.method = method.uppercased()
    self.path = path
    self.query = query
    self.body = body
    self.retries = retries
    self.token = token
    self.authenticated = authenticated
  }
}

public struct APIResponse: Sendable {
  public var status: Int
  public var body: [UInt8]
  public var headers: [(name: String, value: String)]
  public var attempts: Int
  public var requestID: String
  /// The local port of the connection that carried the answer.
  public var localPort: Int = 0
}

/// The Keycard API client: authentication, retries, errors and tracing over
/// the libcurl transport. It knows nothing of Lua.
public final class KeycardClient: Sendable {
  /// kcsh's version, defined here only: the User-Agent and `kcsh --version`
  /// read it (KcshVersion.version).
  public static let version = "0.1.0"

  public let configuration: Configuration
  public let transport: Transport
  public let redactor = Redactor()
  /// Where trace lines go (stderr by default). The I/O thread reads this and
  /// randomJitter, so they are locked.
  public var traceSink: @Sendable (String) -> Void {
    get { sink.withLock { $0 } }
    set { sink.withLock { $0 = newValue } }
  }
  private let sink = Mutex<@Sendable (String) -> Void>({ writeStderr($0 + "\n") })
  /// Switched by kc.trace on the Lua thread, read on the I/O thread too.
  public var tracing: Bool {
    get { tracingFlag.load(ordering: .relaxed) }
    set { tracingFlag.store(newValue, ordering: .relaxed) }
  }
  private let tracingFlag = Atomic<Bool>(false)
  /// The share taken off a backoff (0-25%); replaceable in tests.
  var randomJitter: @Sendable () -> Double {
    get { jitter.withLock { $0 } }
    set { jitter.withLock { $0 = newValue } }
  }
  private let jitter = Mutex<@Sendable () -> Double>({ Double.random(in: 0..<0.25) })

  /// The client-credentials token and the calls waiting for one.
  private struct TokenState {
    var token: (value: String, expiresAt: Double)?
    var fetching = false
    var waiters: [@Sendable (Result<String?, KeycardError>) -> Void] = []
    var fetched = 0
  }
  private let tokens = Mutex(TokenState())
  /// Counts tokens fetched, for tests and traces.
  public var tokensFetched: Int { tokens.withLock { $0.fetched } }

  public init(configuration: Configuration, environment: Environment = .process) throws(KeycardError) {
    self.configuration = configuration
    do {
      transport = try Transport(environment: environment)
    } catch {
      throw KeycardError(kind: .transport, message: error.message)
    }
    switch configuration.credentials {
    case .none: break
    case .apiKey(let k): redactor.add(k.value)
    case .clientCredentials(_, let s): redactor.add(s.value)
    }
  }

  deinit { transport.shutdown() }

  // MARK: Calls

  /// Sends `call`, retrying as the official SDKs do, and returns the 2xx
  /// answer or throws a KeycardError. Ctrl-C cancels it.
  /// The first attempt runs on the calling thread, which would only wait.
  public func send(_ call: APICall) throws(KeycardError) -> APIResponse {
    try begin(call, waiter: .current) { _ in }.wait()
  }

  /// Starts `call` and returns at once; `completion` runs on the I/O thread
  /// with the outcome. Retries wait on the I/O thread's timers, so nothing
  /// blocks: this is what a coroutine that yields while its request runs
  /// needs.
  @discardableResult
  public func start(
    _ call: APICall, completion: @escaping @Sendable (Result<APIResponse, KeycardError>) -> Void
  ) -> CallHandle {
    begin(call, waiter: nil, completion: completion)
  }

  private func begin(
    _ call: APICall, waiter: ThreadID?, completion: @escaping @Sendable (Result<APIResponse, KeycardError>) -> Void
  ) -> CallHandle {
    if let token = call.token { redactor.add(token) }  // a token given by the script is a secret too
    let handle = CallHandle(client: self, call: call, waiter: waiter, completion: completion)
    handle.step()
    return handle
  }

  // MARK: Retry rules

  /// Whether an error answer may succeed on a new attempt: 408, 409, 429 and
  /// 5xx, unless the server says otherwise with x-should-retry. A 409 whose code
  /// names a state (`stateConflicts`) will get the same answer however often it
  /// is sent, so it is retried only when `retryConflicts` asks for the official
  /// SDKs' behaviour: a bulk invite meeting 1,000 people already invited would
  /// otherwise wait 1-1.5 s on each.
  public static func shouldRetry(_ response: HTTPResponse, retryConflicts: Bool = false) -> Bool {
    switch response.header("x-should-retry")?.lowercased() {
    case "true": return true
    case "false": return false
    default: break
    }
    let s = response.status
    if s == 409 { return retryConflicts || !isStateConflict(response) }
    return s == 408 || s == 429 || s >= 500
  }

  /// The 409 codes that say what state a resource is in, not that a concurrent
  /// change got in the way.
  public static let stateConflicts: Set<String> = [
    "already_member", "invitation_pending", "invitation_not_pending", "sso_already_enabled",
  ]

  static func isStateConflict(_ response: HTTPResponse) -> Bool {
    FlatJSON(response.body)?.string("code").map(stateConflicts.contains) ?? false
  }

  /// Seconds to wait before retry `retry` (0 for the first): the server's
  /// retry-after-ms or Retry-After (seconds or an HTTP date) when it is
  /// within 0-60 s, else 0.5 s doubling up to 8 s, less 0-25% jitter.
  public static func retryDelay(retry: Int, response: HTTPResponse?, jitter: Double, now: Double? = nil) -> Double {
    if let r = response {
      if let ms = r.header("retry-after-ms").flatMap(Double.init), ms >= 0, ms <= 60_000 {
        return ms / 1000
      }
      if let ra = r.header("retry-after") {
        if let s = Double(ra.trimmingCharacters(in: " ")), s >= 0, s <= 60 { return s }
        let date = ra.withCString { kc_getdate($0) }
        if date >= 0 {
          let s = Double(date) - (now ?? wallNow())
          if s <= 60 { return max(0, s) }
        }
      }
    }
    let base = min(0.5 * Double(1 << min(retry, 10)), 8.0)
    return base * (1 - jitter)
  }

  static func apiError(_ response: HTTPResponse) -> KeycardError {
    let fields = FlatJSON(response.body)
    var message = fields?.string("message") ?? fields?.string("error_description") ?? fields?.string("error")
    if message == nil {
      // Not the API's JSON: a proxy's page, say. Show its start, on one line.
      let text = String(decoding: response.body.prefix(200), as: UTF8.self)
        .split(whereSeparator: { $0.isNewline }).joined(separator: " ")
      message = text.isEmpty ? "HTTP \(response.status)" : text
    }
    return KeycardError(
      kind: .api, status: response.status, code: fields?.string("code") ?? fields?.string("error"),
      message: message!)
  }

  static func queryString(_ q: [(name: String, value: String)]) -> String {
    guard !q.isEmpty else { return "" }
    return "?" + q.map { percentEncode($0.name) + "=" + percentEncode($0.value) }.joined(separator: "&")
  }

  static func percentEncode(_ s: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for b in s.utf8 {
      switch b {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
        UInt8(ascii: "~"):
        out.append(b)
      default:
        out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  // MARK: Authentication

  /// Calls `body` with the Authorization header line (nil without
  /// credentials), fetching or renewing a token first when needed; at most
  /// one token request is in flight, however many calls wait for it.
  func withAuthorization(_ body: @escaping @Sendable (Result<String?, KeycardError>) -> Void) {
    switch configuration.credentials {
    case .none:
      body(.success(nil))
    case .apiKey(let key):
      body(.success("Authorization: Bearer \(key.value)"))
    case .clientCredentials(let id, let secret):
      let now = monotonicNow()
      // One lock: a fetch that ends between a look at the cache and a look
      // at `fetching` would otherwise leave this caller starting another.
      let (cached, first) = tokens.withLock { s -> (String?, Bool) in
        if let t = s.token, now < t.expiresAt - 10 { return (t.value, false) }
        s.waiters.append(body)
        defer { s.fetching = true }
        return (nil, !s.fetching)
      }
      if let cached { return body(.success("Authorization: Bearer \(cached)")) }
      if first { fetchToken(id: id, secret: secret) }
    }
  }

  /// Forgets the cached token (the next call fetches a new one).
  public func invalidateToken() { tokens.withLock { $0.token = nil } }

  /// The cached client-credentials token (tests check it never leaks).
  var cachedToken: String? { tokens.withLock { $0.token?.value } }

  /// Replaces the cached token (tests: a token the server no longer knows).
  func setCachedToken(_ value: String, lifetime: Double) {
    tokens.withLock { $0.token = (value, monotonicNow() + lifetime) }
  }

  /// Hands the outcome of a token request to every call waiting for it.
  private func tokenDone(_ result: Result<String, KeycardError>) {
    let waiters = tokens.withLock { s -> [@Sendable (Result<String?, KeycardError>) -> Void] in
      defer {
        s.waiters.removeAll()
        s.fetching = false
      }
      return s.waiters
    }
    for w in waiters { w(result.map { "Authorization: Bearer \($0)" }) }
  }

  /// The client-credentials grant: POST {base}/service-account-token with
  /// HTTP Basic credentials: a call like any other (retried, traced,
  /// cancelled by Ctrl-C) but for its credentials and its form body.
  private func fetchToken(id: String, secret: Secret) {
    var call = APICall(
      method: "POST", path: "/service-account-token", body: Array("grant_type=client_credentials".utf8),
      authenticated: false)
    call.contentType = "application/x-www-form-urlencoded"
    call.basicAuth = (id, secret.value)
    start(call) { [self, call] result in
      switch result {
      case .success(let r):
        guard let fields = FlatJSON(r.body), let access = fields.string("access_token") else {
          return tokenDone(
            .failure(
              KeycardError(
                kind: .auth, status: r.status, message: "the token endpoint answered without an access_token",
                method: call.method, path: call.path, requestID: r.requestID, attempts: r.attempts)))
        }
        let lifetime = fields.number("expires_in") ?? 3600
        redactor.add(access)
        tokens.withLock {
          $0.token = (access, monotonicNow() + lifetime)
          $0.fetched += 1
        }
        tokenDone(.success(access))
      case .failure(var e):
        if e.kind == .api {
          e.kind = .auth
          e.message = redactor.scrub(
            "client credentials for \(id) were rejected by \(configuration.baseURL)\(call.path): \(e.message)")
        }
        tokenDone(.failure(e))
      }
    }
  }

  // MARK: Tracing

  func trace(_ method: String, _ url: String, _ outcome: String, _ attempts: Int, _ started: Double) {
    guard tracing else { return }
    let ms = (monotonicNow() - started) * 1000
    let time = ms < 10 ? String(Int(ms * 10)).insertingDot() : String(Int(ms))
    traceSink(
      redactor.scrub("kcsh: \(method) \(Self.redactQuery(url)) -> \(outcome) (\(attempts) attempt\(attempts == 1 ? "" : "s"), \(time) ms)"))
  }

  /// Hides query values whose names suggest a credential.
  static func redactQuery(_ url: String) -> String {
    guard let q = url.firstIndex(of: "?") else { return url }
    let parts = url[url.index(after: q)...].split(separator: "&").map { part -> String in
      let name = part.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
      let lower = name.lowercased()
      if ["token", "secret", "key", "password", "code"].contains(where: { lower.contains($0) }) {
        return name + "=[redacted]"
      }
      return String(part)
    }
    return String(url[..<q]) + "?" + parts.joined(separator: "&")
  }
}

extension String {
  /// "123" -> "12.3": tenths of a millisecond, without Foundation's formatting.
  fileprivate func insertingDot() -> String {
    let s = count == 1 ? "0" + self : self
    return String(s.dropLast()) + "." + String(s.last!)
  }
}
