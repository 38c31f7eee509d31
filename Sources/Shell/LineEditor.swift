@preconcurrency import Glibc
import CEdit
import Threads

/// What asking for a line gave.
enum LineInput: Equatable {
  /// A line, without its newline (bytes: Lua source need not be UTF-8).
  case line([UInt8])
  /// Ctrl-C: the caller drops whatever it was reading.
  case interrupted
  /// End of input (Ctrl-D on an empty line, or end of file).
  case end
}

/// Where the REPL gets its lines from.
protocol LineSource: AnyObject {
  func read(prompt: String) -> LineInput
  /// Records one submitted chunk, continuation lines included.
  func remember(_ chunk: [UInt8])
}

/// What a completer offers for the text before the cursor: the partial word
/// it found there and the words that could replace it.
struct Completions {
  var word: String
  var candidates: [String]
  /// Shown beside a candidate in the list (a user ID's email).
  var notes: [String: String] = [:]
}

/// Lines from stdin with the prompt written to stdout: lua.c's REPL without
/// readline, for when stdin is not a terminal.
final class PlainLineSource: LineSource {
  func read(prompt: String) -> LineInput {
    fputs(prompt, kcsh_stdout())
    fflush(kcsh_stdout())
    // Wait on the descriptor first, unless stdio has input already, so that
    // a SIGINT that comes while waiting is never missed.
    if kcsh_stdin_buffered() == 0 {
      switch Interrupt.waitForInput(0) {
      case false:
        fputs("\n", kcsh_stdout())
        return .interrupted
      case nil: return .end
      case true: break
      }
    }
    var buffer: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(buffer) }
    let n = getline(&buffer, &capacity, kcsh_stdin())
    guard n >= 0, let buffer else {
      if errno == EINTR, Interrupt.takePromptInterrupt() {
        clearerr(kcsh_stdin())
        fputs("\n", kcsh_stdout())
        return .interrupted
      }
      return .end
    }
    var bytes = Array(UnsafeRawBufferPointer(start: buffer, count: n))
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    return .line(bytes)
  }

  func remember(_ chunk: [UInt8]) {}
}

/// libedit on a terminal: line editing, persistent history, Ctrl-C that
/// abandons the line, and a Tab key wired to `completer`.
final class LineEditor: LineSource {
  private let el: OpaquePointer
  private let history: OpaquePointer
  private var prompt: UnsafeMutablePointer<CChar>
  private var decoder = mbstate_t()
  private var interrupted = false
  private let historyFile: HistoryFile?
  /// The terminal opened anew without blocking: see `readCharacter`.
  private let input: Int32

  /// Called with the line up to the cursor when Tab is pressed; nil makes
  /// Tab beep and insert nothing.
  var completer: ((String) -> Completions)?

  /// What a chunk becomes before the history (memory and file) keeps it:
  /// its secrets replaced by <redacted>. nil keeps chunks as typed.
  var redactor: (([UInt8]) -> [UInt8])?

  /// Opens the editor on stdin/stdout; `historyPath` nil keeps no history
  /// file.
  init?(historyPath: String?) {
    guard let el = el_init("kcsh", kcsh_stdin(), kcsh_stdout(), kcsh_stderr()) else { return nil }
    guard let history = history_init() else {
      el_end(el)
      return nil
    }
    self.el = el
    self.history = history
    input = ttyname(0).map { open($0, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) } ?? -1
    prompt = strdup("> ")
    historyFile = historyPath.map(HistoryFile.init(path:))

    kcsh_history_setsize(history, Int32(HistoryFile.size))
    kcsh_history_setunique(history, 1)
    historyFile?.load(into: history)

    kcsh_el_set_clientdata(el, Unmanaged.passUnretained(self).toOpaque())
    kcsh_el_set_editor(el, "emacs")
    // libedit's own handlers restore the terminal for Ctrl-Z and follow
    // window size changes; Ctrl-C still reaches ours (Threads' Interrupt).
    kcsh_el_set_signal(el, 1)
    kcsh_el_set_history(el, history)
    kcsh_el_set_prompt(el, promptCallback)
    kcsh_el_set_getc(el, readCallback)
    kcsh_el_bind_interrupt(el, interruptCallback)
    kcsh_el_bind_complete(el, completeCallback)
    el_source(el, nil)  // ~/.editrc last, so users can rebind
  }

