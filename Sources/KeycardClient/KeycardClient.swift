import CCurl

#if canImport(Glibc)
  @preconcurrency import Glibc
#elseif canImport(Musl)
  @preconcurrency import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// One logical API call: it may take several attempts.
public struct APICall: Sendable {
  public var method: String
  /// A path below the base URL ("/organizations/acme/users").
  public var path: String
  public var query: [(name: String, value: String)]
  public var body: [UInt8]?
  /// Retries after the first attempt; nil means the client's default.
  public var retries: Int?
  /// A bearer token to use instead of the configured credentials (an
  /// organization token from the token exchange, say).
  public var token: String?
  /// False for endpoints that need no credentials (invitation look-ups).
  public var authenticated: Bool

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
public final class KeycardClient: @unchecked Sendable {
  public static let version = "0.1.0"

  public let configuration: Configuration
  public let transport: Transport
  public let redactor = Redactor()
  /// Where trace lines go (stderr by default).
  public var traceSink: @Sendable (String) -> Void = { writeStderr($0 + "\n") }
  public var tracing = false
  /// How long to wait before retry `n` (0-based); replaceable in tests.
  var randomJitter: () -> Double = { Double.random(in: 0..<0.25) }

  private let monitor = Monitor()
  private var token: (value: String, expiresAt: Double)?
  /// Counts tokens fetched, for tests and traces.
  public private(set) var tokensFetched = 0

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
  /// answer or throws a KeycardError.
  public func send(_ call: APICall) throws(KeycardError) -> APIResponse {
    let requestID = makeUUID()
    let maxRetries = max(0, call.retries ?? configuration.maxRetries)
    let url = configuration.baseURL + call.path + Self.queryString(call.query)
    let started = monotonicNow()
    var attempt = 0
    var refreshedAfter401 = false
    func fail(_ e: KeycardError) -> KeycardError {
      var e = e
      e.message = redactor.scrub(e.message)
      e.method = call.method
      e.path = call.path
      e.requestID = requestID
      e.attempts = attempt
      trace(call.method, url, e.status.map(String.init) ?? e.kind.rawValue, attempt, started)
      return e
    }
    while true {
      attempt += 1
      var headers = [
        "Accept: application/json", "User-Agent: \(configuration.userAgent)",
        "X-Client-Request-ID: \(requestID)",
      ]
      if attempt > 1 { headers.append("X-Retry-Count: \(attempt - 1)") }
      if call.body != nil { headers.append("Content-Type: application/json") }
      headers += configuration.customHeaders
      if call.authenticated {
        do {
          if let t = call.token {
            headers.append("Authorization: Bearer \(t)")
          } else if let auth = try authorization() {
            headers.append(auth)
          }
        } catch {
          throw fail(error)
        }
      }
      var request = HTTPRequest(
        method: call.method, url: url, headers: headers, body: call.body,
        connectTimeoutMs: configuration.connectTimeoutMs, timeoutMs: configuration.timeoutMs)
      if call.method != "GET" && call.method != "POST" && call.body == nil && call.method != "DELETE" {
        request.body = nil
      }
      let result = transport.perform(request)
      switch result {
      case .failure(let error):
        if error.kind == .cancelled {
          _ = kc_sigint_take()
          throw fail(KeycardError(kind: .cancelled, message: error.message))
        }
        if error.isRetryable && attempt <= maxRetries {
          if try sleepBeforeRetry(attempt, nil, call, url, started) { continue }
        }
        throw fail(KeycardError(kind: .transport, message: "\(error.kind.rawValue): \(error.message)"))
      case .success(let response):
        if (200..<300).contains(response.status) {
          trace(call.method, url, String(response.status), attempt, started)
          return APIResponse(
            status: response.status, body: response.body, headers: response.headers, attempts: attempt,
            requestID: requestID, localPort: response.localPort)
        }
        // A 401 with client credentials: the token may have been revoked or
        // expired early. Fetch a new one, once.
        if response.status == 401, call.token == nil, !refreshedAfter401, case .clientCredentials = configuration.credentials {
          refreshedAfter401 = true
          monitor.withLock { token = nil }
          trace(call.method, url, "401, new token", attempt, started)
          continue
        }
        if Self.shouldRetry(response) && attempt <= maxRetries {
          if try sleepBeforeRetry(attempt, response, call, url, started) { continue }
        }
        throw fail(Self.apiError(response))
      }
    }
  }

