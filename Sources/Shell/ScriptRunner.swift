@preconcurrency import Glibc
import LuaKit

/// kcsh's entry point: lua.c's `main` and `pmain`, so that scripts run
/// exactly as under lua5.4 (same options, `arg` table, LUA_INIT, error
/// reports and exit statuses), plus kcsh's long options.
public enum Kcsh {
  /// Runs kcsh with the process's arguments and returns the exit status.
  /// argv's strings are used as raw bytes (file names, `-e` code, `arg`).
  public static func main(
    argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
  ) -> Int32 {
    let raw = (0..<Int(argc)).compactMap { argv[$0] }  // none is nil below argc
    let progname = raw.first.map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "kcsh"
    var vm: LuaVM?
    do {
      vm = try LuaVM(openLibraries: false)
    } catch {
      CLIOutput.error("\(progname): cannot create state: not enough memory\n")
      return 1
    }
    guard let state = vm?.state else { return 1 }
    let runner = ScriptRunner(state: state, argv: raw, progname: progname)
    // pmain runs as a function called by Lua in protected mode, as in lua.c:
    // an error outside any chunk is reported, and tracebacks end in the
    // same "[C]: in ?" frame.
    state.push(function: { _ in
      runner.exitStatus = try runner.pmain()
      return .results(0)
    })
    // lua.c's two arguments: unused here, but they take the same stack
    // slots, so a script overflows the stack at the same depth.
    state.push(Int(argc))
    state.push(lightUserdata: argv)
    let status = state.pcall(nargs: 2, nresults: 0, traceback: false)
    if !status.isOK {
      _ = runner.report(status)
      runner.exitStatus = 1
    }
    vm = nil  // lua_close: finalizers run before the sandbox stops
    ShellSandbox.stopRunning()
    return runner.exitStatus
  }
}

/// The body of lua.c's `pmain` and its helpers (docall, dochunk, dofile,
/// dostring, dolibrary, handle_script, handle_luainit, createargtable).
final class ScriptRunner {
  let state: LuaState
  /// argv as the process got it: bytes, not necessarily UTF-8.
  let argv: [UnsafeMutablePointer<CChar>]
  let progname: String
  var exitStatus: Int32 = 1
  /// --json: results of -e, the script and REPL lines printed as JSON.
  var json = false

  init(state: LuaState, argv: [UnsafeMutablePointer<CChar>], progname: String) {
    self.state = state
    self.argv = argv
    self.progname = progname
  }

