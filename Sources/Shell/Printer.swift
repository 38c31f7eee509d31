import LuaKit

/// Shows Lua values readably, as `vim.print` does: tables nested and
/// indented, keys sorted, shared or cyclic tables labelled (`<1>{ … }`, then
/// `<table 1>`), strings quoted inside tables, nesting cut at `maxDepth`.
///
/// Tables are read raw (no `__index`, `__pairs`), so showing a value never
/// runs Lua code, except `__tostring`: a value whose metatable has one is
/// shown as `tostring` gives it (error objects, records that want it).
/// A table that fits in `width` columns stays on one line. With `colors`,
/// values are coloured by type (ANSI escapes) and widths still hold.
public struct Printer: Sendable {
  /// Tables nested deeper than this are shown as `{...}`.
  public var maxDepth: Int
  /// Lines are kept within this many columns where possible.
  public var width: Int
  /// Spaces per level of nesting.
  public var indent: Int
  /// Colour values by type, for a terminal (top-level strings stay as
  /// they are).
  public var colors: Bool

  public init(maxDepth: Int = 6, width: Int = 80, indent: Int = 2, colors: Bool = false) {
    self.maxDepth = maxDepth
    self.width = width
    self.indent = indent
    self.colors = colors
  }

  /// The values at `first...last` (a REPL's results), separated by tabs like
  /// `print`, or by newlines when one of them takes several lines. A string
  /// is given as it is (as `print` would); inside a table it is quoted.
  /// Bytes, so strings come out exactly. Throws what a `__tostring`
  /// metamethod raises.
  public func renderBytes(
    _ state: LuaState, from first: Int32, to last: Int32
  ) throws(LuaError) -> [UInt8] {
    let first = state.absolute(first)
    let last = state.absolute(last)
    var builder = Builder(state: state, maxDepth: maxDepth, colors: colors)
    var nodes: [Node] = []
    for i in stride(from: first, through: last, by: 1) {
      nodes.append(try builder.node(at: i, depth: 0, top: true))
    }
    let layout = Layout(printer: self, labels: builder.labels(for: nodes))
    var parts: [[UInt8]] = []
    for node in nodes {
      var out: [UInt8] = []
      layout.write(node, column: 0, level: 0, into: &out)
      parts.append(out)
    }
    let multiline = parts.contains { $0.contains(UInt8(ascii: "\n")) }
    return Array(parts.joined(separator: [UInt8(ascii: multiline ? "\n" : "\t")]))
  }
}

/// A value ready to lay out.
private indirect enum Node {
  case atom([UInt8])
  /// A table shown in full; `id` tells it from others, for labels.
  case table(id: Int, items: [Node], fields: [(key: Key, value: Node)])
  /// A table already shown (on the path, or before).
  case reference(id: Int)
}

/// A field's key: its text, or a table shown before, whose label number is
/// only known once the whole value is built.
private enum Key {
  case text([UInt8])
  case reference(id: Int)
}

/// Turns Lua values into nodes, reading tables raw.
private struct Builder {
  let state: LuaState
  let maxDepth: Int
  let colors: Bool
  var tableIds: [UnsafeRawPointer: Int] = [:]
  var otherIds: [UnsafeRawPointer: Int] = [:]
  var otherCounts: [String: Int] = [:]
  var referenced: Set<Int> = []

  init(state: LuaState, maxDepth: Int, colors: Bool) {
    self.state = state
    self.maxDepth = maxDepth
    self.colors = colors
  }

  /// `text` in an SGR colour when colours are on.
  func paint(_ text: [UInt8], _ sgr: String) -> [UInt8] {
    colors ? Array("\u{1B}[\(sgr)m".utf8) + text + Array("\u{1B}[0m".utf8) : text
  }

