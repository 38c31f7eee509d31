import Foundation
import LuaKit
import XCTest

@testable import Shell

/// The journal's native half: SQLiteDatabase and the `native.sqlite_open`
/// object Lua sees (SQLiteModule). Values round trip, NULL columns, errors
/// raised as "sqlite: ..." (never a crash), file modes, and the collector.
final class SQLiteModuleTests: XCTestCase {
  var vm: LuaVM!
  var dir: String!

  override func setUpWithError() throws {
    vm = try LuaVM()
    let s = vm.state
    s.newTable()
    SQLiteModule.install(s, native: s.top)
    s.setGlobal("native")
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("kcsh-sqlite-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    dir = base
    try vm.run("DIR = '\(base)'")
  }

  override func tearDownWithError() throws {
    vm = nil  // closes the state: finalizers close what is still open
    try? FileManager.default.removeItem(atPath: dir)
  }

  /// Runs `code` and answers its results.
  @discardableResult
  func lua(_ code: String) throws -> [LuaValue] { try vm.run(code, name: "=test") }

  func mode(_ path: String) -> Int? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return Int(st.st_mode & 0o777)
  }

  func testValuesRoundTrip() throws {
    let r = try lua(#"""
      local db = native.sqlite_open(DIR .. "/v.db", true)
      db:exec("CREATE TABLE t(a, b, c, d, e, f, g, h, i, j)")
      local n, id = db:run("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        nil, true, false, 42, 2.5, "a\0b\0", "", math.maxinteger, math.mininteger, 0.1)
      local rows = db:rows("SELECT *, typeof(a) AS ta, typeof(d) AS td, typeof(e) AS te, typeof(f) AS tf, typeof(g) AS tg FROM t")
      local x = rows[1]
      db:close()
      return n, id, #rows, x.a, x.b, x.c, x.d, math.type(x.d), x.e, math.type(x.e), x.f, #x.f,
        x.g, x.h == math.maxinteger, x.i == math.mininteger, x.j == 0.1,
        x.ta, x.td, x.te, x.tf, x.tg
      """#)
    XCTAssertEqual(r, [
      1, 1, 1, nil, 1, 0, 42, "integer", 2.5, "float", .string(LuaString(bytes: [97, 0, 98, 0])), 4,
      "", true, true, true,
      "null", "integer", "real", "text", "text",
    ])
  }

  func testTheSwiftSideRoundTripsEveryKindOfValue() throws {
    let db = try SQLiteDatabase(path: dir + "/s.db", create: true)
    try db.exec("CREATE TABLE t(v)")
    let values: [SQLiteDatabase.Value] = [
      .null, .integer(0), .integer(Int64.max), .integer(Int64.min), .real(-1.5), .real(1e300),
      .text([]), .text([0]), .text(Array("é\u{0}x".utf8)), .blob([]), .blob([0, 255, 1]),
    ]
    for v in values { try db.query("INSERT INTO t VALUES (?)", [v]) { _, _ in } }
    var back: [SQLiteDatabase.Value] = []
    try db.query("SELECT v FROM t ORDER BY rowid", []) { names, row in
      XCTAssertEqual(names, ["v"])
      back.append(row[0])
    }
    XCTAssertEqual(back, values)
    XCTAssertEqual(db.changes, 1)
    XCTAssertEqual(db.lastInsertRowID, Int64(values.count))
    db.close()
    XCTAssertFalse(db.isOpen)
    XCTAssertThrowsError(try db.exec("SELECT 1"))
    XCTAssertThrowsError(try db.query("SELECT 1", []) { _, _ in })
  }

  func testRowsWithNullColumnsAndNoRows() throws {
    let r = try lua(#"""
      local db = native.sqlite_open(DIR .. "/n.db", true)
      db:exec("CREATE TABLE t(k INTEGER PRIMARY KEY, a TEXT, b INTEGER); INSERT INTO t(a, b) VALUES ('x', NULL), (NULL, 2), (NULL, NULL)")
      local rows = db:rows("SELECT k, a, b FROM t ORDER BY k")
      local none = db:rows("SELECT k FROM t WHERE k > ?", 100)
      local keys = {}
      for i, row in ipairs(rows) do
        local n = 0
        for _ in pairs(row) do n = n + 1 end
        keys[i] = n
      end
      db:close()
      return #rows, rows[1].a, rows[1].b, rows[2].a, rows[2].b, rows[3].a, rows[3].b, rows[3].k,
        keys[1], keys[2], keys[3], type(none), #none
      """#)
    XCTAssertEqual(r, [3, "x", nil, nil, 2, nil, nil, 3, 2, 2, 1, "table", 0])
  }

  func testSQLErrorsAreRaisedAsSqliteErrorsAndTheDatabaseStaysUsable() throws {
    let r = try lua(#"""
      local db = native.sqlite_open(DIR .. "/e.db", true)
      local ok1, e1 = pcall(db.exec, db, "SELEC 1")
      local ok2, e2 = pcall(db.rows, db, "SELECT * FROM nowhere")
      local ok3, e3 = pcall(db.run, db, "INSERT INTO nowhere VALUES (1)")
      db:exec("CREATE TABLE t(a UNIQUE)")
      db:run("INSERT INTO t VALUES (1)")
      local ok4, e4 = pcall(db.run, db, "INSERT INTO t VALUES (?)", 1)
      local after = db:rows("SELECT count(*) AS n FROM t")[1].n
      db:close()
      return ok1, e1, ok2, e2, ok3, e3, ok4, e4, after
      """#)
    XCTAssertEqual(r.count, 9)
    for i in [0, 2, 4, 6] { XCTAssertEqual(r[i], false, "call \(i / 2 + 1) did not raise") }
    let messages = [1, 3, 5, 7].map { r[$0].text ?? "" }
    for m in messages { XCTAssertTrue(m.hasPrefix("sqlite: "), m) }
    XCTAssertTrue(messages[0].contains("syntax error"), messages[0])
    XCTAssertTrue(messages[1].contains("no such table"), messages[1])
    XCTAssertTrue(messages[3].contains("UNIQUE"), messages[3])
    XCTAssertEqual(r[8], 1)
  }

  func testUseAfterCloseRaises() throws {
    let r = try lua(#"""
      local db = native.sqlite_open(DIR .. "/c.db", true)
      db:exec("CREATE TABLE t(a)")
      db:close()
      db:close()  -- twice is fine
      local out = {}
      for _, f in ipairs { "exec", "rows", "run" } do
        local ok, e = pcall(db[f], db, "SELECT 1")
        out[#out + 1] = ok
        out[#out + 1] = e
      end
      return table.unpack(out)
      """#)
    XCTAssertEqual(r.count, 6)
    for i in [0, 2, 4] {
      XCTAssertEqual(r[i], false)
      XCTAssertEqual(r[i + 1].text, "sqlite: the database is closed")
    }
  }

  func testParameterCountMismatchRaisesAndTheStatementStaysUsable() throws {
    let r = try lua(#"""
      local db = native.sqlite_open(DIR .. "/p.db", true)
      db:exec("CREATE TABLE t(a, b)")
      local q = "INSERT INTO t VALUES (?, ?)"
      local ok1, e1 = pcall(db.run, db, q, 1)
      local ok2, e2 = pcall(db.run, db, q, 1, 2, 3)
      local ok3, e3 = pcall(db.rows, db, "SELECT ?")
      local ok4, e4 = pcall(db.run, db, q, 1, {})
      local n = db:run(q, 1, 2)
      local count = db:rows("SELECT count(*) AS n FROM t")[1].n
      db:close()
      return ok1, e1, ok2, e2, ok3, e3, ok4, e4, n, count
      """#)
    XCTAssertEqual(r.count, 10)
    for i in [0, 2, 4, 6] { XCTAssertEqual(r[i], false, "call \(i / 2 + 1) did not raise") }
    XCTAssertEqual(r[1].text, "sqlite: the statement takes 2 parameters, got 1")
    XCTAssertEqual(r[3].text, "sqlite: the statement takes 2 parameters, got 3")
    XCTAssertEqual(r[5].text, "sqlite: the statement takes 1 parameters, got 0")
    XCTAssertTrue(r[7].text?.contains("nil, boolean, number or string expected") ?? false, "\(r[7])")
    XCTAssertEqual(r[8], 1)
    XCTAssertEqual(r[9], 1)
  }

  func testAFileThatIsNotADatabaseRaisesOnFirstRead() throws {
    let path = dir + "/junk.db"
    var bytes = [UInt8](repeating: 0, count: 8192)
    for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 7919 &+ 13) }
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    let r = try lua(#"""
      local ok0, db = pcall(native.sqlite_open, DIR .. "/junk.db", false)
      if not ok0 then return "open", db end
      local ok, e = pcall(db.rows, db, "SELECT * FROM sqlite_master")
      local ok2, e2 = pcall(db.rows, db, "PRAGMA integrity_check")
      db:close()
      return ok, e, ok2, e2
      """#)
    XCTAssertEqual(r.count, 4, "\(r)")
    XCTAssertEqual(r[0], false)
    XCTAssertTrue(r[1].text?.hasPrefix("sqlite: ") ?? false, "\(r[1])")
    XCTAssertTrue(r[1].text?.contains("not a database") ?? false, "\(r[1])")
    XCTAssertEqual(r[2], false)
    // Left as it was.
    XCTAssertEqual(FileManager.default.contents(atPath: path), Data(bytes))
  }

  func testAMissingFileIsNotCreatedWithoutCreate() throws {
    let r = try lua(#"""
      return pcall(native.sqlite_open, DIR .. "/missing.db", false)
      """#)
    XCTAssertEqual(r.first, false)
    XCTAssertTrue(r.last?.text?.hasPrefix("sqlite: ") ?? false, "\(r)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/missing.db"))
  }

  func testANewFileAndItsWALAre0600WhateverTheUmask() throws {
    let old = umask(0)
    defer { umask(old) }
    try lua(#"""
      DB = native.sqlite_open(DIR .. "/m.db", true)
      DB:exec("PRAGMA journal_mode = WAL")
      DB:exec("CREATE TABLE t(a)")
      DB:run("INSERT INTO t VALUES (?)", "x")
      """#)
    XCTAssertEqual(mode(dir + "/m.db"), 0o600)
    XCTAssertEqual(mode(dir + "/m.db-wal"), 0o600)
    if let shm = mode(dir + "/m.db-shm") { XCTAssertEqual(shm, 0o600) }
    try lua("DB:close(); DB = nil")
    // An existing file opened with create keeps its contents.
    let r = try lua(#"""
      local db = native.sqlite_open(DIR .. "/m.db", true)
      local v = db:rows("SELECT a FROM t")[1].a
      db:close()
      return v
      """#)
    XCTAssertEqual(r, ["x"])
  }

  func testLockIsExclusiveUntilClose() throws {
    let r = try lua(#"""
      local a = native.sqlite_open(DIR .. "/l.db", true)
      local b = native.sqlite_open(DIR .. "/l.db", false)
      if not a.lock then return "no lock" end
      local first, again, other = a:lock(), a:lock(), b:lock()
      a:close()
      local after = b:lock()
      b:close()
      return first, again, other, after
      """#)
    if r == ["no lock"] { return }
    XCTAssertEqual(r, [true, true, false, true])
  }

  func testObjectsAreCollectedWithoutACrashAndClosed() throws {
    try lua(#"""
      local db = native.sqlite_open(DIR .. "/g.db", true)
      db:exec("PRAGMA journal_mode = WAL")
      db:exec("CREATE TABLE t(a)")
      for i = 1, 10 do db:run("INSERT INTO t VALUES (?)", i) end
      assert(#db:rows("SELECT a FROM t WHERE a > ?", 3) == 7)  -- cached statements left open
      for i = 1, 50 do
        local x = native.sqlite_open(DIR .. "/g" .. i .. ".db", true)
        x:exec("CREATE TABLE t(a)")
        if i % 2 == 0 then x:close() end
      end
      """#)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/g.db-wal"))
    vm.collectGarbage()
    vm.collectGarbage()
    // Collected means closed: the last connection's close removes the WAL.
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/g.db-wal"))
    let r = try lua(#"""
      collectgarbage()
      local db = native.sqlite_open(DIR .. "/g.db", false)
      local n = db:rows("SELECT count(*) AS n FROM t")[1].n
      db:close()
      return n
      """#)
    XCTAssertEqual(r, [10])
  }
}
