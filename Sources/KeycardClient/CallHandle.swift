import Synchronization
import Threads

/// One logical API call in flight: its attempts, their waits, and the one
/// X-Client-Request-ID they all carry. Steps run on the caller's thread
/// (the first) and on the I/O thread (the rest); a lock keeps them apart
/// from cancel().
public final class CallHandle: Sendable {
  private enum State {
    case idle  // between steps: getting a token, or waiting to retry
    case sending(TransferID)
    case done
  }

  let client: KeycardClient
  let call: APICall
  /// The request ID of every attempt of this call.
  public let requestID: String
  private let url: String
  private let maxRetries: Int
  private let started = monotonicNow()
  private let completion: @Sendable (Result<APIResponse, KeycardError>) -> Void
  /// The thread that will wait for this call at once (KeycardClient.send):
  /// attempts begun on it run there (Transport.performHere).
  private let waiter: ThreadID?
  private struct Progress {
    var state = State.idle
    var attempt = 0
    var refreshedAfter401 = false
  }
  private let progress = Mutex(Progress())
  /// Set once, when the call ends; wait() sleeps on it.
  private let outcome = Monitor<Result<APIResponse, KeycardError>?>(nil)

  init(
    client: KeycardClient, call: APICall, waiter: ThreadID? = nil,
    completion: @escaping @Sendable (Result<APIResponse, KeycardError>) -> Void
  ) {
    self.client = client
    self.call = call
    self.waiter = waiter
    self.completion = completion
    requestID = call.requestID ?? makeUUID()
    url = client.configuration.baseURL + call.path + KeycardClient.queryString(call.query)
    maxRetries = max(0, call.retries ?? client.configuration.maxRetries)
  }

  /// Waits for the outcome (at once if it is in); Ctrl-C meanwhile cancels
  /// the call. The completion given to start() has run, or runs, as well.
  public func wait() throws(KeycardError) -> APIResponse {
    if let done = outcome.value { return try done.get() }
    // A Ctrl-C meanwhile wakes the I/O thread, which cancels the transfer.
    return try Interrupt.during { outcome.wait { $0 }! }.get()
  }

  /// Cancels the call: it completes with a `cancelled` error at once (if it
  /// was waiting) or when its transfer stops (within a poll round).
  public func cancel() {
    let action = progress.withLock { p -> TransferID?? in
      switch p.state {
      case .done: return .none
      case .sending(let id): return .some(id)
      case .idle:
        p.state = .done
        return .some(nil)
      }
    }
    switch action {
    case .none: break
    case .some(.some(let id)): client.transport.cancel(id)
    case .some(.none): report(.failure(failure(KeycardError(kind: .cancelled, message: "cancelled"))))
    }
  }

  /// The next attempt: credentials, then the transfer.
  func step() {
    let n = progress.withLock { p -> Int? in
      if case .done = p.state { return nil }
      p.attempt += 1
      return p.attempt
    }
    guard let n else { return }
    if !call.authenticated {
      send(attempt: n, authorization: nil)
    } else if let t = call.token {
      send(attempt: n, authorization: "Authorization: Bearer \(t)")
    } else {
      client.withAuthorization { [self] result in
        switch result {
        case .success(let line): send(attempt: n, authorization: line)
        case .failure(let e): finish(.failure(failure(e)))
        }
      }
    }
  }

  private func send(attempt: Int, authorization: String?) {
    let config = client.configuration
    var headers = [
      "Accept: application/json", "User-Agent: \(config.userAgent)", "X-Client-Request-ID: \(requestID)",
    ]
    if attempt > 1 { headers.append("X-Retry-Count: \(attempt - 1)") }
    if call.body != nil { headers.append("Content-Type: \(call.contentType)") }
    headers += config.customHeaders + call.headers
    if let authorization { headers.append(authorization) }
    var request = HTTPRequest(
      method: call.method, url: url, headers: headers, body: call.body,
      connectTimeoutMs: config.connectTimeoutMs, timeoutMs: config.timeoutMs)
    request.basicAuth = call.basicAuth
    request.sentOnce = call.once
    // received() drops the answer of a call that was cancelled meanwhile.
    if waiter == .current, let result = client.transport.performHere(request) {
      return received(result, attempt: attempt)
    }
    // Started under the lock, so cancel() sees the transfer's ID (the
    // completion runs on the I/O thread, after this returns).
    progress.withLock { p in
      if case .done = p.state { return }
      p.state = .sending(client.transport.start(request) { [self] in received($0, attempt: attempt) })
    }
  }