  mutating func node(at index: Int32, depth: Int, top: Bool = false) throws(LuaError) -> Node {
    let index = state.absolute(index)
    switch state.type(at: index) {
    case .none, .nil: return .atom(paint(Array("nil".utf8), "35"))
    case .boolean:
      return .atom(paint(Array((state.boolean(at: index) ? "true" : "false").utf8), "33"))
    case .number: return .atom(paint(numberText(at: index), "33"))
    case .string:
      let bytes = state.bytes(at: index) ?? []
      return .atom(top ? bytes : paint(quote(bytes), "32"))
    case .table:
      if hasToString(at: index) { return .atom(Array(try state.toString(at: index).utf8)) }
      return try table(at: index, depth: depth)
    case .function, .userdata, .lightUserdata, .thread:
      if top || hasToString(at: index) { return .atom(Array(try state.toString(at: index).utf8)) }
      return .atom(paint(Array(handle(at: index).utf8), "36"))
    }
  }

  /// `<function 1>`, `<userdata 2>`…: numbered in order of appearance, so
  /// the same value gets the same name, as in vim.inspect.
  mutating func handle(at index: Int32) -> String {
    let name = state.type(at: index).name
    guard let p = state.pointer(at: index) else { return "<\(name)>" }
    if let id = otherIds[p] { return "<\(name) \(id)>" }
    let id = otherCounts[name, default: 0] + 1
    otherCounts[name] = id
    otherIds[p] = id
    return "<\(name) \(id)>"
  }

  func hasToString(at index: Int32) -> Bool {
    guard state.pushMetatable(at: index) else { return false }
    defer { state.pop() }
    let t = state.rawGet(-1, field: "__tostring")
    state.pop()
    return t != .nil
  }

  func numberText(at index: Int32) -> [UInt8] { state.convertedBytes(at: index) ?? [] }

  mutating func table(at index: Int32, depth: Int) throws(LuaError) -> Node {
    guard let p = state.pointer(at: index) else { return .atom(Array("{}".utf8)) }
    if let id = tableIds[p] {
      referenced.insert(id)
      return .reference(id: id)
    }
    state.pushNil()
    let empty = try !state.next(index)
    if !empty { state.pop(2) }
    if empty { return .atom(Array("{}".utf8)) }
    if depth >= maxDepth { return .atom(Array("{...}".utf8)) }
    guard state.ensureStack(8) else { return .atom(Array("{...}".utf8)) }
    let id = tableIds.count + 1
    tableIds[p] = id

    // The sequence 1..n first, as a list.
    var items: [Node] = []
    var n: Int64 = 0
    while state.rawGet(index, n + 1) != .nil {
      defer { state.pop() }
      items.append(try node(at: -1, depth: depth + 1))
      n += 1
    }
    state.pop()

    // Then the other keys, sorted first so that labels come before the
    // references to them in reading order.
    state.newTable()
    let keys = state.top
    var sortKeys: [SortKey] = []
    state.pushNil()
    while try state.next(index) {
      state.pop()
      if state.isInteger(at: -1), let i = state.integer(at: -1), i >= 1, i <= n { continue }
      sortKeys.append(sortKey(at: -1, position: sortKeys.count + 1))
      state.pushValue(at: -1)
      state.rawSet(keys, Int64(sortKeys.count))
    }
    sortKeys.sort()
    var fields: [(key: Key, value: Node)] = []
    for k in sortKeys {
      state.rawGet(keys, Int64(k.position))
      let key = try keyText(at: -1, depth: depth)
      state.pushValue(at: -1)
      state.rawGet(index)
      defer { state.pop(2) }
      fields.append((key, try node(at: -1, depth: depth + 1)))
    }
    state.pop()
    return .table(id: id, items: items, fields: fields)
  }

  /// `name` for identifiers, `["a b"]`, `[10]`, `[true]`, `[<table 2>]`.
  mutating func keyText(at index: Int32, depth: Int) throws(LuaError) -> Key {
    let index = state.absolute(index)
    if let bytes = state.bytes(at: index), isLuaName(bytes) { return .text(bytes) }
    switch try node(at: index, depth: maxDepth) {
    case .atom(let a): return .text([UInt8(ascii: "[")] + a + [UInt8(ascii: "]")])
    case .reference(let id): return .reference(id: id)
    case .table: return .text(Array("[{...}]".utf8))
    }
  }

