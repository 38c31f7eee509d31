@preconcurrency import Glibc
import LuaKit

/// `--json` and `--run`: the Swift side is only calls into Lua; the
/// conversion (records, pages, iterators) is kc.json.to_json and the
/// shipped scripts are found by kc.run (stdlib/kc/json.lua, run.lua).
enum JSONOutput {
  /// Prints the values from `first` to the top as JSON, one a line
  /// (kc.json's print_results), and pops them. Throws what it raises.
  static func print(_ state: LuaState, from first: Int32) throws(LuaError) {
    let first = state.absolute(first)
    let count = state.top - first + 1
    guard count > 0 else { return }
    try state.load("return require('kc.json').print_results(...)", name: "=--json")
    state.insert(at: first)
    try state.call(nargs: count, nresults: 0)
  }
}

extension ScriptRunner {
  /// `docall` with all results; with --json, without the traceback handler,
  /// so that an error keeps its value (a kc.Error's status and code) for
  /// kc.json's print_error.
  func callKeeping(nargs: Int32) -> LuaStatus {
    guard json else { return docall(nargs: nargs) }
    return state.interruptible { state.pcall(nargs: nargs, nresults: LuaState.allResults, traceback: false) }
  }

  /// Calls the chunk on top; with --json, prints what it returns.
  func callChunk(printing: Bool) -> LuaStatus {
    guard printing && json else { return docall(nargs: 0, nresults: 0) }
    let base = state.top  // the chunk's slot
    var status = callKeeping(nargs: 0)
    if status.isOK {
      let count = state.top - base + 1
      status = printResults(count)
    }
    return status
  }

  /// Prints the `count` values on top (kc.json's print_results), protected.
  func printResults(_ count: Int32) -> LuaStatus {
    guard count > 0 else { return .ok }
    let first = state.top - count + 1
    do {
      try state.load("return require('kc.json').print_results(...)", name: "=--json")
    } catch {
      state.top = first - 1
      CLIOutput.error("\(progname): \(error.message)\n")
      return .ok
    }
    state.insert(at: first)
    return docall(nargs: count, nresults: 0)
  }

  /// With --json, an error is one JSON line on stderr (kc.json's
  /// print_error); true when it was written so.
  func reportJSON() -> Bool {
    guard json else { return false }
    let value = state.top
    guard (try? state.load("return require('kc.json').print_error(...)", name: "=--json")) != nil else {
      return false
    }
    state.pushValue(at: value)
    let ok = state.pcall(nargs: 1, nresults: 0, traceback: false).isOK
    state.pop()  // written: the error value; else print_error's own error
    return ok
  }

  /// `--run [NAME [args]]`: kc.run.main(NAME, args...) lists the shipped
  /// scripts or runs one, with `arg` as a script's.
  func runShipped(_ index: Int) throws -> LuaStatus {
    let base = state.top
    defer { state.top = base }
    var status = "return require('kc.run').main(...)".withCString {
      state.loadBuffer(UnsafeRawBufferPointer(start: $0, count: strlen($0)), name: "=--run")
    }
    if status.isOK {
      var n: Int32 = 0
      if index < argv.count {
        state.push(bytes: UnsafeRawBufferPointer(start: argv[index], count: strlen(argv[index])))
        n = try pushArgs() + 1
      }
      status = callKeeping(nargs: n)
      if status.isOK && json { status = printResults(state.top - base) }
    }
    return report(status)
  }
}
