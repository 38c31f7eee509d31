import XCTest

@testable import Shell

/// kcsh's command line: lua.c's `collectargs` rules and kcsh's long options.
final class ArgumentTests: XCTestCase {
  func run(_ argv: [String], file: StaticString = #filePath, line: UInt = #line) -> ShellArguments? {
    if case .run(let args) = ShellArguments.parse(["kcsh"] + argv) { return args }
    XCTFail("\(argv) does not run", file: file, line: line)
    return nil
  }

  func usage(_ argv: [String]) -> String? {
    if case .usage(let message) = ShellArguments.parse(["kcsh"] + argv) { return message }
    return nil
  }

  func luaUsage(_ argv: [String]) -> Int? {
    if case .luaUsage(let index) = ShellArguments.parse(["kcsh"] + argv) { return index }
    return nil
  }

  typealias V = ShellArguments.Value

  func testNoArguments() throws {
    let a = try XCTUnwrap(run([]))
    XCTAssertEqual(a.script, 1)  // argv.count: no script
    XCTAssertEqual(a.actions, [])
    XCTAssertFalse(a.interactive || a.showVersion || a.hasExecute || a.ignoreEnvironment)
  }

  func testLuaOptionsInOrderAndTheScriptWithItsArguments() throws {
    let a = try XCTUnwrap(run(["-e", "x=1", "-lmod", "-W", "-E", "script.lua", "-e", "--help"]))
    XCTAssertEqual(a.actions, [.execute(V(index: 2, offset: 0)), .library(V(index: 3, offset: 2)), .warnings])
    XCTAssertTrue(a.hasExecute && a.ignoreEnvironment)
    XCTAssertEqual(a.script, 6)  // what follows is the script's: -e, --help
    XCTAssertEqual(a.long, [:])
  }

  func testInteractiveImpliesVersion() throws {
    let a = try XCTUnwrap(run(["-i"]))
    XCTAssertTrue(a.interactive && a.showVersion)
    let v = try XCTUnwrap(run(["-v"]))
    XCTAssertTrue(v.showVersion && !v.interactive)
  }

  func testDashAndDoubleDash() throws {
    XCTAssertEqual(run(["-", "a"])?.script, 1)  // stdin
    XCTAssertEqual(run(["--", "-e"])?.script, 2)  // "-e" is the script's name
    XCTAssertEqual(run(["-e", "x", "--"])?.script, 4)  // nothing after --: no script
  }

  func testBadLuaOptions() {
    XCTAssertEqual(luaUsage(["-x"]), 1)
    XCTAssertEqual(luaUsage(["-ix"]), 1)  // flags take nothing joined
    XCTAssertEqual(luaUsage(["-v", "-Ex"]), 2)
    XCTAssertEqual(luaUsage(["-e"]), 1)  // needs a value
    XCTAssertEqual(luaUsage(["-l", "-x"]), 1)  // which must not look like an option
    XCTAssertEqual(luaUsage(["---"]), 1)
    XCTAssertEqual(
      CLIUsage.lua(progname: "kcsh", badOption: "-e").split(separator: "\n").prefix(2),
      ["kcsh: '-e' needs argument", "usage: kcsh [options] [script [args]]"])
    XCTAssertTrue(CLIUsage.lua(progname: "kcsh", badOption: "-x").hasPrefix("kcsh: unrecognized option '-x'\n"))
  }

  func testLongOptions() throws {
    XCTAssertEqual(run(["--profile=dev", "s.lua"])?.long, ["profile": "dev"])
    XCTAssertEqual(run(["--profile", "dev", "--trace", "s.lua"])?.long, ["profile": "dev", "trace": ""])
    let a = try XCTUnwrap(run(["--sandbox", "-e", "x"]))
    XCTAssertEqual(a.long, ["sandbox": ""])
    XCTAssertEqual(a.actions, [.execute(V(index: 3, offset: 0))])
    // After the script they are the script's.
    XCTAssertEqual(run(["s.lua", "--bogus"])?.long, [:])
  }