  func sortKey(at index: Int32, position: Int) -> SortKey {
    switch state.type(at: index) {
    case .number: SortKey(rank: 0, number: state.number(at: index) ?? 0, position: position)
    case .boolean: SortKey(rank: 1, number: state.boolean(at: index) ? 1 : 0, position: position)
    case .string: SortKey(rank: 2, bytes: state.bytes(at: index) ?? [], position: position)
    default: SortKey(rank: 3, position: position)
    }
  }

  /// Which labels are needed: the tables referenced again, numbered in the
  /// order they will be read.
  func labels(for nodes: [Node]) -> [Int: Int] {
    var labels: [Int: Int] = [:]
    func visit(_ node: Node) {
      guard case .table(let id, let items, let fields) = node else { return }
      if referenced.contains(id) { labels[id] = labels.count + 1 }
      items.forEach(visit)
      fields.forEach { visit($0.value) }
    }
    nodes.forEach(visit)
    return labels
  }
}

/// Key order: numbers, booleans, strings, then the rest as found.
private struct SortKey: Comparable {
  var rank: Int
  var number: Double = 0
  var bytes: [UInt8] = []
  var position: Int

  static func < (a: SortKey, b: SortKey) -> Bool {
    if a.rank != b.rank { return a.rank < b.rank }
    if a.number != b.number { return a.number < b.number }
    if a.bytes != b.bytes { return a.bytes.lexicographicallyPrecedes(b.bytes) }
    return a.position < b.position
  }
}

/// A Lua string literal that reads back as the same bytes: valid UTF-8 is
/// kept, control characters and stray bytes are escaped.
private func quote(_ bytes: [UInt8]) -> [UInt8] {
  var out: [UInt8] = [UInt8(ascii: "\"")]
  out.reserveCapacity(bytes.count + 2)
  var i = 0
  while i < bytes.count {
    let b = bytes[i]
    if b >= 0x80 {
      let n = utf8Length(bytes, at: i)
      if n > 0 {
        out += bytes[i..<(i + n)]
        i += n
        continue
      }
    }
    switch b {
    case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), b]
    case UInt8(ascii: "\\"): out += [b, b]
    case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
    case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
    case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
    case 0x20..<0x7f: out.append(b)
    default:  // three digits, so a digit after it cannot join the escape
      out += [UInt8(ascii: "\\"), 0x30 + b / 100, 0x30 + b / 10 % 10, 0x30 + b % 10]
    }
    i += 1
  }
  out.append(UInt8(ascii: "\""))
  return out
}

/// The length of the well-formed UTF-8 sequence at `i`, or 0.
private func utf8Length(_ s: [UInt8], at i: Int) -> Int {
  let b = s[i]
  let (n, low, high): (Int, UInt8, UInt8) =
    switch b {
    case 0xC2...0xDF: (2, 0x80, 0xBF)
    case 0xE0: (3, 0xA0, 0xBF)
    case 0xED: (3, 0x80, 0x9F)
    case 0xE1...0xEF: (3, 0x80, 0xBF)
    case 0xF0: (4, 0x90, 0xBF)
    case 0xF1...0xF3: (4, 0x80, 0xBF)
    case 0xF4: (4, 0x80, 0x8F)
    default: (0, 0, 0)
    }
  guard n > 0, i + n <= s.count, s[i + 1] >= low, s[i + 1] <= high else { return 0 }
  for k in (i + 2)..<(i + n) where s[k] & 0xC0 != 0x80 { return 0 }
  return n
}

/// Writes nodes: a table on one line when it fits, else one item a line
/// (runs of plain list items packed together).
private struct Layout {
  let printer: Printer
  let labels: [Int: Int]

  init(printer: Printer, labels: [Int: Int]) {
    self.printer = printer
    self.labels = labels
  }

  func label(_ id: Int) -> [UInt8] {
    labels[id].map { Array("<\($0)>".utf8) } ?? []
  }

  func text(_ key: Key) -> [UInt8] {
    switch key {
    case .text(let t): t
    case .reference(let id): Array("[<table \(labels[id] ?? id)>]".utf8)
    }
  }

