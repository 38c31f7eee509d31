import GRDB

extension SandboxServer {
  static let ssoSelect = "SELECT id, client_id, secret_hash, created_at, identifier, updated_at, protocols FROM sso_connections WHERE org = ?"

  /// Fields of each protocol and whether they hold a string, a string list or a string map.
  private enum Kind { case string, list, map }
  private static let protocolFields: [String: [String: Kind]] = [
    "oauth2": [
      "authorization_endpoint": .string, "authorization_parameters": .map, "code_challenge_methods_supported": .list,
      "jwks_uri": .string, "registration_endpoint": .string, "scopes_supported": .list, "token_endpoint": .string,
    ],
    "openid": ["scopes": .list, "user_identifier_claim": .string, "userinfo_endpoint": .string],
  ]

  /// Applies a `protocols` value to the stored one: a missing key leaves a field alone,
  /// null clears it, a value sets it (the API's tri-state PATCH).
  static func mergeProtocols(_ current: [String: JSON], _ patch: JSON) throws(APIError) -> [String: JSON] {
    guard case .object(let p) = patch else {
      if case .null = patch { return [:] }
      throw APIError.invalidField("protocols", "must be an object, not \(patch.typeName)")
    }
    var out = current
    for (proto, fields) in protocolFields {
      guard let v = p[proto] else { continue }
      let path = "protocols.\(proto)"
      if case .null = v { out[proto] = nil; continue }
      guard case .object(let given) = v else { throw APIError.invalidField(path, "must be an object, not \(v.typeName)") }
      var cur: [String: JSON] = [:]
      if case .object(let c)? = out[proto] { cur = c }
      for (name, kind) in fields {
        guard let fv = given[name] else { continue }
        let fpath = "\(path).\(name)"
        switch (kind, fv) {
        case (_, .null): cur[name] = nil
        case (.string, .string(let s)):
          guard s.count <= 2048 else { throw APIError.invalidField(fpath, "must be at most 2048 characters") }
          cur[name] = fv
        case (.list, .array(let a)):
          guard a.allSatisfy({ $0.stringValue != nil }) else { throw APIError.invalidField(fpath, "must be a list of strings") }
          cur[name] = fv
        case (.map, .object(let m)):
          guard m.values.allSatisfy({ $0.stringValue != nil }) else { throw APIError.invalidField(fpath, "must map strings to strings") }
          cur[name] = fv
        default:
          let want = kind == .string ? "a string" : kind == .list ? "a list of strings" : "an object of strings"
          throw APIError.invalidField(fpath, "must be \(want), not \(fv.typeName)")
        }
      }
      out[proto] = .object(cur)
    }
    return out
  }

  static func ssoBody(_ db: Database, _ org: OrgRef, _ perm: Bool) throws -> [UInt8] {
    guard let r = try fetchRow(db, ssoSelect, [org.seq]) else {
      throw APIError(404, "not_found", "SSO is not enabled for this organization")
    }
    return entityBody { w in
      w.beginObject()
      w.field("id", r[0] as String)
      w.field("client_id", r[1] as String)
      w.field("client_secret_set", (r[2] as String?) != nil)
      w.field("created_at", r[3] as String)
      w.field("identifier", r[4] as String)
      w.field("updated_at", r[5] as String)
      if let p = r[6] as String? { w.key("protocols"); w.raw(p) }
      if perm { writePermissions(&w, "sso_connection") }
      w.endObject()
    }
  }

  /// What the protocols column holds: no protocols at all is NULL (the
  /// field is then left out), after an enable as after an update.
  static func protocolsColumn(_ protocols: [String: JSON]) -> String? {
    protocols.isEmpty ? nil : JSON.object(protocols).text
  }

  private struct SSOInput: Sendable {
    var identifier: Body.Field<String>
    var clientID: Body.Field<String>
    var secret: Body.Field<String>
    var protocols: JSON?
  }

  private func ssoInput(_ call: Call) throws(APIError) -> SSOInput {
    let b = try Body(call.body)
    return SSOInput(
      identifier: try b.string("identifier", maxLength: 2048),
      clientID: try b.string("client_id", maxLength: 2048),
      secret: try b.string("client_secret", maxLength: 4096, nullable: true),
      protocols: b.fields["protocols"])
  }

  func enableSSO(_ r: OrgRequest) async throws -> Reply {
    let input = try ssoInput(r.call)
    guard let identifier = input.identifier.value else { throw APIError.invalidField("identifier", "is required") }
    guard let clientID = input.clientID.value else { throw APIError.invalidField("client_id", "is required") }
    let protocols = try input.protocols.map { p throws(APIError) in try SandboxServer.mergeProtocols([:], p) }
    let (perm, _) = try r.call.expand()
    return Reply(status: 201, body: try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      if try exists(db, "SELECT 1 FROM sso_connections WHERE org = ?", [org.seq]) {
        throw APIError(409, "sso_already_enabled", "SSO is already enabled for this organization; update or disable it")
      }
      let now = Clock.now()
      try exec(
        db, "INSERT INTO sso_connections(org, id, identifier, client_id, secret_hash, protocols, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [org.seq, Ids.nanoid(), identifier, clientID, input.secret.value.map(SHA256.hex), protocols.flatMap(SandboxServer.protocolsColumn), now, now])
      try exec(db, "UPDATE organizations SET updated_at = ? WHERE seq = ?", [now, org.seq])
      return try SandboxServer.ssoBody(db, org, perm)
    })
  }

  func getSSO(_ r: OrgRequest) async throws -> Reply {
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.read { db in try SandboxServer.ssoBody(db, try findOrg(db, r.org, r.principal), perm) })
  }

  func updateSSO(_ r: OrgRequest) async throws -> Reply {
    let input = try ssoInput(r.call)
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      guard let cur = try fetchRow(db, "SELECT protocols FROM sso_connections WHERE org = ?", [org.seq]) else {
        throw APIError(404, "not_found", "SSO is not enabled for this organization")
      }
      var protocolsText: String? = cur[0]
      if let patch = input.protocols {
        var current: [String: JSON] = [:]
        if let t = protocolsText, case .object(let o)? = try? JSONParser.parse(Array(t.utf8)) { current = o }
        protocolsText = SandboxServer.protocolsColumn(try SandboxServer.mergeProtocols(current, patch))
      }
      try exec(
        db, """
          UPDATE sso_connections SET identifier = coalesce(?, identifier), client_id = coalesce(?, client_id),
            secret_hash = CASE WHEN ? THEN ? ELSE secret_hash END, protocols = ?, updated_at = ? WHERE org = ?
          """,
        [input.identifier.value, input.clientID.value,
         !input.secret.isAbsent, input.secret.value.map(SHA256.hex), protocolsText, Clock.now(), org.seq])
      return try SandboxServer.ssoBody(db, org, perm)
    })
  }

  func disableSSO(_ r: OrgRequest) async throws -> Reply {
    _ = try Body(r.call.body)
    try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      try exec(db, "DELETE FROM sso_connections WHERE org = ?", [org.seq])
      if db.changesCount == 0 { throw APIError(404, "not_found", "SSO is not enabled for this organization") }
      try exec(db, "UPDATE organizations SET updated_at = ? WHERE seq = ?", [Clock.now(), org.seq])
    }
    return .noContent
  }
}
