import GRDB

/// after/before/limit of a list request. Cursors hold the row key (`seq`) of an edge
/// item; rows are ordered by that key, which only grows, so a cursor keeps its place
/// however many rows are added or deleted around it (keyset paging, never OFFSET).
struct PageRequest: Sendable {
  var after: Int64?
  var before: Int64?
  var limit = 100

  static let maxLimit = 1000

  init(_ q: Query, tag: String) throws(APIError) {
    if let a = try q.one("after"), !a.isEmpty {
      guard let s = Cursor.decode(a, tag: tag) else { throw APIError(400, "invalid_cursor", "query parameter 'after' is not a cursor of this list") }
      after = s
    }
    if let b = try q.one("before"), !b.isEmpty {
      guard let s = Cursor.decode(b, tag: tag) else { throw APIError(400, "invalid_cursor", "query parameter 'before' is not a cursor of this list") }
      before = s
    }
    if let l = try q.one("limit") {
      guard let n = Int(l) else { throw APIError.badParameter("limit", "must be an integer between 1 and \(Self.maxLimit)") }
      guard (1...Self.maxLimit).contains(n) else { throw APIError.badParameter("limit", "must be between 1 and \(Self.maxLimit), got \(n)") }
      limit = n
    }
  }
}

/// Opaque cursors: base64url of "tag:seq", where the tag names the list, so a cursor
/// from another list is refused instead of silently misplacing the page.
enum Cursor {
  static func encode(tag: String, seq: Int64) -> String { Base64URL.encode(Array("\(tag):\(seq)".utf8)) }

  static func decode(_ s: String, tag: String) -> Int64? {
    guard s.utf8.count <= 255, let raw = Base64URL.decode(s) else { return nil }
    let text = String(decoding: raw, as: UTF8.self)
    let parts = text.split(separator: ":", maxSplits: 1)
    guard parts.count == 2, parts[0] == tag, let n = Int64(parts[1]), n >= 0 else { return nil }
    return n
  }
}

enum Base64URL {
  private static let chars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

  static func encode(_ b: [UInt8]) -> String {
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
      let n = min(3, b.count - i)
      let v = UInt32(b[i]) << 16 | (n > 1 ? UInt32(b[i + 1]) << 8 : 0) | (n > 2 ? UInt32(b[i + 2]) : 0)
      out.append(chars[Int(v >> 18 & 63)])
      out.append(chars[Int(v >> 12 & 63)])
      if n > 1 { out.append(chars[Int(v >> 6 & 63)]) }
      if n > 2 { out.append(chars[Int(v & 63)]) }
      i += 3
    }
    return String(decoding: out, as: UTF8.self)
  }

  static func decode(_ s: String) -> [UInt8]? {
    var vals: [UInt32] = []
    for c in s.utf8 {
      switch c {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): vals.append(UInt32(c - 65))
      case UInt8(ascii: "a")...UInt8(ascii: "z"): vals.append(UInt32(c - 97 + 26))
      case UInt8(ascii: "0")...UInt8(ascii: "9"): vals.append(UInt32(c - 48 + 52))
      case UInt8(ascii: "-"): vals.append(62)
      case UInt8(ascii: "_"): vals.append(63)
      default: return nil
      }
    }
    if vals.count % 4 == 1 { return nil }
    var out: [UInt8] = []
    var i = 0
    while i < vals.count {
      let n = min(4, vals.count - i)
      var v: UInt32 = 0
      for k in 0..<4 { v = v << 6 | (k < n ? vals[i + k] : 0) }
      out.append(UInt8(v >> 16 & 255))
      if n > 2 { out.append(UInt8(v >> 8 & 255)) }
      if n > 3 { out.append(UInt8(v & 255)) }
      i += 4
    }
    return out
  }
}

/// One table feeding a list: `select` returns `seq` first and ends in a WHERE clause
/// (the paging conditions are ANDed to it). Identities merge two sources.
struct PageSource {
  let select: String
  let args: [(any DatabaseValueConvertible)?]
}

struct Page {
  /// The items as a JSON array, in list order.
  var itemsJSON: [UInt8]
  var count: Int
  var firstSeq: Int64?
  var lastSeq: Int64?
  var hasNext: Bool
  var hasPrev: Bool
}

func fetchPage(_ db: Database, _ sources: [PageSource], _ req: PageRequest, render: (inout JSONWriter, RawRow) -> Void) throws -> Page {
  let descending = req.before != nil && req.after == nil
  let low = req.after ?? -1
  let high = req.before ?? Int64.max
  let direct = sources.count == 1 && !descending
  // The common case (one table, forward) renders rows straight into the page;
  // merged or backward pages render each row apart, then put them in order.
  var out = JSONWriter(capacity: direct ? 300 * req.limit : 64)
  out.beginArray()
  var rows: [(seq: Int64, json: [UInt8])] = []
  var seqs: [Int64] = []
  seqs.reserveCapacity(req.limit + 1)
  for s in sources {
    let sql = "\(s.select) AND seq > ? AND seq < ? ORDER BY seq \(descending ? "DESC" : "ASC") LIMIT ?"
    var n = 0
    try forEachRow(db, sql, StatementArguments(s.args + [low, high, req.limit + 1])) { row in
      n += 1
      let seq = row.int64(0)
      if direct {
        seqs.append(seq)
        // the extra row only tells that there is more: no need to render it
        if n <= req.limit { render(&out, row) }
      } else {
        var w = JSONWriter(capacity: 320)
        if n <= req.limit { render(&w, row) }
        rows.append((seq, w.bytes))
      }
    }
  }
  let extra: Bool
  if direct {
    extra = seqs.count > req.limit
    if extra { seqs.removeLast(seqs.count - req.limit) }
  } else {
    // a row past the limit of its own table is past the limit of the merge too,
    // so the unrendered rows are always among those cut off here
    if sources.count > 1 { rows.sort { descending ? $0.seq > $1.seq : $0.seq < $1.seq } }
    extra = rows.count > req.limit
    if extra { rows.removeLast(rows.count - req.limit) }
    if descending { rows.reverse() }
    for r in rows { out.raw(r.json) }
    seqs = rows.map(\.seq)
  }
  out.endArray()

  func anyExists(_ cond: String, _ v: Int64) throws -> Bool {
    for s in sources where try exists(db, "\(s.select) AND seq \(cond) ?", StatementArguments(s.args + [v])) {
      return true
    }
    return false
  }
  var page = Page(itemsJSON: out.bytes, count: seqs.count, firstSeq: seqs.first, lastSeq: seqs.last, hasNext: extra, hasPrev: false)
  if descending {
    page.hasPrev = extra
    page.hasNext = try anyExists(">=", high)
  } else {
    if !extra, let b = req.before { page.hasNext = try anyExists(">=", b) }
    if let a = req.after { page.hasPrev = try anyExists("<=", a) }
  }
  return page
}

/// Writes `"page_info": {...}`.
func writePageInfo(_ w: inout JSONWriter, _ page: Page, tag: String) {
  w.key("page_info")
  w.beginObject()
  w.field("has_next_page", page.hasNext)
  w.field("has_prev_page", page.hasPrev)
  if let first = page.firstSeq, let last = page.lastSeq {
    w.field("start_cursor", Cursor.encode(tag: tag, seq: first))
    w.field("end_cursor", Cursor.encode(tag: tag, seq: last))
  }
  w.endObject()
}
