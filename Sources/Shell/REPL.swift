@preconcurrency import Glibc
import CEdit
import LuaKit
import Threads

/// The interactive loop, after lua.c's `doREPL`: read a chunk (trying
/// `return <line>` first, then more lines while it is incomplete), run it
/// protected, print its results with `Printer`, report errors and go on.
/// On a terminal it reads through libedit with persistent history; otherwise
/// it writes prompts to stdout and reads lines from stdin, as lua.c does
/// without readline.
public final class REPL {
  let state: LuaState
  /// --json: results printed as JSON (kc.json's print_results).
  let json: Bool
  /// What kc talks to, shown in the prompt on a terminal: `kcsh(sandbox)> `.
  let target: KCTarget?
  /// Input is a terminal (libedit): prompts show the target.
  var onTerminal = false

  public init(state: LuaState, json: Bool = false, target: KCTarget? = nil) {
    self.state = state
    self.json = json
    self.target = target
  }

  /// Reads, evaluates and prints until end of input; returns the exit status.
  public func run() -> Int32 {
    let source: LineSource
    onTerminal = isatty(0) != 0
    if onTerminal {
      useUTF8Locale()
      let editor = LineEditor(historyPath: HistoryFile.defaultPath())
      let completer = Completer(state: state)
      editor?.completer = { completer.complete($0) }
      editor?.redactor = { [state] chunk in Self.redact(chunk, in: state) }
      source = editor ?? PlainLineSource()
    } else {
      source = PlainLineSource()
    }
    // Writes typed from now on are typed at a prompt (confirm_writes).
    let top = state.top
    if (try? state.load("require('kc.confirm').at_prompt = true", name: "=kc.confirm")) != nil {
      _ = state.pcall(nargs: 0, nresults: 0, traceback: false)
    }
    state.top = top
    // At the prompt, Ctrl-C drops the line; while a chunk runs, it stops it.
    return Interrupt.installed { loop(source) }
  }

  private func loop(_ source: LineSource) -> Int32 {
    let base = state.top
    defer { state.top = base }
    while true {
      state.top = base
      switch readChunk(from: source) {
      case .end:
        fputs("\n", kcsh_stdout())
        fflush(kcsh_stdout())
        return 0
      case .interrupted:
        continue
      case .failed(let error):
        report(error)
      case .loaded:
        evaluate(base: base)
      }
    }
  }

  enum Chunk {
    /// The compiled chunk is on top of the stack.
    case loaded
    case failed(LuaError)
    case interrupted
    case end
  }

  /// lua.c's `loadline`: one line as an expression if it compiles as one,
  /// else as statements, asking for more lines while the error is at <eof>.
  func readChunk(from source: LineSource) -> Chunk {
    let line: [UInt8]
    switch source.read(prompt: prompt(first: true)) {
    case .end: return .end
    case .interrupted: return .interrupted
    case .line(let l): line = l
    }
    var code = line
    if let help = Self.helpShortcut(line) {
      code = help  // `?org.users` and `help org.users`: help(org.users)
      if (try? state.load(code, name: "=stdin")) != nil {
        source.remember(line)
        return .loaded
      }
    }
    if line.first == UInt8(ascii: "=") {
      code = Array("return ".utf8) + line.dropFirst()  // `=expr`, as lua 5.4 (and Neovim) accept
    } else if (try? state.load(Array("return ".utf8) + line + [UInt8(ascii: ";")], name: "=stdin"))
      != nil
    {
      if !line.isEmpty { source.remember(line) }
      return .loaded
    }
    var typed = line
    while true {
      do {
        try state.load(code, name: "=stdin")
        source.remember(typed)
        return .loaded
      } catch {
        guard error.message.hasSuffix("<eof>") else {
          source.remember(typed)
          return .failed(error)
        }
        switch source.read(prompt: prompt(first: false)) {
        case .end:
          source.remember(typed)
          return .failed(error)
        case .interrupted:
          return .interrupted
        case .line(let more):
          code += [UInt8(ascii: "\n")] + more
          typed += [UInt8(ascii: "\n")] + more
        }
      }
    }
  }

