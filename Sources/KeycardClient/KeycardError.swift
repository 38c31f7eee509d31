import Synchronization

/// A failed API call, as scripts see it: an API answer that was not 2xx, or
/// no answer at all. Its text never contains a key, secret or token: every
/// message passes through the client's redactor before it gets here.
public struct KeycardError: Error, Sendable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    case api  // the server answered with an error status
    case transport  // no answer: connection, timeout, reset, TLS
    case cancelled  // cancelled or interrupted (Ctrl-C)
    case auth  // could not obtain a token: credentials rejected, no credentials
    case config  // bad configuration: profile, config file, secret command
    case decode  // the answer was not the JSON it should be
  }

  public var kind: Kind
  public var status: Int?
  public var code: String?
  public var message: String
  public var method: String?
  public var path: String?
  public var requestID: String?
  public var attempts: Int

  public init(
    kind: Kind, status: Int? = nil, code: String? = nil, message: String, method: String? = nil,
    path: String? = nil, requestID: String? = nil, attempts: Int = 0
  ) {
    self.kind = kind
    self.status = status
    self.code = code
    self.message = message
    self.method = method
    self.path = path
    self.requestID = requestID
    self.attempts = attempts
  }

  /// One line: "404 not_found: Organization not found (GET /organizations/x,
  /// request 5f…, 1 attempt)".
  public var description: String {
    Self.describe(
      kind: kind.rawValue, status: status, code: code, message: message, method: method, path: path,
      requestID: requestID, attempts: attempts)
  }

  /// The one formatting of an API failure: `description`, and `tostring` of
  /// a kc.Error in Lua (whose kind is any string a script put there).
  public static func describe(
    kind: String, status: Int?, code: String?, message: String, method: String?, path: String?,
    requestID: String?, attempts: Int
  ) -> String {
    var head: String
    if kind == Kind.api.rawValue {
      head = status.map(String.init) ?? "error"
      if let code, !code.isEmpty { head += " \(code)" }
    } else {
      head = kind + " error"
    }
    var context: [String] = []
    if let method, let path { context.append("\(method) \(path)") }
    if let requestID { context.append("request \(requestID)") }
    if attempts > 0 { context.append(attempts == 1 ? "1 attempt" : "\(attempts) attempts") }
    return "\(head): \(message)" + (context.isEmpty ? "" : " (\(context.joined(separator: ", ")))")
  }
}

/// Replaces every known secret in a text with "[redacted]", so no message,
/// trace or error can carry one even when a server echoes it back.
public final class Redactor: Sendable {
  private let secrets = Mutex<Set<String>>([])

  public init() {}

  public func add(_ secret: String) {
    // Short strings would redact ordinary words; real secrets are long.
    guard secret.utf8.count >= 8 else { return }
    secrets.withLock { _ = $0.insert(secret) }
  }

  public func scrub(_ text: String) -> String {
    let all = secrets.withLock { $0 }
    var text = text
    for s in all where text.contains(s) { text = text.replacing(s, with: "[redacted]") }
    return text
  }
}
