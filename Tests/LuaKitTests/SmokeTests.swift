import LuaKit
import XCTest

final class SmokeTests: XCTestCase {
  func testRun() throws {
    let vm = try LuaVM()
    XCTAssertEqual(try vm.run("return 1 + 1, 'a', 2.5"), [2, "a", 2.5])
  }

  func testSwiftFunctionErrorsAndYield() throws {
    let vm = try LuaVM()
    vm.register("add") { L in
      L.push(try L.checkInteger(1) + L.checkInteger(2))
      return .results(1)
    }
    vm.register("fail") { _ in throw LuaError("boom") }
    vm.register("wait") { L in
      L.push("waiting")
      return .yieldThen(1) { L, base in
        L.push("got " + (L.string(at: base + 1) ?? "?"))
        return .results(1)
      }
    }
    XCTAssertEqual(try vm.run("return add(2, 3)"), [5])
    XCTAssertEqual(try vm.run("return pcall(fail)"), [false, "boom"])
    XCTAssertEqual(
      try vm.run("local ok, e = pcall(add, 1, 'x'); return e"),
      ["bad argument #2 to 'add' (number expected, got string)"])
    XCTAssertEqual(
      try vm.run(
        """
        local co = coroutine.wrap(function() return wait() end)
        local a = co(); local b = co('x'); return a, b
        """), ["waiting", "got x"])
    XCTAssertThrowsError(try vm.run("error('deep')")) { e in
      let e = e as! LuaError
      XCTAssertEqual(e.message, "(swift):1: deep")
      XCTAssertTrue(e.traceback!.contains("stack traceback"))
    }
  }
}
