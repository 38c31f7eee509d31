import GRDB

/// The organization named in a path, after checking the caller may see it.
struct OrgRef: Sendable {
  let seq: Int64
  let id: String
  let name: String
  /// The user the API key stands for here (see `organizations.owner`).
  let owner: String
}

func findOrg(_ db: Database, _ key: String, _ who: Principal) throws -> OrgRef {
  // One statement for both: an ID wins over a label that happens to be equal.
  let r = try fetchRow(db, "SELECT seq, id, name, owner FROM organizations WHERE id = ?1 OR label = ?1 ORDER BY id = ?1 DESC LIMIT 1", [key])
  guard let r else { throw APIError.notFound("organization '\(key.prefix(100))'") }
  let org = OrgRef(seq: r[0], id: r[1], name: r[2], owner: r[3])
  if case .organization(let allowed) = who, allowed != org.seq {
    throw APIError(403, "forbidden", "this access token belongs to another organization")
  }
  return org
}

/// The `permissions` map of an entity: the sandbox's callers hold every permission.
func writePermissions(_ w: inout JSONWriter, _ resource: String, _ actions: [String] = ["read", "update", "delete"]) {
  w.key("permissions")
  w.beginObject()
  w.key(resource)
  w.beginObject()
  for a in actions { w.key(a); w.bool(true) }
  w.endObject()
  w.endObject()
}

/// {"items": [...], "page_info": {...}} for one page; `extra` adds fields after.
func listBody(_ page: Page, tag: String, listPermissions: String?, extra: ((inout JSONWriter) -> Void)? = nil) -> [UInt8] {
  var w = JSONWriter(capacity: 256 + page.itemsJSON.count)
  w.beginObject()
  w.key("items")
  w.raw(page.itemsJSON)
  writePageInfo(&w, page, tag: tag)
  if let p = listPermissions { writePermissions(&w, p, ["list", "create"]) }
  extra?(&w)
  w.endObject()
  return w.bytes
}

func entityBody(_ render: (inout JSONWriter) -> Void) -> [UInt8] {
  var w = JSONWriter(capacity: 512)
  render(&w)
  return w.bytes
}

/// The label of a new organization: its name as a DNS label, made unique.
func uniqueLabel(_ db: Database, for name: String) throws -> String {
  var slug = ""
  var dash = false
  for ch in name.lowercased().unicodeScalars {
    if ("a"..."z").contains(ch) || ("0"..."9").contains(ch) {
      if dash && !slug.isEmpty { slug.append("-") }
      slug.unicodeScalars.append(ch)
      dash = false
    } else {
      dash = true
    }
    if slug.count >= 50 { break }
  }
  if slug.isEmpty { slug = "org" }
  var label = slug
  var n = 2
  while try exists(db, "SELECT 1 FROM organizations WHERE label = ?", [label]) {
    label = "\(slug)-\(n)"
    n += 1
  }
  return label
}

extension SandboxServer {
  /// DELETE of a row of `table` that belongs to the organization of the path.
  func deleteInOrg(_ r: OrgRequest, table: String, id: String, what: String) async throws -> Reply {
    _ = try Body(r.call.body)
    try await store.write { db in
      let org = try findOrg(db, r.org, r.principal)
      try exec(db, "DELETE FROM \(table) WHERE org = ? AND id = ?", [org.seq, id])
      if db.changesCount == 0 { throw APIError.notFound("\(what) '\(id.prefix(100))'") }
    }
    return .noContent
  }
}

extension Query {
  /// The `role` filter, checked against the organization roles.
  func role() throws(APIError) -> String? {
    let role = try one("role")
    if let role, !Roles.organization.contains(role) {
      throw APIError.badParameter("role", "must be one of \(Roles.organization.joined(separator: ", ")), got '\(role.prefix(100))'")
    }
    return role
  }
}