  /// Returns the exit status; throws only what lua.c's pmain would raise
  /// itself (reported by `Kcsh.main` without a traceback).
  func pmain() throws -> Int32 {
    let text = argv.map { String(cString: $0) }
    let args: ShellArguments
    switch ShellArguments.parse(text) {
    case .luaUsage(let bad):
      CLIOutput.error(CLIUsage.lua(progname: progname, badOption: text[bad]))
      return 1
    case .usage(let message):
      return usageError(message)
    case .help:
      CLIOutput.write(CLIUsage.help(progname: progname))
      return 0
    case .version:
      CLIOutput.write(CLIUsage.version)
      return 0
    case .run(let a):
      args = a
    }
    if args.long["emit-types"] != nil {
      return KCModule.emitTypes(ignoreEnvironment: args.ignoreEnvironment, progname: progname)
    }
    json = args.long["json"] != nil
    // KCSH_JOURNAL journals scripts only (the REPL and --show-journal still
    // start); --journal without a script is a mistake. Checked before
    // anything starts.
    let fromEnvironment = getenv("KCSH_JOURNAL").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    let journal = args.long["journal"]
      ?? (args.runsScript(argv.count) && args.long["show-journal"] == nil ? fromEnvironment : nil)
    if journal != nil, let why = args.journalProblem(argv.count) { return usageError(why) }
    if args.showVersion { printVersion() }
    if args.long["sandbox"] != nil {
      do {
        let (url, _) = try ShellSandbox.start()
        CLIOutput.error("\(progname): using a local Keycard sandbox at \(url) (stopped on exit)\n")
      } catch {
        CLIOutput.error("\(progname): \(error.message)\n")
        return 1
      }
    }
    if args.ignoreEnvironment {  // tells the package library to ignore LUA_PATH...
      state.push(true)
      state.setRegistryField("LUA_NOENV")
    }
    do {
      try state.openLibraries()
    } catch {
      CLIOutput.error("\(progname): \(error.message)\n")
      return 1
    }
    createArgTable(script: args.script)
    StdlibPath.append(to: state, ignoreEnvironment: args.ignoreEnvironment)
    // Is a person at a prompt? Then the REPL runs, and a missing configuration
    // falls back to a local sandbox; a script's fails instead.
    let repl = args.interactive || (args.script == argv.count && !args.hasExecute && !args.showVersion && isatty(0) != 0)
    var options = KCModule.Options(
      profile: args.long["profile"], trace: args.long["trace"] != nil, progname: progname, autoSandbox: repl)
    options.sandbox = args.long["sandbox"] != nil
    options.dryRun = args.long["dry-run"] != nil
    options.planOut = args.long["plan-out"]
    options.journal = journal
    options.journalCommand = journal.map { _ in journalCommand(args) }
    let target = KCModule.install(state, options: options)
    if let path = args.long["show-journal"] {
      return reported { () throws(LuaError) in try KCModule.showJournal(state, path: path, json: json) } ? 0 : 1
    }
    useGenerationalGC()
    if options.journal != nil && !reported({ () throws(LuaError) in try KCModule.startJournal(state) }) { return 1 }
    let status = try runChunks(args, target: target)
    // A journal commits what is staged, and is marked finished when the
    // script ran to its end with every step done.
    if options.journal != nil,
      !reported({ () throws(LuaError) in try KCModule.finishJournal(state, ok: status == 0) })
    {
      return 1
    }
    // A dry run ends with its plan, whether or not the script ran to its end.
    if options.dryRun && !reported({ () throws(LuaError) in try KCModule.finishPlan(state) }) { return 1 }
    return status
  }

  /// A bad kcsh option: the message, then the usage, on stderr; exit 2.
  private func usageError(_ message: String) -> Int32 {
    CLIOutput.error("\(progname): \(message)\n" + CLIUsage.help(progname: progname))
    return 2
  }

  /// Runs one of the bulk modes' steps (KCModule): false, with its error
  /// reported as `progname: message`, when it raised.
  private func reported(_ step: () throws(LuaError) -> Void) -> Bool {
    do {
      try step()
      return true
    } catch {
      CLIOutput.error("\(progname): \(error.message)\n")
      return false
    }
  }

  /// The command a journal belongs to, as a person would type it: the -e
  /// and -l chunks, the script (its absolute path) or --run NAME, and the
  /// script's arguments. kcsh's own options (the journal's name, --trace...)
  /// are not part of it.
  private func journalCommand(_ args: ShellArguments) -> String {
    let text = argv.map { String(cString: $0) }
    var words = ["kcsh"]
    for action in args.actions {
      switch action {
      case .execute(let v): words += ["-e", String(cString: argv[v.index] + v.offset)]
      case .library(let v): words += ["-l", String(cString: argv[v.index] + v.offset)]
      case .warnings: words.append("-W")
      }
    }
    if args.long["run"] != nil { words.append("--run") }
    if args.script < text.count {
      var script = text[args.script]
      if args.long["run"] == nil, script != "-", let full = realpath(script, nil) {
        script = String(cString: full)
        free(full)
      }
      words.append(script)
      words += text[(args.script + 1)...]
    }
    return words.map(Self.shellQuoted).joined(separator: " ")
  }

