import LuaKit

/// The journal's native half: `native.sqlite_open(path, create)` answers a
/// database object with `exec(sql)`, `rows(sql, ...)`, `run(sql, ...)`,
/// `lock()` (an exclusive flock on the file: false when another process
/// holds it) and `close()`. SQLite errors are raised as "sqlite: message";
/// the journal (stdlib/kc/journal.lua) turns them into its own.
enum SQLiteModule {
  static let metatable = "kc.sqlite"

  static func install(_ s: LuaState, native: Int32) {
    s.push(function: { s in
      let path = try s.checkString(1)
      let create = s.boolean(at: 2)
      let db = try run { try SQLiteDatabase(path: path, create: create) }
      s.push(object: db, metatable: metatable, setup: setup)
      return .results(1)
    })
    s.rawSet(native, field: "sqlite_open")
  }

  private static func setup(_ s: LuaState) {
    s.newTable(hash: 4)
    s.push(function: { s in
      let db = try open(s)
      try run { try db.exec(try s.checkString(2)) }
      return .results(0)
    })
    s.rawSet(-2, field: "exec")
    s.push(function: { s in
      let db = try open(s)
      let (sql, params) = try statement(s)
      s.newTable()
      let list = s.top
      var n: Int64 = 0
      try run {
        try db.query(sql, params) { names, values in
          s.ensureStack(4)
          s.newTable(hash: Int32(names.count))
          for (name, value) in zip(names, values) where value != .null {
            push(s, value)
            s.rawSet(-2, field: name)
          }
          n += 1
          s.rawSet(list, n)
        }
      }
      return .results(1)
    })
    s.rawSet(-2, field: "rows")
    s.push(function: { s in
      let db = try open(s)
      let (sql, params) = try statement(s)
      try run { try db.query(sql, params) { _, _ in } }
      s.push(db.changes)
      s.push(db.lastInsertRowID)
      return .results(2)
    })
    s.rawSet(-2, field: "run")
    s.push(function: { s in
      s.push(try open(s).lock())
      return .results(1)
    })
    s.rawSet(-2, field: "lock")
    s.push(function: { s in
      try s.checkObject(1, metatable: metatable, as: SQLiteDatabase.self).close()
      return .results(0)
    })
    s.rawSet(-2, field: "close")
    s.rawSet(-2, field: "__index")
  }

  private static func open(_ s: LuaState) throws -> SQLiteDatabase {
    let db = try s.checkObject(1, metatable: metatable, as: SQLiteDatabase.self)
    guard db.isOpen else { throw LuaError("sqlite: the database is closed") }
    return db
  }

  /// The statement of argument 2 and its parameters, from 3 on (read
  /// before anything is pushed).
  private static func statement(_ s: LuaState) throws -> (String, [SQLiteDatabase.Value]) {
    (try s.checkString(2), try parameters(s, from: 3))
  }

  /// `body`'s result; a SQLite failure becomes a Lua error "sqlite: ...".
  private static func run<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let e as SQLiteDatabase.Failure {
      throw LuaError("sqlite: \(e.message)")
    }
  }

  private static func parameters(_ s: LuaState, from first: Int32) throws -> [SQLiteDatabase.Value] {
    guard s.top >= first else { return [] }
    var out: [SQLiteDatabase.Value] = []
    for i in first...s.top {
      switch s.type(at: i) {
      case .nil, .none: out.append(.null)
      case .boolean: out.append(.integer(s.boolean(at: i) ? 1 : 0))
      case .number:
        if let n = s.integer(at: i), s.isInteger(at: i) { out.append(.integer(n)) } else { out.append(.real(s.number(at: i) ?? 0)) }
      case .string: out.append(.text(s.bytes(at: i) ?? []))
      default: throw s.typeError(i, expected: "nil, boolean, number or string")
      }
    }
    return out
  }

  private static func push(_ s: LuaState, _ value: SQLiteDatabase.Value) {
    switch value {
    case .null: s.pushNil()
    case .integer(let i): s.push(i)
    case .real(let d): s.push(d)
    case .text(let b), .blob(let b): s.push(bytes: b)
    }
  }
}
