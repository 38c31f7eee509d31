import GRDB

extension SandboxServer {
  static let invitationSelect = """
    SELECT i.seq, i.id, i.created_at, i.created_by, i.email, i.expires_at, o.id, i.role, i.status, i.updated_at
    FROM invitations i JOIN organizations o ON o.seq = i.org WHERE
    """
  static let userSource = "https://sandbox.keycard.local"

  /// The status an invitation shows at `now`: a pending one past its expiry is expired
  /// (nothing rewrites the row when it lapses). `expiresAt` nil never expires.
  static func invitationStatus(_ stored: String, expiresAt: @autoclosure () -> String?, now: String) -> String {
    guard stored == "pending", let expires = expiresAt(), expires < now else { return stored }
    return "expired"
  }

  static func renderInvitation(_ w: inout JSONWriter, _ r: RawRow, now: String, permissions: Bool) {
    w.beginObject()
    r.field(&w, "id", 1)
    r.field(&w, "created_at", 2)
    r.field(&w, "created_by", 3)
    r.field(&w, "email", 4)
    let expires = r.string(5)
    w.field("expires_at", expires)
    r.field(&w, "organization_id", 6)
    r.field(&w, "role", 7)
    w.field("status", invitationStatus(r.string(8), expiresAt: expires, now: now))
    r.field(&w, "updated_at", 9)
    if permissions { writePermissions(&w, "invitations", ["read", "delete"]) }
    w.endObject()
  }

  func listInvitations(_ r: OrgRequest) async throws -> Reply {
    let page = try PageRequest(r.call.query, tag: "inv")
    let (perm, _) = try r.call.expand()
    let now = Clock.now()
    let body = try await store.read { db in
      let org = try findOrg(db, r.org, r.principal)
      // The paging condition names `seq`: qualify it through a subquery alias.
      let source = PageSource(select: "SELECT * FROM (\(SandboxServer.invitationSelect) i.org = ?) WHERE 1", args: [org.seq])
      let p = try fetchPage(db, [source], page) { SandboxServer.renderInvitation(&$0, $1, now: now, permissions: perm) }
      return listBody(p, tag: "inv", listPermissions: perm ? "invitations" : nil)
    }
    return Reply(body: body)
  }

