@testable import LuaKit
import LuaShim
import XCTest

/// The Ctrl-C hook (lua.c's lstop): armed, it raises "interrupted!" at the
/// next instruction, from C, wherever Lua code runs on the main thread.
final class InterruptTests: XCTestCase {
  func testArmedHookInterruptsALoop() throws {
    let vm = try LuaVM()
    // Stands for the signal handler: arms the hook while Lua runs.
    vm.register("ctrlc") { L in
      kcsh_interrupt(L.vm?.L)
      return .results(0)
    }
    let e = luaError { try vm.run("ctrlc(); while true do end", name: "=loop") }
    XCTAssertEqual(e?.message, "loop:1: interrupted!")
    XCTAssertTrue(e?.traceback?.contains("stack traceback:") ?? false)
    // The hook removed itself: Lua runs on.
    XCTAssertEqual(try vm.first("local n = 0; for i = 1, 1000 do n = n + i end; return n"), 500500)
    // pcall catches it, as in lua.c.
    XCTAssertEqual(
      try vm.run("local ok, e = pcall(function() ctrlc(); while true do end end); return ok, e", name: "=p"),
      [false, "p:1: interrupted!"])
  }

  func testInterruptWhileInsideSwiftCallIsRaisedAfterIt() throws {
    let vm = try LuaVM()
    var after = false
    vm.register("work") { L in
      kcsh_interrupt(L.vm?.L)  // Ctrl-C arrives while Swift works
      after = true
      L.push("done")
      return .results(1)
    }
    let e = luaError { try vm.run("local r = work(); while true do end", name: "=w") }
    XCTAssertTrue(after)  // the Swift function finished: nothing longjmps over it
    XCTAssertEqual(e?.message.hasSuffix("interrupted!"), true)
  }

  func testClearedHookDoesNothing() throws {
    let vm = try LuaVM()
    kcsh_interrupt(vm.L)
    kcsh_clear_interrupt(vm.L)
    XCTAssertEqual(try vm.first("local n = 0; for i = 1, 100 do n = n + 1 end; return n"), 100)
  }
}