  /// The one-line form, or nil when it is longer than `budget` columns.
  func flat(_ node: Node, budget: Int) -> [UInt8]? {
    var out: [UInt8] = []
    var used = 0
    return appendFlat(node, into: &out, used: &used, budget: budget) ? out : nil
  }

  private func appendFlat(
    _ node: Node, into out: inout [UInt8], used: inout Int, budget: Int
  ) -> Bool {
    func put(_ bytes: [UInt8]) -> Bool {
      out += bytes
      used += columns(bytes)
      return used <= budget
    }
    switch node {
    case .atom(let a):
      return !a.contains(UInt8(ascii: "\n")) && put(a)
    case .reference(let id):
      return put(Array("<table \(labels[id] ?? id)>".utf8))
    case .table(let id, let items, let fields):
      guard put(label(id) + Array("{ ".utf8)) else { return false }
      var first = true
      for item in items {
        guard first || put(Array(", ".utf8)) else { return false }
        first = false
        guard appendFlat(item, into: &out, used: &used, budget: budget) else { return false }
      }
      for field in fields {
        guard first || put(Array(", ".utf8)) else { return false }
        first = false
        guard put(text(field.key) + Array(" = ".utf8)),
          appendFlat(field.value, into: &out, used: &used, budget: budget)
        else { return false }
      }
      return put(Array(" }".utf8))
    }
  }

  /// Writes `node` starting at `column`, nested `level` deep.
  func write(_ node: Node, column: Int, level: Int, into out: inout [UInt8]) {
    let id: Int
    let items: [Node]
    let fields: [(key: Key, value: Node)]
    switch node {
    case .atom(let a):
      out += a
      return
    case .reference(let ref):
      out += Array("<table \(labels[ref] ?? ref)>".utf8)
      return
    case .table(let i, let it, let f):
      (id, items, fields) = (i, it, f)
    }
    if let one = flat(node, budget: printer.width - column) {
      out += one
      return
    }
    let pad = [UInt8](repeating: UInt8(ascii: " "), count: (level + 1) * printer.indent)
    let inner = pad.count
    out += label(id)
    out.append(UInt8(ascii: "{"))
    var lineStart = true  // at the start of an item line
    var lineColumn = 0
    var first = true
    for item in items {
      var text: [UInt8]? = nil
      if case .atom(let a) = item, !a.contains(UInt8(ascii: "\n")) { text = a }
      if case .reference = item { text = flat(item, budget: Int.max) }
      if !first { out.append(UInt8(ascii: ",")) }
      first = false
      // ", x" and the comma after it must fit
      if let text, !lineStart, lineColumn + 3 + columns(text) <= printer.width {
        // Pack short list items side by side.
        out.append(UInt8(ascii: " "))
        out += text
        lineColumn += 2 + columns(text)
        continue
      }
      out.append(UInt8(ascii: "\n"))
      out += pad
      if let text {
        out += text
        lineColumn = inner + columns(text)
        lineStart = false
      } else {
        write(item, column: inner, level: level + 1, into: &out)
        lineStart = true
      }
    }
    for field in fields {
      if !first { out.append(UInt8(ascii: ",")) }
      first = false
      out.append(UInt8(ascii: "\n"))
      let key = text(field.key)
      out += pad + key + Array(" = ".utf8)
      write(field.value, column: inner + columns(key) + 3, level: level + 1, into: &out)
    }
    out.append(UInt8(ascii: "\n"))
    out += [UInt8](repeating: UInt8(ascii: " "), count: level * printer.indent)
    out.append(UInt8(ascii: "}"))
  }
}

/// Display columns of UTF-8 text (continuation bytes and the colours'
/// escape sequences take none).
private func columns(_ bytes: [UInt8]) -> Int {
  var n = 0
  var escape = false
  for b in bytes {
    if escape {
      escape = !(b >= 0x40 && b <= 0x7e && b != UInt8(ascii: "["))
    } else if b == 0x1B {
      escape = true
    } else if b & 0xC0 != 0x80 {
      n += 1
    }
  }
  return n
}