  deinit {
    if input >= 0 { close(input) }
    el_end(el)
    history_end(history)
    free(prompt)
  }

  fileprivate static func from(_ el: OpaquePointer?) -> LineEditor? {
    guard let el, let data = kcsh_el_clientdata(el) else { return nil }
    return Unmanaged<LineEditor>.fromOpaque(data).takeUnretainedValue()
  }

  func read(prompt text: String) -> LineInput {
    free(prompt)
    prompt = strdup(text)
    interrupted = false
    var count: Int32 = 0
    let line = el_gets(el, &count)
    if interrupted { return .interrupted }
    guard let line, count > 0 else { return .end }
    var bytes = Array(UnsafeRawBufferPointer(start: line, count: Int(count)))
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    return .line(bytes)
  }

  func remember(_ chunk: [UInt8]) {
    // A leading space keeps a line out of the history (a secret, say), as
    // in shells with HISTCONTROL=ignorespace.
    guard let first = chunk.first, first != UInt8(ascii: " ") else { return }
    let chunk = redactor?(chunk) ?? chunk
    guard !chunk.isEmpty else { return }
    let text = chunk.map { $0 == 0 ? CChar(32) : CChar(bitPattern: $0) } + [0]
    kcsh_history_enter(history, text)
    historyFile?.append(chunk)
  }

  // MARK: libedit callbacks

  fileprivate var promptText: UnsafeMutablePointer<CChar> { prompt }

  /// One character for libedit, decoded in the locale's encoding. Reading
  /// here rather than in libedit lets Ctrl-C end the wait: the signal
  /// interrupts it, and the pending flag becomes a ^C key.
  ///
  /// The read never blocks: a Ctrl-C flushes the terminal's input, so the
  /// byte the wait saw can be gone by the read, and a blocking read that
  /// began after the signal would wait for the next key with the ^C already
  /// taken. Reads go through our own non-blocking open of the terminal
  /// (O_NONBLOCK on fd 0 would change it for the shell that shares it).
  fileprivate func readCharacter(into out: UnsafeMutablePointer<wchar_t>) -> Int32 {
    let fd = input >= 0 ? input : 0
    while true {
      switch Interrupt.waitForInput(fd) {
      case false:
        decoder = mbstate_t()
        out.pointee = 3
        return 1
      case nil: return -1
      case true: break
      }
      var byte: CChar = 0
      let n = Glibc.read(fd, &byte, 1)
      if n == 0 { return 0 }
      if n < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        return -1
      }
      var wc: wchar_t = 0
      switch mbrtowc(&wc, &byte, 1, &decoder) {
      case -2: continue  // more bytes to come
      case -1: decoder = mbstate_t()  // invalid: dropped
      default:
        out.pointee = wc
        return 1
      }
    }
  }

  /// Ctrl-C at the prompt: show ^C at the end of the line, end it, and tell
  /// `read` to drop it.
  fileprivate func interrupt() -> UInt8 {
    interrupted = true
    if let info = el_wline(el) {
      el_cursor(el, Int32(info.pointee.lastchar - info.pointee.cursor))
    }
    el_insertstr(el, "^C")
    el_push(el, "\n")
    return UInt8(CC_REFRESH)
  }

  fileprivate func complete() -> UInt8 {
    guard let completer, let info = el_line(el), let start = info.pointee.buffer else {
      return UInt8(CC_ERROR)
    }
    let before = String(
      decoding: UnsafeRawBufferPointer(start: start, count: info.pointee.cursor - start),
      as: UTF8.self)
    let found = completer(before)
    guard let first = found.candidates.first else { return UInt8(CC_ERROR) }
    var common = Array(first.unicodeScalars)
    for c in found.candidates.dropFirst() {
      let n = zip(common, c.unicodeScalars).prefix { $0 == $1 }.count
      common.removeLast(common.count - n)
    }
    let typed = found.word.unicodeScalars.count
    if common.count > typed, first.hasPrefix(found.word) {
      var rest = String.UnicodeScalarView()
      rest.append(contentsOf: common[typed...])
      el_insertstr(el, String(rest))
      return UInt8(CC_REFRESH)
    }
    if found.candidates.count == 1 { return UInt8(CC_NORM) }
    listCandidates(found.candidates, notes: found.notes)
    return UInt8(CC_REDISPLAY)
  }

  /// Prints the candidates in columns below the line (libedit redraws the
  /// line after).
  private func listCandidates(_ words: [String], notes: [String: String] = [:]) {
    let width = terminalColumns() ?? 80
    if !notes.isEmpty {  // one a line: the value, then its note
      let column = (words.map(\.count).max() ?? 0) + 2
      var text = "\n"
      for w in words.sorted() {
        text += w + (notes[w].map { String(repeating: " ", count: column - w.count) + $0 } ?? "") + "\n"
      }
      fputs(text, kcsh_stdout())
      fflush(kcsh_stdout())
      return
    }
    let column = (words.map(\.count).max() ?? 0) + 2
    let perLine = max(1, width / column)
    var text = "\n"
    for (i, w) in words.sorted().enumerated() {
      let last = (i + 1) % perLine == 0 || i == words.count - 1
      text += last ? w + "\n" : w + String(repeating: " ", count: column - w.count)
    }
    fputs(text, kcsh_stdout())
    fflush(kcsh_stdout())
  }
}