  /// Sleeps before the next attempt; false when Ctrl-C came meanwhile.
  private func sleepBeforeRetry(
    _ attempt: Int, _ response: HTTPResponse?, _ call: APICall, _ url: String, _ started: Double
  ) throws(KeycardError) -> Bool {
    let delay = Self.retryDelay(retry: attempt - 1, response: response, jitter: randomJitter())
    trace(call.method, url, (response.map { String($0.status) } ?? "connection error") + ", retry in \(Int(delay * 1000)) ms", attempt, started)
    // Sleep in slices so Ctrl-C is noticed within 20 ms.
    kc_sigint_arm(transport.multiHandle)
    defer { kc_sigint_disarm() }
    let until = monotonicNow() + delay
    while monotonicNow() < until {
      if kc_sigint_pending() != 0 {
        _ = kc_sigint_take()
        throw KeycardError(
          kind: .cancelled, message: "interrupted", method: call.method, path: call.path, attempts: attempt)
      }
      sleepSeconds(min(0.02, until - monotonicNow()))
    }
    return true
  }

  // MARK: Retry rules

  /// Whether an error answer may succeed on a new attempt: 408, 409, 429 and
  /// 5xx, unless the server says otherwise with x-should-retry.
  public static func shouldRetry(_ response: HTTPResponse) -> Bool {
    switch response.header("x-should-retry")?.lowercased() {
    case "true": return true
    case "false": return false
    default: break
    }
    let s = response.status
    return s == 408 || s == 409 || s == 429 || s >= 500
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

  /// The Authorization header line, fetching or renewing a token if needed.
  func authorization() throws(KeycardError) -> String? {
    switch configuration.credentials {
    case .none:
      return nil
    case .apiKey(let key):
      return "Authorization: Bearer \(key.value)"
    case .clientCredentials(let id, let secret):
      let now = monotonicNow()
      if let t = monitor.withLock({ token }), now < t.expiresAt - 10 {
        return "Authorization: Bearer \(t.value)"
      }
      let fresh = try fetchToken(id: id, secret: secret)
      return "Authorization: Bearer \(fresh)"
    }
  }

  /// Forgets the cached token (the next call fetches a new one).
  public func invalidateToken() { monitor.withLock { token = nil } }

  /// The cached client-credentials token (tests check it never leaks).
  var cachedToken: String? { monitor.withLock { token?.value } }

  /// Replaces the cached token (tests: a token the server no longer knows).
  func setCachedToken(_ value: String, lifetime: Double) {
    monitor.withLock { token = (value, monotonicNow() + lifetime) }
  }

  /// The client-credentials grant: POST {base}/service-account-token.
  private func fetchToken(id: String, secret: Secret) throws(KeycardError) -> String {
    let url = configuration.baseURL + "/service-account-token"
    var request = HTTPRequest(
      method: "POST", url: url,
      headers: [
        "Accept: application/json", "User-Agent: \(configuration.userAgent)",
        "Content-Type: application/x-www-form-urlencoded",
      ] + configuration.customHeaders,
      body: Array("grant_type=client_credentials".utf8),
      connectTimeoutMs: configuration.connectTimeoutMs, timeoutMs: configuration.timeoutMs)
    request.basicAuth = (id, secret.value)
    let started = monotonicNow()
    var attempt = 0
    while true {
      attempt += 1
      switch transport.perform(request) {
      case .failure(let e):
        if e.kind == .cancelled {
          _ = kc_sigint_take()
          throw KeycardError(kind: .cancelled, message: e.message, method: "POST", path: "/service-account-token", attempts: attempt)
        }
        if e.isRetryable && attempt <= configuration.maxRetries {
          sleepSeconds(Self.retryDelay(retry: attempt - 1, response: nil, jitter: randomJitter()))
          continue
        }
        throw KeycardError(
          kind: .transport, message: redactor.scrub("\(e.kind.rawValue): \(e.message)"), method: "POST",
          path: "/service-account-token", attempts: attempt)
      case .success(let r):
        if (200..<300).contains(r.status) {
          guard let fields = FlatJSON(r.body), let access = fields.string("access_token") else {
            throw KeycardError(
              kind: .auth, status: r.status, message: "the token endpoint answered without an access_token",
              method: "POST", path: "/service-account-token", attempts: attempt)
          }
          let lifetime = fields.number("expires_in") ?? 3600
          redactor.add(access)
          monitor.withLock {
            token = (access, monotonicNow() + lifetime)
            tokensFetched += 1
          }
          trace("POST", url, "\(r.status), token for \(Int(lifetime)) s", attempt, started)
          return access
        }
        if Self.shouldRetry(r) && attempt <= configuration.maxRetries {
          sleepSeconds(Self.retryDelay(retry: attempt - 1, response: r, jitter: randomJitter()))
          continue
        }
        trace("POST", url, String(r.status), attempt, started)
        var e = Self.apiError(r)
        e.kind = .auth
        e.message = redactor.scrub(
          "client credentials for \(id) were rejected by \(configuration.baseURL)/service-account-token: \(e.message)")
        e.method = "POST"
        e.path = "/service-account-token"
        e.attempts = attempt
        throw e
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
