import GRDB

extension SandboxServer {
  static let saSelect = "SELECT seq, id, created_at, name, updated_at, description FROM service_accounts WHERE"
  static let credSelect = "SELECT seq, id, client_id, created_at, name, description, last_used_at FROM credentials WHERE"

  static func renderSA(_ w: inout JSONWriter, _ r: RawRow, permissions: Bool) {
    w.beginObject()
    r.field(&w, "id", 1)
    r.field(&w, "created_at", 2)
    r.field(&w, "name", 3)
    r.field(&w, "updated_at", 4)
    r.field(&w, "description", 5, omitNull: true)
    if permissions { writePermissions(&w, "service_accounts") }
    w.endObject()
  }

  static func renderCredential(_ w: inout JSONWriter, _ r: RawRow, permissions: Bool) {
    w.beginObject()
    r.field(&w, "id", 1)
    r.field(&w, "client_id", 2)
    r.field(&w, "created_at", 3)
    r.field(&w, "name", 4)
    r.field(&w, "description", 5, omitNull: true)
    r.field(&w, "last_used_at", 6, omitNull: true)
    if permissions { writePermissions(&w, "credentials") }
    w.endObject()
  }

  func listServiceAccounts(_ r: OrgRequest) async throws -> Reply {
    let page = try PageRequest(r.call.query, tag: "sa")
    let (perm, _) = try r.call.expand()
    let body = try await store.read { db in
      let org = try findOrg(db, r.org, r.principal)
      let p = try fetchPage(db, [PageSource(select: SandboxServer.saSelect + " org = ?", args: [org.seq])], page) {
        SandboxServer.renderSA(&$0, $1, permissions: perm)
      }
      return listBody(p, tag: "sa", listPermissions: perm ? "service_accounts" : nil)
    }
    return Reply(body: body)
  }

  /// The service account `id` of `org` in one query, or a 404.
  static func saBody(_ db: Database, org: OrgRef, _ id: String, _ perm: Bool) throws -> [UInt8] {
    guard let body = try renderOne(db, saSelect + " org = ? AND id = ?", [org.seq, id], { renderSA(&$0, $1, permissions: perm) }) else {
      throw APIError.notFound("service account '\(id.prefix(100))'")
    }
    return body
  }

  /// The service account `id` of `org`, or a 404.
  static func findSA(_ db: Database, _ org: OrgRef, _ id: String) throws -> Int64 {
    guard let seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM service_accounts WHERE org = ? AND id = ?"), arguments: [org.seq, id])
    else { throw APIError.notFound("service account '\(id.prefix(100))'") }
    return seq
  }

  func createServiceAccount(_ r: OrgRequest) async throws -> Reply {
    let body = try Body(r.call.body)
    let name = try body.requiredString("name")
    let description = try body.string("description", maxLength: 1000, minLength: 0, nullable: true).value
    let (perm, _) = try r.call.expand()
    return Reply(status: 201, body: try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      let id = Ids.nanoid(), now = Clock.now()
      try exec(
        db, "INSERT INTO service_accounts(seq, id, org, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [try Store.nextSeq(db), id, org.seq, name, description, now, now])
      return try SandboxServer.saBody(db, org: org, id, perm)
    })
  }

