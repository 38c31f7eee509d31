/// An error answer: every non-2xx body is {"message", "code", "status"}.
public struct APIError: Error, Sendable {
  public let status: Int
  public let code: String
  public let message: String
  /// Extra headers (Retry-After, Allow, WWW-Authenticate).
  public var headers: [(String, String)] = []

  public init(_ status: Int, _ code: String, _ message: String) {
    self.status = status
    self.code = code
    self.message = message
  }

  static func notFound(_ what: String) -> APIError { APIError(404, "not_found", "\(what) not found") }
  static func badParameter(_ name: String, _ why: String) -> APIError {
    APIError(400, "invalid_parameter", "query parameter '\(name)' \(why)")
  }
  static func invalidField(_ name: String, _ why: String) -> APIError {
    APIError(422, "validation_error", "field '\(name)' \(why)")
  }
  static let unauthorized = APIError(401, "unauthorized", "missing or invalid credentials (send Authorization: Bearer <api key or access token>)")

  /// Retry-After in whole seconds (rounded up), and the exact wait for clients
  /// that read retry-after-ms.
  mutating func askToWait(ms: Double) {
    headers.append(("Retry-After", String(Int((ms / 1000).rounded(.up)))))
    headers.append(("retry-after-ms", String(Int(ms.rounded(.up)))))
  }

  func body() -> [UInt8] {
    var w = JSONWriter()
    w.beginObject()
    w.field("message", message)
    w.field("code", code)
    w.field("status", status)
    w.endObject()
    return w.bytes
  }
}
