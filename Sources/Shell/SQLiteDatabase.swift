@preconcurrency import Glibc
import CSQLite

/// A SQLite database, through the system library opened on first use
/// (CSQLite). Small on purpose: what the journal (stdlib/kc/journal.lua)
/// needs, statements cached by their text.
final class SQLiteDatabase {
  /// A value bound to, or read from, a statement.
  enum Value: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text([UInt8])
    case blob([UInt8])
  }

  struct Failure: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { message }
  }

  private var db: OpaquePointer?
  private var statements: [String: OpaquePointer] = [:]
  /// The descriptor holding lock()'s flock, until close.
  private var lockFD: Int32 = -1
  let path: String

  /// Opens `path` (created when `create`; a new file is made 0600 first,
  /// and SQLite gives its -wal and -shm files the same mode).
  init(path: String, create: Bool) throws(Failure) {
    self.path = path
    var err = [CChar](repeating: 0, count: 256)
    if kc_sqlite_load(&err, err.count) != 0 {
      throw Failure(code: SQLITE_ERROR, message: String(cString: err))
    }
    if create {
      let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      if fd < 0 && errno != EEXIST {
        throw Failure(code: SQLITE_CANTOPEN, message: "cannot create: \(String(cString: strerror(errno)))")
      }
      if fd >= 0 { Glibc.close(fd) }
    }
    let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0)
    let rc = kc_sqlite_open(path, &db, flags)
    if rc != SQLITE_OK {
      let message = db.map { String(cString: kc_sqlite_errmsg($0)) } ?? String(cString: kc_sqlite_errstr(rc))
      close()
      throw Failure(code: rc, message: message)
    }
    _ = kc_sqlite_busy_timeout(db, 5000)
  }

  deinit { close() }

  var isOpen: Bool { db != nil }

  /// Takes an exclusive advisory lock on the file (flock, which SQLite's own
  /// fcntl locks do not see), held until close: false when another process
  /// holds it. Readers that do not ask for it are not stopped.
  func lock() -> Bool {
    if lockFD >= 0 { return true }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      Glibc.close(fd)
      return false
    }
    lockFD = fd
    return true
  }

  func close() {
    if lockFD >= 0 { Glibc.close(lockFD) }
    lockFD = -1
    for s in statements.values { _ = kc_sqlite_finalize(s) }
    statements.removeAll()
    if let db { _ = kc_sqlite_close(db) }
    db = nil
  }

  private func failure(_ rc: Int32) -> Failure {
    Failure(code: rc, message: db.map { String(cString: kc_sqlite_errmsg($0)) } ?? "the database is closed")
  }

  /// Runs `sql` (one statement or several) with no parameters.
  func exec(_ sql: String) throws(Failure) {
    guard let db else { throw failure(SQLITE_MISUSE) }
    let text = Array(sql.utf8CString)
    var offset = 0
    while offset < text.count - 1 {
      var stmt: OpaquePointer?
      let rc = text.withUnsafeBufferPointer { buf -> Int32 in
        let start = buf.baseAddress! + offset
        var tail: UnsafePointer<CChar>?
        let rc = kc_sqlite_prepare(db, start, -1, &stmt, &tail)
        offset = tail.map { buf.baseAddress!.distance(to: $0) } ?? text.count
        return rc
      }
      if rc != SQLITE_OK { throw failure(rc) }
      guard let stmt else { continue }  // white space or a comment
      var step = kc_sqlite_step(stmt)
      while step == SQLITE_ROW { step = kc_sqlite_step(stmt) }
      _ = kc_sqlite_finalize(stmt)
      if step != SQLITE_DONE { throw failure(step) }
    }
  }

  /// Runs one statement with `params` bound to its `?`s; calls `row` with
  /// each row's column names and values.
  func query(_ sql: String, _ params: [Value], row: ([String], [Value]) throws -> Void) throws {
    let stmt = try prepared(sql)
    defer {
      _ = kc_sqlite_reset(stmt)
      _ = kc_sqlite_clear_bindings(stmt)
    }
    let expected = Int(kc_sqlite_bind_parameter_count(stmt))
    guard params.count == expected else {
      throw Failure(code: SQLITE_RANGE, message: "the statement takes \(expected) parameters, got \(params.count)")
    }
    for (i, p) in params.enumerated() {
      let n = Int32(i + 1)
      let rc: Int32
      switch p {
      case .null: rc = kc_sqlite_bind_null(stmt, n)
      case .integer(let v): rc = kc_sqlite_bind_int64(stmt, n, v)
      case .real(let v): rc = kc_sqlite_bind_double(stmt, n, v)
      case .text(let b):
        // An empty text still needs a pointer that is not NULL (NULL binds NULL).
        rc = (b.isEmpty ? [0] : b).withUnsafeBytes {
          kc_sqlite_bind_text(stmt, n, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(b.count))
        }
      case .blob(let b): rc = b.withUnsafeBytes { kc_sqlite_bind_blob(stmt, n, $0.baseAddress, Int32(b.count)) }
      }
      if rc != SQLITE_OK { throw failure(rc) }
    }
    let count = kc_sqlite_column_count(stmt)
    var names: [String] = []
    for i in 0..<count { names.append(String(cString: kc_sqlite_column_name(stmt, i))) }
    while true {
      let rc = kc_sqlite_step(stmt)
      if rc == SQLITE_DONE { return }
      guard rc == SQLITE_ROW else { throw failure(rc) }
      var values: [Value] = []
      values.reserveCapacity(Int(count))
      for i in 0..<count { values.append(column(stmt, i)) }
      try row(names, values)
    }
  }

  /// Rows changed by the last statement.
  var changes: Int { db.map { Int(kc_sqlite_changes($0)) } ?? 0 }
  var lastInsertRowID: Int64 { db.map { kc_sqlite_last_insert_rowid($0) } ?? 0 }

  private func column(_ stmt: OpaquePointer, _ i: Int32) -> Value {
    switch kc_sqlite_column_type(stmt, i) {
    case SQLITE_INTEGER: return .integer(kc_sqlite_column_int64(stmt, i))
    case SQLITE_FLOAT: return .real(kc_sqlite_column_double(stmt, i))
    case SQLITE_NULL: return .null
    case SQLITE_BLOB:
      let n = Int(kc_sqlite_column_bytes(stmt, i))
      guard n > 0, let p = kc_sqlite_column_blob(stmt, i) else { return .blob([]) }
      return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
    default:
      guard let p = kc_sqlite_column_text(stmt, i) else { return .text([]) }
      let n = Int(kc_sqlite_column_bytes(stmt, i))
      return .text(Array(UnsafeBufferPointer(start: p, count: n)))
    }
  }

  private func prepared(_ sql: String) throws(Failure) -> OpaquePointer {
    if let s = statements[sql] { return s }
    guard let db else { throw failure(SQLITE_MISUSE) }
    var stmt: OpaquePointer?
    let rc = kc_sqlite_prepare(db, sql, -1, &stmt, nil)
    guard rc == SQLITE_OK, let stmt else { throw failure(rc == SQLITE_OK ? SQLITE_MISUSE : rc) }
    statements[sql] = stmt
    return stmt
  }
}
