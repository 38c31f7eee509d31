import GRDB
import GRDBSQLite

/// The sandbox's data: SQLite through GRDB. In memory by default (a DatabaseQueue);
/// a file opens a DatabasePool in WAL mode so reads run beside the single writer.
public final class Store: Sendable {
  let db: any DatabaseWriter

  /// `path` nil keeps everything in memory.
  public init(path: String?) throws {
    var config = Configuration()
    config.busyMode = .timeout(10)
    config.prepareDatabase { db in
      // NORMAL in WAL mode: a commit is in the OS before the answer goes out, so a
      // killed process loses nothing it acknowledged (only a power cut could).
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
    }
    if let path {
      db = try DatabasePool(path: path, configuration: config)
    } else {
      db = try DatabaseQueue(configuration: config)
    }
    try migrate()
  }

  private func migrate() throws {
    try db.write { db in
      try db.execute(sql: Self.schema)
      // A --db file made before organizations had an owner.
      if try !db.columns(in: "organizations").contains(where: { $0.name == "owner" }) {
        try db.execute(sql: "ALTER TABLE organizations ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
      }
    }
  }

  static let schema = """
    CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT OR IGNORE INTO meta(key, value) VALUES ('seq', 0);
    CREATE TABLE IF NOT EXISTS organizations(
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, label TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL, zone_id TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
      -- the id of the user the API key stands for in this organization (its
      -- creator): invitations' created_by
      owner TEXT NOT NULL DEFAULT '');
    CREATE TABLE IF NOT EXISTS users(
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
      org INTEGER NOT NULL REFERENCES organizations(seq) ON DELETE CASCADE,
      email TEXT NOT NULL, role TEXT NOT NULL, status TEXT NOT NULL, source TEXT NOT NULL,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS users_by_org ON users(org, seq);
    CREATE INDEX IF NOT EXISTS users_by_email ON users(org, email COLLATE NOCASE);
    CREATE TABLE IF NOT EXISTS invitations(
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
      org INTEGER NOT NULL REFERENCES organizations(seq) ON DELETE CASCADE,
      email TEXT NOT NULL, role TEXT NOT NULL, status TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
      created_by TEXT NOT NULL, expires_at TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS invitations_by_org ON invitations(org, seq);
    CREATE UNIQUE INDEX IF NOT EXISTS invitations_one_pending
      ON invitations(org, email COLLATE NOCASE) WHERE status = 'pending';
    CREATE TABLE IF NOT EXISTS service_accounts(
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
      org INTEGER NOT NULL REFERENCES organizations(seq) ON DELETE CASCADE,
      name TEXT NOT NULL, description TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS service_accounts_by_org ON service_accounts(org, seq);
    CREATE TABLE IF NOT EXISTS credentials(
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
      sa INTEGER NOT NULL REFERENCES service_accounts(seq) ON DELETE CASCADE,
      client_id TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
      last_used_at TEXT, created_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS credentials_by_sa ON credentials(sa, seq);
    CREATE TABLE IF NOT EXISTS sso_connections(
      org INTEGER PRIMARY KEY REFERENCES organizations(seq) ON DELETE CASCADE,
      id TEXT NOT NULL UNIQUE, identifier TEXT NOT NULL, client_id TEXT NOT NULL, secret_hash TEXT,
      protocols TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tokens(
      hash TEXT PRIMARY KEY, org INTEGER REFERENCES organizations(seq) ON DELETE CASCADE,
      credential INTEGER REFERENCES credentials(seq) ON DELETE CASCADE,
      subject TEXT NOT NULL, expires_at REAL NOT NULL);
    """

  // MARK: access

  // The synchronous GRDB calls run the closure on the calling thread (its serial
  // queue is entered with dispatch sync), where the async ones hop threads twice
  // per request: that hop cost more than the queries of a 100-item page. The
  // closures are short, so holding a cooperative thread for them is fine.

  /// Reads without a transaction: the in-memory queue serializes every access, and
  /// keyset paging needs no snapshot across a request's few statements.
  func read<T>(_ body: (Database) throws -> T) async throws -> T {
    try db.unsafeRead(body)
  }

  /// One transaction on the single writer connection.
  func write<T>(_ body: (Database) throws -> T) async throws -> T {
    try db.write(body)
  }

  /// Adds a member to organization `org` (its row key).
  static func insertUser(_ db: Database, id: String, org: Int64, email: String, role: String, status: String, now: String) throws {
    try exec(
      db, "INSERT INTO users(seq, id, org, email, role, status, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      [try nextSeq(db), id, org, email, role, status, SandboxServer.userSource, now, now])
  }

  /// Reserves `count` row keys from one sequence shared by every table: keys only
  /// grow (deleted keys are never reused), which is what keyset paging relies on,
  /// and users and invitations interleave by creation in the identities list.
  static func nextSeq(_ db: Database, count: Int64 = 1) throws -> Int64 {
    let stmt = try db.cachedStatement(sql: "UPDATE meta SET value = value + ? WHERE key = 'seq' RETURNING value")
    guard let top = try Int64.fetchOne(stmt, arguments: [count]) else {
      throw APIError(500, "internal_error", "row sequence missing")
    }
    return top - count + 1
  }
}

// MARK: small query helpers (cached statements: the list endpoints are hot)

func fetchRows(_ db: Database, _ sql: String, _ args: StatementArguments = []) throws -> [Row] {
  try Row.fetchAll(db.cachedStatement(sql: sql), arguments: args)
}

func fetchRow(_ db: Database, _ sql: String, _ args: StatementArguments = []) throws -> Row? {
  try Row.fetchOne(db.cachedStatement(sql: sql), arguments: args)
}

func exec(_ db: Database, _ sql: String, _ args: StatementArguments = []) throws {
  try db.cachedStatement(sql: sql).execute(arguments: args)
}

func exists(_ db: Database, _ sql: String, _ args: StatementArguments = []) throws -> Bool {
  try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS(\(sql))"), arguments: args) ?? false
}

/// A row read straight from the SQLite statement: text columns go into the JSON
/// writer without becoming Swift strings first (list pages are the hot path).
struct RawRow {
  let stmt: OpaquePointer

  func int64(_ i: Int) -> Int64 { sqlite3_column_int64(stmt, Int32(i)) }
  func bool(_ i: Int) -> Bool { sqlite3_column_int64(stmt, Int32(i)) != 0 }
  func isNull(_ i: Int) -> Bool { sqlite3_column_type(stmt, Int32(i)) == SQLITE_NULL }

  func string(_ i: Int) -> String {
    guard let p = sqlite3_column_text(stmt, Int32(i)) else { return "" }
    return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, Int32(i)))), as: UTF8.self)
  }

  /// Writes `"key": "text"`, or nothing when the column is NULL and `omitNull`.
  func field(_ w: inout JSONWriter, _ key: StaticString, _ i: Int, omitNull: Bool = false) {
    if isNull(i) {
      if !omitNull { w.key(key); w.null() }
      return
    }
    w.key(key)
    let p = sqlite3_column_text(stmt, Int32(i))
    w.string(UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, Int32(i)))))
  }
}

/// Runs `sql` and renders each row; `body` sees the row only while it is current.
func forEachRow(_ db: Database, _ sql: String, _ args: StatementArguments, _ body: (RawRow) throws -> Void) throws {
  let stmt = try db.cachedStatement(sql: sql)
  let cursor = try Row.fetchCursor(stmt, arguments: args)
  let raw = RawRow(stmt: stmt.sqliteStatement)
  while try cursor.next() != nil { try body(raw) }
}

/// The JSON of the single row `sql` selects, or nil.
func renderOne(_ db: Database, _ sql: String, _ args: StatementArguments, _ render: (inout JSONWriter, RawRow) -> Void) throws -> [UInt8]? {
  var out: [UInt8]?
  try forEachRow(db, sql, args) { r in
    if out == nil { out = entityBody { render(&$0, r) } }
  }
  return out
}