  func getServiceAccount(_ r: OrgRequest, _ id: String) async throws -> Reply {
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.read { db in
      try SandboxServer.saBody(db, org: try findOrg(db, r.org, r.principal), id, perm)
    })
  }

  func updateServiceAccount(_ r: OrgRequest, _ id: String) async throws -> Reply {
    let body = try Body(r.call.body)
    let name = try body.string("name").value
    let description = try body.string("description", maxLength: 1000, minLength: 0, nullable: true)
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      if name != nil || !(description.isAbsent) {
        try exec(
          db, """
            UPDATE service_accounts SET name = coalesce(?, name),
              description = CASE WHEN ? THEN ? ELSE description END, updated_at = ? WHERE org = ? AND id = ?
            """,
          [name, !description.isAbsent, description.value, Clock.now(), org.seq, id])
      }
      // A missing account updated nothing, and its body is the 404.
      return try SandboxServer.saBody(db, org: org, id, perm)
    })
  }

  func deleteServiceAccount(_ r: OrgRequest, _ id: String) async throws -> Reply {
    try await deleteInOrg(r, table: "service_accounts", id: id, what: "service account")
  }

  // MARK: credentials

  func listCredentials(_ r: OrgRequest, sa: String) async throws -> Reply {
    let page = try PageRequest(r.call.query, tag: "cred")
    let (perm, _) = try r.call.expand()
    let body = try await store.read { db in
      let saSeq = try SandboxServer.findSA(db, try findOrg(db, r.org, r.principal), sa)
      let p = try fetchPage(db, [PageSource(select: SandboxServer.credSelect + " sa = ?", args: [saSeq])], page) {
        SandboxServer.renderCredential(&$0, $1, permissions: perm)
      }
      return listBody(p, tag: "cred", listPermissions: perm ? "credentials" : nil)
    }
    return Reply(body: body)
  }

  static func findCredential(_ db: Database, _ r: OrgRequest, sa: String, _ id: String) throws -> Int64 {
    let saSeq = try findSA(db, try findOrg(db, r.org, r.principal), sa)
    guard let seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM credentials WHERE sa = ? AND id = ?"), arguments: [saSeq, id])
    else { throw APIError.notFound("credential '\(id.prefix(100))'") }
    return seq
  }

  /// The credential `id` of the service account with row key `sa`, or a 404.
  static func credentialBody(_ db: Database, sa: Int64, _ id: String, _ perm: Bool) throws -> [UInt8] {
    guard let body = try renderOne(db, credSelect + " sa = ? AND id = ?", [sa, id], { renderCredential(&$0, $1, permissions: perm) }) else {
      throw APIError.notFound("credential '\(id.prefix(100))'")
    }
    return body
  }

  /// The only answer that ever holds the client secret; only its hash is kept.
  func createCredential(_ r: OrgRequest, sa: String) async throws -> Reply {
    let body = try Body(r.call.body)
    let name = try body.requiredString("name")
    let description = try body.string("description", maxLength: 1000, minLength: 0, nullable: true).value
    let secret = Ids.secret(prefix: "kcsec_")
    return Reply(status: 201, body: try await store.write { db in
      let saSeq = try SandboxServer.findSA(db, try findOrg(db, r.org, r.principal), sa)
      let seq = try Store.nextSeq(db)
      let id = Ids.nanoid(), clientID = "kcc_" + Ids.nanoid(), now = Clock.now()
      try exec(
        db, "INSERT INTO credentials(seq, id, sa, client_id, secret_hash, name, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, id, saSeq, clientID, SHA256.hex(secret), name, description, now])
      return entityBody { w in
        w.beginObject()
        w.field("id", id)
        w.field("client_id", clientID)
        w.field("client_secret", secret)
        w.field("created_at", now)
        w.field("name", name)
        if let description { w.field("description", description) }
        w.endObject()
      }
    })
  }

  func getCredential(_ r: OrgRequest, sa: String, _ id: String) async throws -> Reply {
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.read { db in
      try SandboxServer.credentialBody(db, sa: try SandboxServer.findSA(db, try findOrg(db, r.org, r.principal), sa), id, perm)
    })
  }

  func updateCredential(_ r: OrgRequest, sa: String, _ id: String) async throws -> Reply {
    let body = try Body(r.call.body)
    let name = try body.string("name").value
    let description = try body.string("description", maxLength: 1000, minLength: 0, nullable: true)
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.write { db in
      let saSeq = try SandboxServer.findSA(db, try findOrg(db, r.org, r.principal), sa)
      try exec(
        db, "UPDATE credentials SET name = coalesce(?, name), description = CASE WHEN ? THEN ? ELSE description END WHERE sa = ? AND id = ?",
        [name, !description.isAbsent, description.value, saSeq, id])
      return try SandboxServer.credentialBody(db, sa: saSeq, id, perm)
    })
  }

  func deleteCredential(_ r: OrgRequest, sa: String, _ id: String) async throws -> Reply {
    _ = try Body(r.call.body)
    try await store.write { db in
      let seq = try SandboxServer.findCredential(db, r, sa: sa, id)
      try exec(db, "DELETE FROM credentials WHERE seq = ?", [seq])
    }
    return .noContent
  }
}

extension Body.Field {
  var isAbsent: Bool { if case .absent = self { return true }; return false }
}
