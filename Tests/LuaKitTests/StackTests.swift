import LuaKit
import XCTest

/// Deep nesting of Swift and Lua calls, and stacks that must grow.
final class StackTests: XCTestCase {
  func testSwiftLuaSwiftNesting() throws {
    let vm = try LuaVM()
    // down(n) is Swift; it calls the Lua function `up` which calls down(n-1).
    vm.register("down") { L in
      let n = try L.checkInteger(1)
      if n == 0 {
        L.push("bottom")
        return .results(1)
      }
      L.getGlobal("up")
      let r = try L.call(try L.value(at: -1), [.integer(n - 1)])
      L.pop()
      L.push(r.first ?? .nil)
      return .results(1)
    }
    try vm.run("function up(n) return down(n) end")
    XCTAssertEqual(try vm.first("return down(60)"), "bottom")
    // Far deeper than the C stack limit: a Lua error, not a crash.
    let r = try vm.run("return pcall(down, 100000)")
    XCTAssertEqual(r.first, false)
    XCTAssertTrue(r.last?.text?.contains("stack overflow") ?? false, "\(r)")
    XCTAssertEqual(try vm.first("return down(10)"), "bottom")
    XCTAssertEqual(vm.state.top, 0)
  }

  func testLuaRecursionThroughSwift() throws {
    // Lua -> Swift -> Lua recursion, where Lua also recurses on its own.
    let vm = try LuaVM()
    vm.register("apply") { L in
      let f = try L.value(at: 1)
      let args = try L.values(from: 2)
      let r = try L.call(f, args)
      for v in r { L.push(v) }
      return .results(Int32(r.count))
    }
    XCTAssertEqual(
      try vm.first(
        """
        local function fact(n) if n <= 1 then return 1 end return n * apply(fact, n - 1) end
        return fact(20)
        """), 2_432_902_008_176_640_000)
    let e = luaError { try vm.run("local function f() return 1 + f() end; f()") }
    XCTAssertTrue(e?.message.contains("stack overflow") ?? false)
  }

  func testPushingManyValues() throws {
    let vm = try LuaVM()
    // Far more than the 20 free slots a C function starts with.
    vm.register("many") { L in
      let n = try L.checkInteger(1)
      for i in 1...n { L.push(i) }
      return .results(Int32(n))
    }
    XCTAssertEqual(try vm.run("return select('#', many(100000))"), [100000])
    XCTAssertEqual(try vm.run("local t = {many(50000)}; return #t, t[50000]"), [50000, 50000])
    let values = try vm.run("return many(30000)")
    XCTAssertEqual(values.count, 30000)
    XCTAssertEqual(values.last, 30000)
    XCTAssertEqual(vm.state.top, 0)
  }

  func testEnsureStackAndItsLimit() throws {
    let vm = try LuaVM()
    XCTAssertTrue(vm.state.ensureStack(10000))
    XCTAssertFalse(vm.state.ensureStack(2_000_000))  // over LUAI_MAXSTACK
    // Still usable.
    XCTAssertEqual(try vm.first("return 1"), 1)
  }

  func testDeeplyNestedTablesBothWays() throws {
    let vm = try LuaVM()
    let depth = LuaState.maxTableDepth - 1  // tables inside the outermost one
    let v = try vm.first(
      "local t = {} ; local r = t; for i = 1, \(depth) do t.x = {i = i}; t = t.x end; return r")
    var level = 0
    var cur = v
    while case .table(let t) = cur, t["x"] != .nil {
      cur = t["x"]
      level += 1
    }
    XCTAssertEqual(level, depth)
    vm.register("back") { L in
      L.push(v)
      return .results(1)
    }
    XCTAssertEqual(
      try vm.first("local t, n = back(), 0; while t.x do t = t.x; n = n + 1 end; return n"),
      .integer(Int64(depth)))
    // One level more is refused (the copy recurses on the thread's stack).
    let e = luaError {
      _ = try vm.run("local t = {} ; local r = t; for i = 1, 100000 do t.x = {}; t = t.x end; return r")
    }
    XCTAssertEqual(e?.message, "cannot copy a table nested more than 1000 levels deep")
    XCTAssertEqual(vm.state.top, 0)
  }
}