  /// `?name.path` or `help name.path` (a dotted or indexed name, without
  /// parentheses) as the code `return help(name.path)`; nil for other lines.
  /// Neither is valid Lua, so no statement changes meaning.
  static func helpShortcut(_ line: [UInt8]) -> [UInt8]? {
    var text = String(decoding: line, as: UTF8.self).trimmingWhitespace
    if text.hasPrefix("?") {
      text = String(text.dropFirst())
    } else if text.hasPrefix("help "), !text.contains("(") {
      text = String(text.dropFirst(5))
    } else {
      return nil
    }
    text = text.trimmingWhitespace
    guard !text.isEmpty, let first = text.unicodeScalars.first,
      first == "_" || (first.properties.isAlphabetic && first.isASCII),
      text.unicodeScalars.allSatisfy({
        $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.:[]\"'".unicodeScalars.contains($0))
      })
    else { return nil }
    return Array("return help(\(text))".utf8)
  }

  /// Runs the chunk on top and prints its results. Ctrl-C meanwhile raises
  /// "interrupted!" in the running code (lua.c's `laction`).
  func evaluate(base: Int32) {
    state.interruptible {
      do throws(LuaError) {
        try state.call(nargs: 0)
        if json {
          try JSONOutput.print(state, from: base + 1)
        } else if state.top > base {
          // __tostring runs Lua code, so printing stays interruptible too.
          let columns = terminalColumns()
          let printer = printer(columns: columns)
          if state.top == base + 1, state.type(at: -1) == .table,
            var out = try table(at: -1, colors: printer.colors, columns: columns)
          {
            out.append(UInt8(ascii: "\n"))
            fwrite(out, 1, out.count, kcsh_stdout())
            fflush(kcsh_stdout())
            return
          }
          var out = try printer.renderBytes(state, from: base + 1, to: state.top)
          out.append(UInt8(ascii: "\n"))
          fwrite(out, 1, out.count, kcsh_stdout())
        }
        fflush(kcsh_stdout())
      } catch {
        report(error)
      }
    }
  }

  /// A page, an iterator, a record or a list of records as kc.table.lua
  /// lays it out for the terminal (a screenful of rows at most); nil for
  /// any other value, which the Printer shows.
  func table(at index: Int32, colors: Bool, columns: Int?) throws(LuaError) -> [UInt8]? {
    let value = state.absolute(index)
    let top = state.top
    defer { state.top = top }
    try state.load("return require('kc.table').display(...)", name: "=kc.table")
    state.pushValue(at: value)
    state.push(max(20, columns ?? 80))  // the terminal's whole width
    if columns != nil, let rows = terminalRows() { state.push(rows) } else { state.pushNil() }
    state.push(colors)
    try state.call(nargs: 4, nresults: 1)
    guard state.type(at: -1) == .string else { return nil }
    return state.bytes(at: -1)
  }

  /// `chunk` with its secrets replaced by <redacted> (kc/redact.lua), for
  /// the history. If that fails, the chunk is not kept at all: a secret
  /// must never reach the file.
  static func redact(_ chunk: [UInt8], in state: LuaState) -> [UInt8] {
    let top = state.top
    defer { state.top = top }
    do throws(LuaError) {
      try state.load("return require('kc.redact').text(...)", name: "=kc.redact")
      state.push(bytes: chunk)
      try state.call(nargs: 1, nresults: 1)
      return state.bytes(at: -1) ?? []
    } catch {
      return []
    }
  }

  /// The printer for results: 80 columns, fewer on a narrower terminal;
  /// colours on a terminal unless NO_COLOR is set (no-color.org) or TERM is
  /// dumb.
  func printer(columns: Int?) -> Printer {
    let noColor = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
    let dumb = getenv("TERM").map { String(cString: $0) == "dumb" } ?? true
    let colors = columns != nil && !noColor && !dumb
    return Printer(width: min(80, max(20, columns ?? 80)), colors: colors)
  }

  /// lua.c's `get_prompt`: `tostring(_PROMPT)` or `tostring(_PROMPT2)` when
  /// set, else the default.
  func prompt(first: Bool) -> String {
    let top = state.top
    defer { state.top = top }
    if state.getGlobal(first ? "_PROMPT" : "_PROMPT2") != .nil,
      let text = try? state.toString(at: -1)
    {
      return text
    }
    // On a terminal, the target; piped, lua.c's prompts (as lua5.4 -i).
    guard onTerminal else { return first ? "> " : ">> " }
    let head = target?.name.map { "kcsh(\($0))" } ?? "kcsh"
    return first ? head + "> " : head + ">> "
  }

  /// The message and traceback on stderr, as lua.c's REPL prints them.
  func report(_ error: LuaError) {
    fflush(kcsh_stdout())
    fputs(error.description + "\n", kcsh_stderr())
    fflush(kcsh_stderr())
  }

  /// libedit decodes keys and history in the locale's encoding: the one the
  /// environment names, or UTF-8 when it names none. Only LC_CTYPE changes,
  /// so Lua's number formatting is untouched.
  private func useUTF8Locale() {
    let name = setlocale(LC_CTYPE, "").map { String(cString: $0) } ?? "C"
    if name == "C" || name == "POSIX" { setlocale(LC_CTYPE, "C.UTF-8") }
  }
}

extension String {
  fileprivate var trimmingWhitespace: String {
    let scalars = unicodeScalars
    guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
      let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
    else { return "" }
    return String(scalars[start...end])
  }
}