  private func received(_ result: Result<HTTPResponse, TransportError>, attempt: Int) {
    let stillOn = progress.withLock { p -> Bool in
      if case .done = p.state { return false }
      p.state = .idle
      return true
    }
    guard stillOn else { return }
    switch result {
    case .failure(let error):
      if error.kind == .cancelled {
        return finish(.failure(failure(KeycardError(kind: .cancelled, message: error.message))))
      }
      if error.isRetryable && (!call.once || error.kind == .connect) && attempt <= maxRetries {
        return retry(after: nil, attempt: attempt)
      }
      finish(.failure(failure(KeycardError(kind: .transport, message: "\(error.kind.rawValue): \(error.message)"))))
    case .success(let response):
      if (200..<300).contains(response.status) {
        // The protocol is shown when it is not plain HTTP/1.1, so a trace tells
        // whether HTTP/2 was negotiated.
        let outcome = response.httpVersion == "1.1" ? "\(response.status)" : "\(response.status) HTTP/\(response.httpVersion)"
        client.trace(call.method, url, outcome, attempt, started)
        return finish(
          .success(
            APIResponse(
              status: response.status, body: response.body, headers: response.headers, attempts: attempt,
              requestID: requestID, localPort: response.localPort)))
      }
      // A 401 with client credentials: the token may have been revoked or
      // have expired early. Fetch a new one, once.
      if response.status == 401, call.authenticated, call.token == nil,
        case .clientCredentials = client.configuration.credentials
      {
        let first = progress.withLock { p -> Bool in
          defer { p.refreshedAfter401 = true }
          return !p.refreshedAfter401
        }
        if first {
          client.invalidateToken()
          client.trace(call.method, url, "401, new token", attempt, started)
          return step()
        }
      }
      if KeycardClient.shouldRetry(response, retryConflicts: call.retryConflicts ?? client.configuration.retryConflicts),
        !call.once || response.status == 429 || response.header("x-should-retry")?.lowercased() == "true",
        attempt <= maxRetries
      {
        return retry(after: response, attempt: attempt)
      }
      finish(.failure(failure(KeycardClient.apiError(response))))
    }
  }

  private func retry(after response: HTTPResponse?, attempt: Int) {
    let delay = KeycardClient.retryDelay(retry: attempt - 1, response: response, jitter: client.randomJitter())
    let what = response.map { String($0.status) } ?? "connection error"
    client.trace(call.method, url, "\(what), retry in \(Int(delay * 1000)) ms", attempt, started)
    call.onRetry?(response, delay)
    client.transport.schedule(
      after: delay, fire: { [self] in step() },
      cancel: { [self] in finish(.failure(failure(KeycardError(kind: .cancelled, message: "interrupted")))) })
  }

  /// `e` with this call's context, its text scrubbed of secrets.
  private func failure(_ e: KeycardError) -> KeycardError {
    var e = e
    e.message = client.redactor.scrub(e.message)
    e.method = e.method ?? call.method
    e.path = e.path ?? call.path
    e.requestID = requestID
    e.attempts = progress.withLock { $0.attempt }
    return e
  }

  private func finish(_ result: Result<APIResponse, KeycardError>) {
    let first = progress.withLock { p -> Bool in
      if case .done = p.state { return false }
      p.state = .done
      return true
    }
    guard first else { return }
    if case .failure(let e) = result {
      client.trace(call.method, url, e.status.map(String.init) ?? e.kind.rawValue, e.attempts, started)
    }
    report(result)
  }

  private func report(_ result: Result<APIResponse, KeycardError>) {
    outcome.update { $0 = result }
    completion(result)
  }
}
