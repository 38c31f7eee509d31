import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix

#if os(Linux)
/// glibc's mallopt(3): <malloc.h> is not part of the Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif

/// Settings of one sandbox server (the command line of kcsh-sandbox).
public struct SandboxOptions: Sendable {
  public var port = 0
  public var host = "127.0.0.1"
  public var apiKey: String?
  public var dbPath: String?
  public var faults = ""
  public var seed: UInt64?
  /// Lifetime of access tokens (token exchange and client credentials), in seconds.
  public var tokenTTL = 3600
  /// Lifetime of invitations, in seconds (a week, as Keycard's).
  public var invitationTTL = 7 * 24 * 3600
  /// Requests per second allowed for each credential (nil: no limit).
  public var rateLimit: Double?
  /// The user the API key stands for: the first org_admin of every organization
  /// it creates.
  public var adminEmail = "admin@sandbox.keycard.local"
  public init() {}
}

/// Request context that keeps the channel, so a `reset` fault can drop the connection.
public struct SandboxContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  let channel: any Channel
  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    channel = source.channel
  }
}

/// The local Keycard API: state shared by every request.
public final class SandboxServer: Sendable {
  public let store: Store
  /// Held in memory only (never in the database), to compare presented keys with.
  public let apiKey: String
  let tokenTTL: Int
  let invitationTTL: Double
  let adminEmail: String
  let rateLimiter: RateLimiter?
  public let faults: FaultInjector
  let requests = RequestLog()
  let outbox = Outbox()
  let logger: Logger

  /// The limit as a person writes it (200, not 200.0).
  var rateLimitText: String {
    guard let r = rateLimiter?.rate else { return "" }
    return r == r.rounded() ? String(Int(r)) : String(r)
  }

  public init(_ options: SandboxOptions, logger: Logger = Logger(label: "kcsh-sandbox")) throws {
    store = try Store(path: options.dbPath)
    apiKey = options.apiKey ?? Ids.secret(prefix: "kcsb_")
    tokenTTL = options.tokenTTL
    invitationTTL = Double(options.invitationTTL)
    adminEmail = options.adminEmail
    rateLimiter = options.rateLimit.map { RateLimiter(rate: $0) }
    let seed = options.seed ?? UInt64.random(in: 0...UInt64.max)
    faults = FaultInjector(spec: try FaultSpec(options.faults), seed: seed)
    self.logger = logger
  }

  /// Keeps glibc from handing freed memory back to the kernel after every page:
  /// its madvise calls (and the TLB flushes they cause) took about 5% of the CPU of
  /// a users page under load. The sandbox's heap stays small anyway.
  public static func tuneAllocator() {
    #if os(Linux)
    _ = glibcMallopt(-1, 256 << 20)  // M_TRIM_THRESHOLD is -1 in <malloc.h>
    #endif
  }

  /// Runs the HTTP server until SIGINT/SIGTERM; `onListening` gets the bound port.
  public func run(host: String = "127.0.0.1", port: Int, onListening: @escaping @Sendable (Int) async -> Void) async throws {
    let app = Application(
      responder: SandboxResponder(sandbox: self),
      configuration: .init(address: .hostname(host, port: port), serverName: "kcsh-sandbox"),
      onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
      logger: logger
    )
    try await app.runService()
  }
}

struct SandboxResponder: HTTPResponder {
  typealias Context = SandboxContext
  let sandbox: SandboxServer
  static let requestIDHeader = HTTPField.Name("X-Client-Request-ID")!