  func testHelpAndVersion() {
    guard case .help = ShellArguments.parse(["kcsh", "-e", "x", "--help", "--bogus"]) else {
      return XCTFail("--help")
    }
    guard case .version = ShellArguments.parse(["kcsh", "--version"]) else { return XCTFail("--version") }
    let help = CLIUsage.help(progname: "kcsh")
    XCTAssertTrue(help.hasPrefix("usage: kcsh [options] [script [args]]\n"))
    XCTAssertTrue(help.contains("  --profile name "))
    XCTAssertFalse(help.contains("Reserved"))
    XCTAssertTrue(help.contains("  --dry-run "))
    XCTAssertTrue(help.contains("  --json "))
  }

  func testRunTakesTheRestOfTheCommandLine() {
    // --run NAME: NAME is the script (arg[0]) and what follows its arguments,
    // even when they look like kcsh's options.
    let a = run(["--json", "--run", "invite", "--org", "acme", "--help"])
    XCTAssertEqual(a?.long, ["json": "", "run": ""])
    XCTAssertEqual(a?.script, 3)
    let alone = run(["--run"])
    XCTAssertEqual(alone?.long, ["run": ""])
    XCTAssertEqual(alone?.script, 2)  // argv.count: no name, the list
  }

  func testJournalNeedsAScript() {
    // A journal belongs to a script: a file, -e code or --run NAME.
    let argc = { (a: [String]) in a.count + 1 }
    let file = ["--journal", "j.db", "m.lua", "x"]
    XCTAssertEqual(run(file)?.long["journal"], "j.db")
    XCTAssertEqual(run(file)?.runsScript(argc(file)), true)
    let code = ["--journal", "j.db", "-e", "print(1)"]
    XCTAssertEqual(run(code)?.runsScript(argc(code)), true)
    let shipped = ["--journal", "j.db", "--run", "invite"]
    XCTAssertEqual(run(shipped)?.runsScript(argc(shipped)), true)
    let none = ["--journal", "j.db"]
    XCTAssertEqual(run(none)?.runsScript(argc(none)), false)
    XCTAssertEqual(run(none)?.journalProblem(argc(none)), "'--journal' (or KCSH_JOURNAL) needs a script: a file, -e or --run NAME")
    XCTAssertNil(run(file)?.journalProblem(argc(file)))
    let dry = ["--journal", "j.db", "--dry-run", "m.lua"]
    XCTAssertEqual(run(dry)?.journalProblem(argc(dry)), "'--journal' (or KCSH_JOURNAL) and '--dry-run' cannot be used together")
    let sandbox = ["--journal", "j.db", "--sandbox", "m.lua"]
    XCTAssertEqual(
      run(sandbox)?.journalProblem(argc(sandbox))?.hasPrefix("'--journal' (or KCSH_JOURNAL) and '--sandbox' cannot"), true)
  }

  func testBadLongOptions() {
    XCTAssertEqual(usage(["--bogus"]), "unrecognized option '--bogus'")
    XCTAssertEqual(usage(["--TRACE"]), "unrecognized option '--TRACE'")
    XCTAssertEqual(usage(["--plan-out"]), "'--plan-out' needs argument")
    XCTAssertEqual(usage(["--journal"]), "'--journal' needs argument")
    XCTAssertEqual(usage(["--show-journal", "--json"]), "'--show-journal' needs argument")
    XCTAssertEqual(usage(["--profile"]), "'--profile' needs argument")
    XCTAssertEqual(usage(["--profile", "-e"]), "'--profile' needs argument")
    XCTAssertEqual(usage(["--trace=yes"]), "option '--trace' takes no argument")
    XCTAssertEqual(usage(["--sandbox", "--profile", "p"]), "'--sandbox' and '--profile' cannot be used together")
    XCTAssertEqual(usage(["--plan-out", "p.json", "x.lua"]), "'--plan-out' needs '--dry-run'")
    XCTAssertNil(usage(["--dry-run", "--plan-out", "p.json", "x.lua"]))
  }
}
