import GRDB

/// Sample data: --demo fills a few organizations, --scale N one big one.
extension Store {
  /// Organizations with users, invitations, service accounts, credentials and SSO.
  /// Skipped when a database already holds them (a reused --db file).
  public func loadDemo(invitationTTL: Int = SandboxOptions().invitationTTL) throws -> Bool {
    try db.write { db in
      if try exists(db, "SELECT 1 FROM organizations WHERE label = 'acme'") { return false }
      let orgs: [(name: String, label: String, domain: String, users: Int, invites: Int, sso: Bool)] = [
        ("Acme Corp", "acme", "acme.com", 24, 3, true),
        ("Globex", "globex", "globex.example", 12, 2, false),
        ("Initech", "initech", "initech.example", 6, 1, false),
      ]
      let first = ["ana", "ben", "chloe", "dev", "eli", "fatima", "gus", "hana", "ivan", "jo", "kai", "lea"]
      let roles = ["org_member", "org_member", "org_viewer", "org_admin"]
      let now = Clock.now()
      let expires = Clock.format(Clock.nowSeconds() + Double(invitationTTL))
      for o in orgs {
        let org = try Store.nextSeq(db)
        try exec(
          db, "INSERT INTO organizations(seq, id, label, name, zone_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          [org, Ids.nanoid(), o.label, o.name, Ids.nanoid(), now, now])
        // The first user, an org_admin, is the one the API key stands for.
        let owner = Ids.nanoid()
        try exec(db, "UPDATE organizations SET owner = ? WHERE seq = ?", [owner, org])
        for i in 0..<o.users {
          let name = first[i % first.count] + (i < first.count ? "" : String(i / first.count + 1))
          try Store.insertUser(
            db, id: i == 0 ? owner : Ids.nanoid(), org: org, email: "\(name)@\(o.domain)", role: i == 0 ? "org_admin" : roles[i % roles.count],
            status: i % 7 == 6 ? "disabled" : "active", now: now)
        }
        for i in 0..<o.invites {
          try exec(
            db, """
              INSERT INTO invitations(seq, id, org, email, role, status, token_hash, created_by, expires_at, created_at, updated_at)
              VALUES (?, ?, ?, ?, 'org_member', 'pending', ?, ?, ?, ?, ?)
              """,
            [try Store.nextSeq(db), Ids.nanoid(), org, "invitee\(i + 1)@\(o.domain)", SHA256.hex(Ids.secret(prefix: "kcinv_")), owner, expires,
             now, now])
        }
        for (n, sa) in ["ci", "backup"].enumerated() {
          let saSeq = try Store.nextSeq(db)
          try exec(
            db, "INSERT INTO service_accounts(seq, id, org, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [saSeq, Ids.nanoid(), org, sa, "Demo service account \(sa)", now, now])
          for c in 0...n {
            try exec(
              db, "INSERT INTO credentials(seq, id, sa, client_id, secret_hash, name, description, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
              [try Store.nextSeq(db), Ids.nanoid(), saSeq, "kcc_" + Ids.nanoid(), SHA256.hex(Ids.secret(prefix: "kcsec_")), "key-\(c + 1)", now])
          }
        }
        if o.sso {
          try exec(
            db, "INSERT INTO sso_connections(org, id, identifier, client_id, secret_hash, protocols, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, NULL, ?, ?)",
            [org, Ids.nanoid(), "https://idp.\(o.domain)", "keycard", now, now])
        }
      }
      return true
    }
  }

  /// An organization labelled `scale` with `count` users, in one transaction through
  /// one prepared statement (100,000 rows take a few seconds).
  public func loadScale(_ count: Int) throws -> Bool {
    try db.write { db in
      if try exists(db, "SELECT 1 FROM organizations WHERE label = 'scale'") { return false }
      let now = Clock.now()
      let org = try Store.nextSeq(db)
      try exec(
        db, "INSERT INTO organizations(seq, id, label, name, zone_id, created_at, updated_at) VALUES (?, ?, 'scale', 'Scale Test', ?, ?, ?)",
        [org, Ids.nanoid(), Ids.nanoid(), now, now])
      guard count > 0 else { return true }
      let base = try Store.nextSeq(db, count: Int64(count))
      let stmt = try db.makeStatement(
        sql: "INSERT INTO users(seq, id, org, email, role, status, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)")
      let roles = ["org_member", "org_member", "org_member", "org_viewer", "org_admin"]
      for i in 0..<count {
        try stmt.execute(arguments: [base + Int64(i), Ids.nanoid(), org, "user\(i + 1)@scale.example", roles[i % roles.count], SandboxServer.userSource, now, now])
      }
      try exec(
        db, "UPDATE organizations SET owner = COALESCE((SELECT id FROM users WHERE org = ?1 AND role = 'org_admin' ORDER BY seq LIMIT 1), '') WHERE seq = ?1",
        [org])
      return true
    }
  }
}