  /// A word as a POSIX shell would need it.
  static func shellQuoted(_ word: String) -> String {
    let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
      ($0.properties.isAlphabetic && $0.isASCII) || "0123456789@%+=:,./-_".unicodeScalars.contains($0)
    }
    return plain ? word : "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
  }

  /// The chunks of the command line (LUA_INIT, -e/-l, the script, the REPL
  /// or stdin), as lua.c's pmain runs them; the exit status.
  private func runChunks(_ args: ShellArguments, target: KCTarget?) throws -> Int32 {
    if !args.ignoreEnvironment && !handleLuaInit().isOK { return 1 }
    if try !runArguments(args.actions) { return 1 }
    if args.long["run"] != nil { return try runShipped(args.script).isOK ? 0 : 1 }
    if args.script < argv.count, try !handleScript(args.script).isOK { return 1 }
    if args.interactive {
      return REPL(state: state, json: json, target: target).run()
    } else if args.script == argv.count && !args.hasExecute && !args.showVersion {
      if isatty(0) != 0 {
        printVersion()
        return REPL(state: state, json: json, target: target).run()
      }
      // lua.c ignores this chunk's status; kcsh runs stdin as `lua5.4 -`
      // does, so a failing script exits with 1.
      if !dofile(nil, printing: true).isOK { return 1 }
    }
    return 0
  }

  // MARK: Running chunks

  /// lua.c's `docall`: calls the function below `nargs` arguments with the
  /// message handler (traceback) and Ctrl-C armed for the length of the call.
  func docall(nargs: Int32, nresults: Int32 = LuaState.allResults) -> LuaStatus {
    state.interruptible { state.pcall(nargs: nargs, nresults: nresults, traceback: true) }
  }

  /// lua.c's `report`: prints the message on top (if status is an error).
  func report(_ status: LuaStatus) -> LuaStatus {
    guard !status.isOK else { return status }
    if reportJSON() { return status }
    if let message = state.convertedBytes(at: -1) {
      CLIOutput.error(progname + ": ")
      CLIOutput.error(upToNUL: message)
      CLIOutput.error("\n")
    } else {
      CLIOutput.error("\(progname): (error message not a string)\n")
    }
    state.pop()
    return status
  }

  func dochunk(_ status: LuaStatus, printing: Bool = false) -> LuaStatus {
    var status = status
    if status.isOK { status = callChunk(printing: printing) }
    return report(status)
  }

  /// Runs a file, or stdin when `name` is nil.
  func dofile(_ name: UnsafePointer<CChar>?, printing: Bool = false) -> LuaStatus {
    dochunk(state.loadFile(name), printing: printing)
  }

  func dostring(_ code: UnsafePointer<CChar>, name: String, printing: Bool = false) -> LuaStatus {
    dochunk(state.loadBuffer(UnsafeRawBufferPointer(start: code, count: strlen(code)), name: name), printing: printing)
  }

  /// lua.c's `dolibrary`: `[g=]mod` runs `g = require "mod"`. Without `g`,
  /// the global is the module's name up to a '-' (`-l mod-1.2` sets `mod`),
  /// as lua.c does since 5.4.5.
  func dolibrary(_ spec: [UInt8]) throws -> LuaStatus {
    var global = spec
    var module = spec
    if let eq = spec.firstIndex(of: UInt8(ascii: "=")) {
      global = Array(spec[..<eq])
      module = Array(spec[(eq + 1)...])
    } else if let dash = spec.firstIndex(of: UInt8(ascii: "-")) {
      global = Array(spec[..<dash])
    }
    state.pushGlobals()
    state.push("require")
    try state.getTable(-2)
    state.remove(at: -2)
    state.push(bytes: module)
    let status = docall(nargs: 1, nresults: 1)
    if status.isOK {
      state.pushGlobals()
      state.push(bytes: global)
      state.pushValue(at: -3)
      try state.setTable(-3)  // lua_setglobal: a metamethod may refuse
      state.pop(2)
    }
    return report(status)
  }

  /// lua.c's `runargs`: `-e`, `-l` and `-W` in command-line order; false
  /// when one fails.
  func runArguments(_ actions: [ShellArguments.Action]) throws -> Bool {
    for action in actions {
      switch action {
      case .execute(let v):
        if !dostring(argv[v.index] + v.offset, name: "=(command line)", printing: true).isOK { return false }
      case .library(let v):
        if try !dolibrary(bytes(argv[v.index] + v.offset)).isOK { return false }
      case .warnings:
        state.warn("@on")
      }
    }
    return true
  }

  /// lua.c's `handle_script`: loads the script (stdin for "-", unless "--"
  /// came just before it) and calls it with arg[1...#arg] as `...`.
  func handleScript(_ index: Int) throws -> LuaStatus {
    var name: UnsafePointer<CChar>? = UnsafePointer(argv[index])
    if strcmp(argv[index], "-") == 0 && (index == 0 || strcmp(argv[index - 1], "--") != 0) {
      name = nil
    }
    let base = state.top
    var status = state.loadFile(name)
    if status.isOK {
      let n = try pushArgs()
      status = callKeeping(nargs: n)
      if status.isOK && json { status = printResults(state.top - base) }
    }
    let result = report(status)
    state.top = base
    return result
  }

  /// lua.c's `pushargs`: pushes arg[1...#arg] and returns how many.
  func pushArgs() throws -> Int32 {
    state.pushGlobals()
    state.push("arg")
    try state.getTable(-2)
    state.remove(at: -2)
    guard state.type(at: -1) == .table else {
      state.pop()
      throw LuaError("'arg' is not a table")
    }
    let n = try length(at: -1)
    guard n >= 0 else {  // a __len of arg's; lua5.4 fails too, less clearly
      state.pop()
      throw LuaError("'arg' has a negative length (\(n))")
    }
    guard n < Int64(Int32.max - 3), state.ensureStack(Int32(n) + 3) else {
      state.pop()
      throw LuaError("stack overflow (too many arguments to script)")
    }
    let table = state.top
    for i in 0..<n { state.rawGet(table, i + 1) }
    state.remove(at: table)
    return Int32(n)
  }

  /// `#t` for the table at `index`, honouring `__len` (luaL_len).
  private func length(at index: Int32) throws -> Int64 {
    guard state.pushMetatable(at: index) else { return Int64(state.rawLength(at: index)) }
    state.pop()
    let t = state.absolute(index)
    try state.load(
      "local n = #... if math.type(n) ~= 'integer' then error('object length is not an integer', 0) end return n",
      name: "=?")
    state.pushValue(at: t)
    try state.call(nargs: 1, nresults: 1)
    defer { state.pop() }
    return state.integer(at: -1) ?? 0
  }

  /// lua.c's `handle_luainit`: LUA_INIT_5_4, else LUA_INIT; `@file` runs a
  /// file, anything else runs as code named after the variable.
  func handleLuaInit() -> LuaStatus {
    var name = "LUA_INIT_5_4"
    var value = getenv(name)
    if value == nil {
      name = "LUA_INIT"
      value = getenv(name)
    }
    guard let value else { return .ok }
    if value[0] == CChar(UInt8(ascii: "@")) { return dofile(value + 1) }
    return dostring(value, name: "=" + name)
  }

  /// lua.c's `createargtable`: the script at 0, its arguments at 1...n, the
  /// interpreter and its options at negative indices (or from 0 when there
  /// is no script).
  func createArgTable(script: Int) {
    let script = script == argv.count ? 0 : script
    let narg = max(0, argv.count - (script + 1))  // argv may even be empty
    state.newTable(array: Int32(clamping: narg), hash: Int32(clamping: script + 1))
    for (i, arg) in argv.enumerated() {
      state.push(bytes: UnsafeRawBufferPointer(start: arg, count: strlen(arg)))
      state.rawSet(-2, Int64(i - script))
    }
    state.setGlobal("arg")
  }

  /// lua.c sets generational mode after opening the libraries.
  private func useGenerationalGC() { state.vm?.useGenerationalGC() }

  private func printVersion() {
    CLIOutput.write(KcshVersion.luaCopyright + "\n")
  }

  private func bytes(_ p: UnsafePointer<CChar>) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
  }
}

/// Writes straight to fds 1 and 2, after flushing C's buffers (Lua's
/// io.write and print use them), so kcsh's output and the script's keep
/// their order. (C's `stdout` cannot be named under strict concurrency.)
enum CLIOutput {
  static func write(_ text: String) { put(text, to: 1) }
  static func error(_ text: String) { put(text, to: 2) }
  /// The bytes up to the first NUL, as lua.c's `%s` writes a message.
  static func error(upToNUL bytes: [UInt8]) {
    fflush(nil)
    bytes.withUnsafeBytes { all in
      writeAll(UnsafeRawBufferPointer(rebasing: all[..<(bytes.firstIndex(of: 0) ?? bytes.count)]), to: 2)
    }
  }

  private static func put(_ text: String, to fd: Int32) {
    fflush(nil)
    var text = text
    text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: fd) }
  }

  private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) {
    var rest = bytes
    while !rest.isEmpty {
      let n = Glibc.write(fd, rest.baseAddress, rest.count)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return }
      rest = UnsafeRawBufferPointer(rebasing: rest[n...])
    }
  }
}