  func createInvitation(_ r: OrgRequest) async throws -> Reply {
    let body = try Body(r.call.body)
    let email = try body.email("email")
    guard let role = try body.enumValue("role", Roles.organization) else { throw APIError.invalidField("role", "is required") }
    let (perm, _) = try r.call.expand()
    let token = Ids.secret(prefix: "kcinv_")
    let ttl = invitationTTL
    let (out, org, id) = try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      let nowT = Clock.nowSeconds()
      let now = Clock.format(nowT)
      if try exists(db, "SELECT 1 FROM users WHERE org = ? AND email = ? COLLATE NOCASE", [org.seq, email]) {
        throw APIError(409, "already_member", "\(email) is already a member of this organization")
      }
      // A pending invitation past its expiry no longer blocks a new one.
      try exec(
        db, "UPDATE invitations SET status = 'expired', updated_at = ? WHERE org = ? AND email = ? COLLATE NOCASE AND status = 'pending' AND expires_at < ?",
        [now, org.seq, email, now])
      if try exists(db, "SELECT 1 FROM invitations WHERE org = ? AND email = ? COLLATE NOCASE AND status = 'pending'", [org.seq, email]) {
        throw APIError(409, "invitation_pending", "\(email) already has a pending invitation to this organization")
      }
      let seq = try Store.nextSeq(db)
      let id = Ids.nanoid()
      try exec(
        db, """
          INSERT INTO invitations(seq, id, org, email, role, status, token_hash, created_by, expires_at, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)
          """,
        [seq, id, org.seq, email, role, SHA256.hex(token), org.owner, Clock.format(nowT + ttl), now, now])
      let body = try renderOne(db, SandboxServer.invitationSelect + " i.seq = ?", [seq]) {
        SandboxServer.renderInvitation(&$0, $1, now: now, permissions: perm)
      }
      return (body ?? [], org, id)
    }
    outbox.send(Outbox.Mail(
      id: Ids.nanoid(), to: email, subject: "You are invited to \(org.name) on Keycard", token: token,
      invitationID: id, organizationID: org.id, organizationName: org.name, role: role, sentAt: Clock.now()))
    return Reply(status: 201, body: out)
  }

  /// DELETE revokes, as Keycard does: the invitation stays listed as `revoked`
  /// and can no longer be accepted. Revoking it again answers 404, like a delete
  /// of something gone; one that was accepted or has expired is a conflict.
  func deleteInvitation(_ r: OrgRequest, _ id: String) async throws -> Reply {
    _ = try Body(r.call.body)
    try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      let now = Clock.now()
      guard let row = try fetchRow(db, "SELECT seq, status, expires_at FROM invitations WHERE org = ? AND id = ?", [org.seq, id]) else {
        throw APIError.notFound("invitation '\(id.prefix(100))'")
      }
      switch SandboxServer.invitationStatus(row[1], expiresAt: row[2] as String, now: now) {
      case "pending":
        try exec(db, "UPDATE invitations SET status = 'revoked', updated_at = ? WHERE seq = ?", [now, row[0] as Int64])
      case "revoked":
        throw APIError.notFound("invitation '\(id.prefix(100))' (already revoked)")
      case let status:
        throw APIError(409, "invitation_not_pending", "this invitation is \(status): only a pending one can be revoked")
      }
    }
    return .noContent
  }

  /// GET /invitations/{token}: what the invitee sees before accepting (no credentials).
  func publicInvitation(token: String) async throws -> Reply {
    let now = Clock.now()
    let body = try await store.read { db in
      guard let r = try fetchRow(
        db, """
          SELECT i.email, i.expires_at, o.name, i.role, i.status FROM invitations i
          JOIN organizations o ON o.seq = i.org WHERE i.token_hash = ?
          """, [SHA256.hex(token)])
      else { throw APIError.notFound("invitation") }
      return entityBody { w in
        w.beginObject()
        w.field("created_by_name", "Sandbox Admin")
        w.field("email", r[0] as String)
        let exp: String = r[1]
        w.field("expires_at", exp)
        w.field("organization_name", r[2] as String)
        w.field("role", r[3] as String)
        w.field("status", SandboxServer.invitationStatus(r[4], expiresAt: exp, now: now))
        w.endObject()
      }
    }
    return Reply(body: body)
  }

  /// POST /invitations/{token}/accept: the invitee becomes an active user.
  func acceptInvitation(token: String, _ call: Call) async throws -> Reply {
    _ = try Body(call.body)
    let body = try await store.write { db in
      guard let r = try fetchRow(
        db, """
          SELECT i.seq, i.org, i.email, i.role, i.status, i.expires_at, o.id, o.name FROM invitations i
          JOIN organizations o ON o.seq = i.org WHERE i.token_hash = ?
          """, [SHA256.hex(token)])
      else { throw APIError.notFound("invitation") }
      let now = Clock.now()
      let status = SandboxServer.invitationStatus(r[4], expiresAt: r[5] as String, now: now)
      guard status == "pending" else {
        throw APIError(409, "invitation_not_pending", status == "expired" ? "this invitation has expired" : "this invitation is \(status)")
      }
      let org: Int64 = r[1], email: String = r[2]
      if try exists(db, "SELECT 1 FROM users WHERE org = ? AND email = ? COLLATE NOCASE", [org, email]) {
        throw APIError(409, "already_member", "\(email) is already a member of this organization")
      }
      try exec(db, "UPDATE invitations SET status = 'accepted', updated_at = ? WHERE seq = ?", [now, r[0] as Int64])
      let userID = Ids.nanoid()
      try Store.insertUser(db, id: userID, org: org, email: email, role: r[3], status: "active", now: now)
      return entityBody { w in
        w.beginObject()
        w.field("organization_id", r[6] as String)
        w.field("organization_name", r[7] as String)
        w.field("success", true)
        w.field("user_id", userID)
        w.endObject()
      }
    }
    return Reply(body: body)
  }
}