  func respond(to request: Request, context: SandboxContext) async throws -> Response {
    var request = request
    let path = request.uri.path
    let rawQuery = request.uri.query ?? ""
    let method = request.method.rawValue
    let isSandboxPath = path.hasPrefix("/_sandbox/") || path == "/_sandbox"
    let requestID = request.headers[Self.requestIDHeader]

    var fault: String?
    var reply: Reply
    if !isSandboxPath, let wait = sandbox.rateLimiter?.take(request.headers[.authorization] ?? "") {
      var e = APIError(429, "rate_limited", "rate limit exceeded: at most \(sandbox.rateLimitText) requests a second")
      e.askToWait(ms: wait * 1000)
      reply = Reply(error: e)
      fault = "rate-limit"
    } else if !isSandboxPath {
      let (action, delay) = sandbox.faults.draw()
      if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000)) }
      switch action {
      case .reset:
        sandbox.requests.record(method: method, path: path, query: rawQuery, requestID: requestID, status: 0, fault: "reset")
        try await drop(context)
      case .lostReply:
        let done = await handle(&request, path: path, rawQuery: rawQuery)
        sandbox.requests.record(method: method, path: path, query: rawQuery, requestID: requestID, status: done.status, fault: "lost")
        try await drop(context)
      case .status(let code, let retryAfterMs):
        var e = APIError(code, code == 429 ? "rate_limited" : "injected_fault", "fault injected by the sandbox (HTTP \(code))")
        if code == 429 || code == 503 { e.askToWait(ms: retryAfterMs) }
        reply = Reply(error: e)
        fault = String(code)
      case .none:
        reply = await handle(&request, path: path, rawQuery: rawQuery)
      }
    } else {
      reply = await handle(&request, path: path, rawQuery: rawQuery)
    }
    if !isSandboxPath {
      sandbox.requests.record(method: method, path: path, query: rawQuery, requestID: requestID, status: reply.status, fault: fault)
    }
    return reply.response()
  }

  /// Closes the connection without an answer. SO_LINGER 0 turns the close into a
  /// RST: the client sees a dropped connection.
  private func drop(_ context: SandboxContext) async throws -> Never {
    if let provider = context.channel as? any SocketOptionProvider {
      _ = try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
    }
    try? await context.channel.close()
    throw CancellationError()
  }

  private func handle(_ request: inout Request, path: String, rawQuery: String) async -> Reply {
    do {
      let body: ByteBuffer
      do {
        body = try await request.collectBody(upTo: 1 << 20)
      } catch {
        throw APIError(413, "payload_too_large", "the request body is larger than 1 MiB")
      }
      let call = try Call(
        method: request.method.rawValue, path: path, query: Query(rawQuery),
        body: Array(buffer: body), headers: request.headers)
      return try await Router.dispatch(call, sandbox)
    } catch let e as APIError {
      return Reply(error: e)
    } catch {
      sandbox.logger.error("internal error on \(request.method) \(path): \(error)")
      return Reply(error: APIError(500, "internal_error", "the sandbox failed: \(error)"))
    }
  }
}

/// One decoded request as the routes see it.
struct Call: Sendable {
  let method: String
  let segments: [String]
  let query: Query
  let body: [UInt8]
  let headers: HTTPFields

  init(method: String, path: String, query: Query, body: [UInt8], headers: HTTPFields) throws(APIError) {
    self.method = method
    self.query = query
    self.body = body
    self.headers = headers
    var segs: [String] = []
    for s in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
      guard let d = percentDecode(s, plusIsSpace: false) else { throw APIError(404, "not_found", "no such route") }
      segs.append(d)
    }
    segments = segs
  }

  func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }

  /// `expand` and `expand[]`, repeated or comma-separated.
  func expand() throws(APIError) -> (permissions: Bool, totalCount: Bool) {
    var p = false, t = false
    for v in query.all("expand") + query.all("expand[]") {
      for item in v.split(separator: ",", omittingEmptySubsequences: false) {
        switch item {
        case "permissions": p = true
        case "total_count": t = true
        default: throw APIError.badParameter("expand", "accepts permissions and total_count, got '\(item.prefix(100))'")
        }
      }
    }
    return (p, t)
  }
}

/// A response before it becomes a Hummingbird one.
struct Reply: Sendable {
  var status: Int
  var body: [UInt8]
  var headers: [(String, String)] = []
  var contentType = "application/json"

  init(status: Int = 200, body: [UInt8]) {
    self.status = status
    self.body = body
  }

  init(error: APIError) {
    status = error.status
    body = error.body()
    headers = error.headers
  }

  static let noContent = Reply(status: 204, body: [])

  func response() -> Response {
    var h = HTTPFields()
    if status != 204 { h[.contentType] = contentType }
    for (k, v) in headers { if let n = HTTPField.Name(k) { h.append(HTTPField(name: n, value: v)) } }
    let buffer = ByteBuffer(bytes: body)
    return Response(status: .init(code: status), headers: h, body: status == 204 ? .init() : .init(byteBuffer: buffer))
  }
}
