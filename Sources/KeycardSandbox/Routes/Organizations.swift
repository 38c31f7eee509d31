import GRDB

extension SandboxServer {
  static let orgSelect = """
    SELECT seq, id, label, name, zone_id, created_at, updated_at,
      EXISTS(SELECT 1 FROM sso_connections s WHERE s.org = organizations.seq) FROM organizations WHERE
    """

  static func renderOrg(_ w: inout JSONWriter, _ r: RawRow, permissions: Bool) {
    w.beginObject()
    r.field(&w, "id", 1)
    r.field(&w, "created_at", 5)
    r.field(&w, "label", 2)
    r.field(&w, "name", 3)
    w.field("sso_enabled", r.bool(7))
    r.field(&w, "updated_at", 6)
    r.field(&w, "zone_id", 4)
    if permissions { writePermissions(&w, "organizations") }
    w.endObject()
  }

  func listOrganizations(_ r: OrgRequest) async throws -> Reply {
    let page = try PageRequest(r.call.query, tag: "org")
    let (perm, _) = try r.call.expand()
    let who = r.principal
    let body = try await store.read { db in
      let source: PageSource
      if case .organization(let only) = who {
        source = PageSource(select: SandboxServer.orgSelect + " seq = ?", args: [only])
      } else {
        source = PageSource(select: SandboxServer.orgSelect + " 1", args: [])
      }
      let p = try fetchPage(db, [source], page) { SandboxServer.renderOrg(&$0, $1, permissions: perm) }
      return listBody(p, tag: "org", listPermissions: perm ? "organizations" : nil)
    }
    return Reply(body: body)
  }

  func createOrganization(_ r: OrgRequest) async throws -> Reply {
    guard r.principal.mayCreateOrganizations() else {
      throw APIError(403, "forbidden", "an organization access token cannot create organizations")
    }
    let body = try Body(r.call.body)
    let name = try body.string("name").value ?? "Untitled organization"
    let (perm, _) = try r.call.expand()
    let admin = adminEmail
    let out = try await store.write { db in
      let seq = try Store.nextSeq(db)
      let now = Clock.now()
      // The API key stands for a user, who becomes the new organization's first
      // active org_admin, as in Keycard.
      let owner = Ids.nanoid()
      try exec(
        db, "INSERT INTO organizations(seq, id, label, name, zone_id, created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, Ids.nanoid(), try uniqueLabel(db, for: name), name, Ids.nanoid(), now, now, owner])
      try Store.insertUser(db, id: owner, org: seq, email: admin, role: "org_admin", status: "active", now: now)
      return try SandboxServer.orgBody(db, seq, perm)
    }
    return Reply(status: 201, body: out)
  }

  static func orgBody(_ db: Database, _ seq: Int64, _ perm: Bool) throws -> [UInt8] {
    guard let body = try renderOne(db, orgSelect + " seq = ?", [seq], { renderOrg(&$0, $1, permissions: perm) }) else {
      throw APIError.notFound("organization")
    }
    return body
  }

  func getOrganization(_ r: OrgRequest) async throws -> Reply {
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.read { db in
      try SandboxServer.orgBody(db, try findOrg(db, r.org, r.principal).seq, perm)
    })
  }

  func updateOrganization(_ r: OrgRequest) async throws -> Reply {
    let body = try Body(r.call.body)
    let name = try body.string("name").value
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      if let name, name != org.name {
        try exec(db, "UPDATE organizations SET name = ?, updated_at = ? WHERE seq = ?", [name, Clock.now(), org.seq])
      }
      return try SandboxServer.orgBody(db, org.seq, perm)
    })
  }

  func exchangeToken(_ r: OrgRequest) async throws -> Reply {
    _ = try Body(r.call.body)
    let ttl = tokenTTL
    let token = try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      return try SandboxServer.issueToken(db, org: org.seq, credential: nil, subject: "organization:\(org.id)", ttl: ttl)
    }
    return Reply(body: SandboxServer.tokenJSON(token, ttl: ttl))
  }

  func listRoles(_ r: OrgRequest) async throws -> Reply {
    let scope = try r.call.query.one("scope")
    if let scope, scope != "organization" && scope != "zone" {
      throw APIError.badParameter("scope", "must be organization or zone, got '\(scope.prefix(100))'")
    }
    let (perm, _) = try r.call.expand()
    _ = try await store.read { db in try findOrg(db, r.org, r.principal).seq }
    var w = JSONWriter()
    w.beginObject()
    w.key("items")
    w.beginArray()
    for role in Roles.all where scope == nil || role.scope == scope {
      w.beginObject()
      w.field("description", role.description)
      w.field("label", role.label)
      w.field("name", role.name)
      w.field("scope", role.scope)
      w.endObject()
    }
    w.endArray()
    if perm { writePermissions(&w, "roles", ["list"]) }
    w.endObject()
    return Reply(body: w.bytes)
  }

  /// Users and invitations of an organization, in one list ordered by creation.
  func listIdentities(_ r: OrgRequest) async throws -> Reply {
    let q = r.call.query
    let page = try PageRequest(q, tag: "idn")
    let (perm, total) = try r.call.expand()
    let role = try q.role()
    let email = try q.one("query[email]") ?? q.one("query.email")
    let now = Clock.now()
    let body = try await store.read { db in
      let org = try findOrg(db, r.org, r.principal)
      var filter = ""
      var args: [(any DatabaseValueConvertible)?] = [org.seq]
      if let role { filter += " AND role = ?"; args.append(role) }
      if let email, !email.isEmpty {
        filter += " AND email LIKE ? ESCAPE '\\'"
        args.append("%" + email.replacing("\\", with: "\\\\").replacing("%", with: "\\%").replacing("_", with: "\\_") + "%")
      }
      let users = PageSource(
        select: "SELECT seq, id, created_at, email, role, source, status, 'user', updated_at, NULL FROM users WHERE org = ?" + filter, args: args)
      let invitations = PageSource(
        select: "SELECT seq, id, created_at, email, role, '', status, 'invitation', updated_at, expires_at FROM invitations WHERE org = ?" + filter,
        args: args)
      let p = try fetchPage(db, [users, invitations], page) { w, row in
        w.beginObject()
        row.field(&w, "id", 1)
        row.field(&w, "created_at", 2)
        row.field(&w, "email", 3)
        row.field(&w, "role", 4)
        row.field(&w, "source", 5)
        w.field("status", SandboxServer.invitationStatus(row.string(6), expiresAt: row.isNull(9) ? nil : row.string(9), now: now))
        row.field(&w, "type", 7)
        row.field(&w, "updated_at", 8)
        if perm { writePermissions(&w, row.string(7) == "user" ? "users" : "invitations") }
        w.endObject()
      }
      var count: Int?
      if total {
        count = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM users WHERE org = ?" + filter), arguments: StatementArguments(args))! +
          Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM invitations WHERE org = ?" + filter), arguments: StatementArguments(args))!
      }
      return listBody(p, tag: "idn", listPermissions: perm ? "identities" : nil, extra: { w in
        w.key("pagination")
        w.beginObject()
        if let first = p.firstSeq, let last = p.lastSeq {
          w.field("after_cursor", Cursor.encode(tag: "idn", seq: last))
          w.field("before_cursor", Cursor.encode(tag: "idn", seq: first))
        }
        if let count { w.field("total_count", count) }
        w.endObject()
      })
    }
    return Reply(body: body)
  }
}