private let promptCallback: kcsh_el_prompt_fn = { el in LineEditor.from(el)?.promptText }

private let readCallback: el_rfunc_t = { el, out in
  guard let out, let editor = LineEditor.from(el) else { return -1 }
  return editor.readCharacter(into: out)
}

private let interruptCallback: kcsh_el_command_fn = { el, _ in
  LineEditor.from(el)?.interrupt() ?? UInt8(CC_EOF)
}

private let completeCallback: kcsh_el_command_fn = { el, _ in
  LineEditor.from(el)?.complete() ?? UInt8(CC_ERROR)
}

/// The history file: libedit's format (a cookie line, then one strvis(3)
/// encoded entry a line), appended to as entries come so that a killed
/// session keeps them and parallel sessions do not overwrite each other.
struct HistoryFile {
  static let size = 1000
  static let cookie = "_HiStOrY_V2_\n"
  let path: String

  /// `$XDG_STATE_HOME/kcsh/history`, or `~/.local/state/kcsh/history`; nil
  /// when there is no home to put it in.
  static func defaultPath() -> String? {
    if let state = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), state.hasPrefix("/") {
      return state + "/kcsh/history"
    }
    guard let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty else { return nil }
    return home + "/.local/state/kcsh/history"
  }

  func load(into history: OpaquePointer) {
    let count = kcsh_history_load(history, path)
    // Rewrite the file once it holds twice what is kept, so it stays small.
    if count > 2 * HistoryFile.size { compact(history) }
  }

  func append(_ entry: [UInt8]) {
    guard makeParent() else { return }
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var st = stat()
    var text: [UInt8] = []
    if fstat(fd, &st) == 0, st.st_size == 0 { text += Array(HistoryFile.cookie.utf8) }
    text += HistoryFile.encode(entry)
    text.append(UInt8(ascii: "\n"))
    _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  }

  /// strvis(3) with VIS_WHITE, as libedit writes: what strunvis reads back.
  static func encode(_ entry: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(entry.count)
    for b in entry {
      if b == UInt8(ascii: "\\") {
        out += [b, b]
      } else if b > 0x20 && b < 0x7f {
        out.append(b)
      } else {
        out += [UInt8(ascii: "\\"), 0x30 + (b >> 6), 0x30 + ((b >> 3) & 7), 0x30 + (b & 7)]
      }
    }
    return out
  }

  private func compact(_ history: OpaquePointer) {
    let temporary = path + ".new"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0, let fp = fdopen(fd, "w") else { return }
    let ok = kcsh_history_save_fp(history, fp) >= 0
    if fclose(fp) == 0, ok { rename(temporary, path) } else { unlink(temporary) }
  }

  /// Creates the missing directories above the file (mode 0700).
  private func makeParent() -> Bool {
    var dir = ""
    for part in path.split(separator: "/").dropLast() {
      dir += "/" + part
      if mkdir(dir, 0o700) != 0 && errno != EEXIST { return false }
    }
    return true
  }
}

/// The width of the terminal on stdout, or nil when stdout is not one.
func terminalColumns() -> Int? {
  var size = winsize()
  guard isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
  return Int(size.ws_col)
}

/// The terminal's height in rows, when stdout is a terminal.
func terminalRows() -> Int? {
  var size = winsize()
  guard isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return nil }
  return Int(size.ws_row)
}
