import GRDB

/// Who is calling: the API key (every organization) or an access token bound to one
/// organization (from the token exchange or a service account's client credentials).
enum Principal: Sendable {
  case admin
  case organization(Int64)

  func mayCreateOrganizations() -> Bool { if case .admin = self { return true }; return false }
}

extension SandboxServer {
  func authenticate(_ call: Call) async throws -> Principal {
    guard let auth = call.headers[.authorization] else { throw APIError.unauthorized }
    let parts = auth.split(separator: " ", maxSplits: 1)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthorized }
    let presented = parts[1].trimmingSpaces
    if constantTimeEqual(presented, apiKey) { return .admin }
    let hash = SHA256.hex(presented)
    let now = Clock.nowSeconds()
    let found: (Int64?, Double)? = try await store.read { db in
      guard let r = try fetchRow(db, "SELECT org, expires_at FROM tokens WHERE hash = ?", [hash]) else { return nil }
      return (r[0] as Int64?, r[1] as Double)
    }
    guard let (org, expires) = found else { throw APIError.unauthorized }
    guard expires > now else { throw APIError(401, "token_expired", "the access token has expired; fetch a new one") }
    guard let org else { throw APIError.unauthorized }
    return .organization(org)
  }

  /// Stores a new access token (hashed) and returns it with its lifetime.
  static func issueToken(_ db: Database, org: Int64, credential: Int64?, subject: String, ttl: Int) throws -> String {
    let token = Ids.secret(prefix: "kcat_")
    let now = Clock.nowSeconds()
    try exec(db, "DELETE FROM tokens WHERE expires_at < ?", [now - 3600])
    try exec(
      db, "INSERT INTO tokens(hash, org, credential, subject, expires_at) VALUES (?, ?, ?, ?, ?)",
      [SHA256.hex(token), org, credential, subject, now + Double(ttl)])
    return token
  }

  static func tokenJSON(_ token: String, ttl: Int) -> [UInt8] {
    var w = JSONWriter()
    w.beginObject()
    w.field("access_token", token)
    w.field("token_type", "Bearer")
    w.field("expires_in", ttl)
    w.endObject()
    return w.bytes
  }

  /// POST /service-account-token: the OAuth 2.0 client credentials grant, with the
  /// client in HTTP Basic or in the form body.
  func clientCredentials(_ call: Call) async throws -> Reply {
    let form = try Query(String(decoding: call.body, as: UTF8.self).trimmingSpaces)
    func oauthError(_ status: Int, _ code: String, _ message: String) -> APIError {
      var e = APIError(status, code, message)
      if status == 401 { e.headers.append(("WWW-Authenticate", "Basic realm=\"keycard\"")) }
      return e
    }
    guard let grant = try form.one("grant_type") else {
      throw oauthError(400, "invalid_request", "form field 'grant_type' is required (client_credentials)")
    }
    guard grant == "client_credentials" else {
      throw oauthError(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
    }
    var clientID = try form.one("client_id")
    var secret = try form.one("client_secret")
    if let auth = call.header("Authorization") {
      let parts = auth.split(separator: " ", maxSplits: 1)
      if parts.count == 2, parts[0].lowercased() == "basic",
        let raw = Base64URL.decode(String(parts[1]).replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")),
        let text = String(validating: raw, as: UTF8.self)
      {
        let kv = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if kv.count == 2 {
          clientID = percentDecode(kv[0], plusIsSpace: true) ?? String(kv[0])
          secret = percentDecode(kv[1], plusIsSpace: true) ?? String(kv[1])
        }
      }
    }
    guard let clientID, let secret else {
      throw oauthError(401, "invalid_client", "client authentication failed: send client_id and client_secret")
    }
    let ttl = tokenTTL
    let token: String? = try await store.write { db in
      guard let r = try fetchRow(
        db, "SELECT c.seq, c.secret_hash, s.org, s.id FROM credentials c JOIN service_accounts s ON s.seq = c.sa WHERE c.client_id = ?",
        [clientID])
      else { return nil }
      guard (r[1] as String) == SHA256.hex(secret) else { return nil }
      let cred: Int64 = r[0]
      try exec(db, "UPDATE credentials SET last_used_at = ? WHERE seq = ?", [Clock.now(), cred])
      return try SandboxServer.issueToken(db, org: r[2], credential: cred, subject: r[3], ttl: ttl)
    }
    guard let token else { throw oauthError(401, "invalid_client", "client authentication failed: unknown client or wrong secret") }
    return Reply(body: SandboxServer.tokenJSON(token, ttl: ttl))
  }
}

/// Compares without stopping at the first difference, so timing tells nothing.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
  let x = Array(a.utf8), y = Array(b.utf8)
  guard x.count == y.count else { return false }
  var diff: UInt8 = 0
  for i in 0..<x.count { diff |= x[i] ^ y[i] }
  return diff == 0
}
