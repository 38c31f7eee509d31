import GRDB

extension SandboxServer {
  static let userSelect = "SELECT seq, id, created_at, email, role, source, status, updated_at FROM users WHERE"

  static func renderUser(_ w: inout JSONWriter, _ r: RawRow, permissions: Bool) {
    w.beginObject()
    r.field(&w, "id", 1)
    r.field(&w, "created_at", 2)
    r.field(&w, "email", 3)
    r.field(&w, "role", 4)
    r.field(&w, "source", 5)
    r.field(&w, "status", 6)
    r.field(&w, "updated_at", 7)
    if permissions { writePermissions(&w, "users") }
    w.endObject()
  }

  func listUsers(_ r: OrgRequest) async throws -> Reply {
    let q = r.call.query
    let page = try PageRequest(q, tag: "usr")
    let (perm, _) = try r.call.expand()
    let role = try q.role()
    let body = try await store.read { db in
      let org = try findOrg(db, r.org, r.principal)
      let source = role.map { PageSource(select: SandboxServer.userSelect + " org = ? AND role = ?", args: [org.seq, $0]) }
        ?? PageSource(select: SandboxServer.userSelect + " org = ?", args: [org.seq])
      let p = try fetchPage(db, [source], page) { SandboxServer.renderUser(&$0, $1, permissions: perm) }
      return listBody(p, tag: "usr", listPermissions: perm ? "users" : nil)
    }
    return Reply(body: body)
  }

  static func userBody(_ db: Database, org: OrgRef, _ id: String, _ perm: Bool) throws -> [UInt8] {
    guard let body = try renderOne(db, userSelect + " org = ? AND id = ?", [org.seq, id], { renderUser(&$0, $1, permissions: perm) }) else {
      throw APIError.notFound("user '\(id.prefix(100))'")
    }
    return body
  }

  func getUser(_ r: OrgRequest, _ id: String) async throws -> Reply {
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.read { db in
      try SandboxServer.userBody(db, org: try findOrg(db, r.org, r.principal), id, perm)
    })
  }

  func updateUser(_ r: OrgRequest, _ id: String) async throws -> Reply {
    let body = try Body(r.call.body)
    let role = try body.enumValue("role", Roles.organization)
    let status = try body.enumValue("status", Roles.userStatus)
    let (perm, _) = try r.call.expand()
    return Reply(body: try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      guard let cur = try fetchRow(db, "SELECT role, status FROM users WHERE org = ? AND id = ?", [org.seq, id]) else {
        throw APIError.notFound("user '\(id.prefix(100))'")
      }
      let newRole = role ?? cur[0], newStatus = status ?? cur[1]
      if newRole != (cur[0] as String) || newStatus != (cur[1] as String) {
        try exec(
          db, "UPDATE users SET role = ?, status = ?, updated_at = ? WHERE org = ? AND id = ?",
          [newRole, newStatus, Clock.now(), org.seq, id])
      }
      return try SandboxServer.userBody(db, org: org, id, perm)
    })
  }

  func deleteUser(_ r: OrgRequest, _ id: String) async throws -> Reply {
    try await deleteInOrg(r, table: "users", id: id, what: "user")
  }
}
