import LuaKit
import XCTest

private struct Plain: Error, CustomStringConvertible {
  var description: String { "plain Swift error" }
}

/// An error that Lua sees as a table with fields.
private struct Structured: LuaErrorConvertible {
  let status: Int
  func pushLuaError(onto state: LuaState) {
    state.push(["status": .integer(Int64(status)), "message": "not found"] as LuaValue)
  }
}

/// Errors both ways: thrown in Swift and raised by the trampoline; raised in
/// Lua and thrown to Swift with message, traceback and value.
final class ErrorTests: XCTestCase {
  func testSwiftErrorsCaughtByLuaPcall() throws {
    let vm = try LuaVM()
    vm.register("fail") { _ in throw LuaError("boom") }
    vm.register("plain") { _ in throw Plain() }
    vm.register("structured") { _ in throw Structured(status: 404) }
    vm.register("add") { L in
      L.push(try L.checkInteger(1) + L.checkInteger(2))
      return .results(1)
    }
    XCTAssertEqual(try vm.run("return pcall(fail)"), [false, "boom"])
    XCTAssertEqual(try vm.run("return pcall(plain)"), [false, "plain Swift error"])
    XCTAssertEqual(
      try vm.run("local ok, e = pcall(structured); return ok, type(e), e.status, e.message"),
      [false, "table", 404, "not found"])
    XCTAssertEqual(
      try vm.run("local ok, e = pcall(add, 1, 'x'); return e"),
      ["bad argument #2 to 'add' (number expected, got string)"])
    XCTAssertEqual(
      try vm.run("local ok, e = pcall(add, 1.5, 2); return e"),
      ["bad argument #1 to 'add' (number has no integer representation)"])
    XCTAssertEqual(
      try vm.run("local ok, e = pcall(add, 1); return e"),
      ["bad argument #2 to 'add' (number expected, got no value)"])
    // error position information, as luaL_argerror gives it for a direct call
    XCTAssertEqual(
      try vm.run("local ok, e = pcall(function() add(1, {}) end); return e"),
      ["(swift):1: bad argument #2 to 'add' (number expected, got table)"])
    // Lua goes on after all that.
    XCTAssertEqual(try vm.first("return add(2, 3)"), 5)
  }

  func testArgumentChecksMatchLauxlib() throws {
    let vm = try LuaVM()
    vm.register("str") { L in
      L.push(try L.checkString(1))
      L.push(L.type(at: 1) == .string)  // a number is converted in place
      return .results(2)
    }
    vm.register("tbl") { L in
      try L.checkTable(1)
      return .results(0)
    }
    XCTAssertEqual(try vm.run("return str(12)"), ["12", true])
    XCTAssertEqual(try vm.run("return str(1.5)"), ["1.5", true])
    XCTAssertEqual(
      try vm.first("return select(2, pcall(str, {}))"),
      "bad argument #1 to 'str' (string expected, got table)")  // found as a global
    // __name of the metatable names the type, as luaL_typeerror does.
    XCTAssertEqual(
      try vm.first("return select(2, pcall(tbl, io.stdout))"),
      "bad argument #1 to 'tbl' (table expected, got FILE*)")
    XCTAssertEqual(
      try vm.first("return select(2, pcall(tbl))"),
      "bad argument #1 to 'tbl' (table expected, got no value)")
    // The same text as Lua's own functions give.
    XCTAssertEqual(
      try vm.first("return select(2, pcall(string.rep, io.stdout))"),
      "bad argument #1 to 'string.rep' (string expected, got FILE*)")
  }

  func testErrorConvertiblePushesExactlyOneValue() throws {
    struct Nothing: LuaErrorConvertible, CustomStringConvertible {
      var description: String { "nothing pushed" }
      func pushLuaError(onto state: LuaState) {}
    }
    struct Two: LuaErrorConvertible {
      func pushLuaError(onto state: LuaState) {
        state.push("first")
        state.push("second")
      }
    }
    let vm = try LuaVM()
    vm.register("nothing") { _ in throw Nothing() }
    vm.register("two") { _ in throw Two() }
    XCTAssertEqual(try vm.run("return pcall(nothing)"), [false, "nothing pushed"])
    XCTAssertEqual(try vm.run("return pcall(two)"), [false, "first"])
  }

  func testArgumentErrorOnMethodCall() throws {
    let vm = try LuaVM()
    vm.state.newTable()
    vm.state.push(function: { L in
      _ = try L.checkInteger(2)
      return .results(0)
    })
    vm.state.rawSet(-2, field: "size")
    vm.state.setGlobal("obj")
    XCTAssertEqual(
      try vm.first("local ok, e = pcall(function() obj:size('x') end); return e"),
      "(swift):1: bad argument #1 to 'size' (number expected, got string)")
  }

  func testErrorOutOfLuaCarriesMessageAndTraceback() throws {
    let vm = try LuaVM()
    let e = luaError {
      try vm.run(
        """
        local function inner() error('deep') end
        local function outer() inner() end
        outer()
        """, name: "@script.lua")
    }
    XCTAssertEqual(e?.message, "script.lua:1: deep")
    XCTAssertEqual(e?.value, "script.lua:1: deep")
    let tb = e?.traceback ?? ""
    XCTAssertTrue(tb.hasPrefix("script.lua:1: deep\nstack traceback:"), tb)
    XCTAssertTrue(tb.contains("in local 'inner'") || tb.contains("in upvalue 'inner'"), tb)
    XCTAssertTrue(tb.contains("in local 'outer'"), tb)
    XCTAssertEqual(vm.state.top, 0)
  }

  func testTableErrorValueSurvivesToSwift() throws {
    let vm = try LuaVM()
    let e = luaError { try vm.run("error({status = 409, code = 'conflict', list = {1, 2}})") }
    guard case .table(let t) = e?.value else { return XCTFail("value: \(String(describing: e?.value))") }
    XCTAssertEqual(t["status"], 409)
    XCTAssertEqual(t["code"], "conflict")
    XCTAssertEqual(t["list"], [1, 2])
    XCTAssertTrue(e?.message.contains("error object is a table value") ?? false)

    // With __tostring, the message is its text (lua.c's msghandler).
    let e2 = luaError {
      try vm.run("error(setmetatable({code = 'x'}, {__tostring = function(s) return 'API error ' .. s.code end}))")
    }
    XCTAssertEqual(e2?.message, "API error x")
    guard case .table(let t2) = e2?.value else { return XCTFail() }
    XCTAssertEqual(t2["code"], "x")

    // Other non-string values.
    XCTAssertEqual(luaError { try vm.run("error(42)") }?.value, 42)
    XCTAssertEqual(luaError { try vm.run("error()") }?.value, .nil)
  }

  func testLuaErrorInLuaFunctionCalledFromSwiftCalledFromLua() throws {
    let vm = try LuaVM()
    var seen: [String] = []
    // Calls its argument from Swift; a Lua error there is thrown to Swift and
    // rethrown, so the calling Lua code sees the value that was raised.
    vm.register("callback") { L in
      let f = try L.value(at: 1)
      do {
        let results = try L.call(f, [7])
        for r in results { L.push(r) }
        return .results(Int32(results.count))
      } catch let error as LuaError {
        seen.append(error.message)
        throw error
      }
    }
    XCTAssertEqual(try vm.first("return callback(function(x) return x * 6 end)"), 42)
    XCTAssertEqual(
      try vm.run(
        """
        local ok, e = pcall(callback, function(x) error('inner ' .. x) end)
        return ok, e
        """, name: "=chunk"),
      [false, "chunk:1: inner 7"])
    XCTAssertEqual(seen, ["chunk:1: inner 7"])

    // A table error keeps its identity and metatable through Swift.
    XCTAssertEqual(
      try vm.run(
        """
        local err = setmetatable({code = 'x'}, {__tostring = function() return 'E' end})
        local ok, e = pcall(callback, function() error(err) end)
        return ok, e == err, tostring(e), e.code
        """),
      [false, true, "E", "x"])

    // Not caught in Lua: out to Swift, with the traceback of the outer call.
    let e = luaError { try vm.run("callback(function() error({code = 1}) end)") }
    guard case .table(let t) = e?.value else { return XCTFail() }
    XCTAssertEqual(t["code"], 1)
    XCTAssertEqual(vm.state.top, 0)
  }

  func testReturningMoreResultsThanPushedIsAnError() throws {
    let vm = try LuaVM()
    vm.register("liar") { L in
      L.push(Int64(1))
      return .results(5)
    }
    let r = try vm.run("return pcall(liar, 1)")
    XCTAssertEqual(r.first, false)
    XCTAssertTrue(r.last?.text?.contains("returned 5 results but pushed 2") ?? false, "\(r)")
    // One value is not checked: with nothing on the stack, the worst it can
    // return is the function itself (safe, ASan agrees), never memory below.
    vm.register("empty") { _ in .results(1) }
    XCTAssertEqual(try vm.first("return type(empty())"), "function")
    vm.register("two") { _ in .results(2) }
    XCTAssertEqual(try vm.first("return select(2, pcall(two))"), "Swift function returned 2 results but pushed 0")
    // A negative count (LUA_MULTRET, say) is not taken for a raise or a yield.
    for n: Int32 in [-1, -2, -3, -4] {
      vm.register("negative") { L in
        L.push("not an error")
        return .results(n)
      }
      XCTAssertEqual(
        try vm.first("return select(2, pcall(negative))"), .string(LuaString("Swift function returned an unknown status \(n)")))
    }
  }

  func testYieldingMoreThanPushedIsAnError() throws {
    let vm = try LuaVM()
    vm.register("y") { _ in .yield(3) }
    vm.register("yk") { L in
      L.push(true)
      return .yieldThen(2) { _, _ in .results(0) }
    }
    let r = try vm.run(
      """
      local a = {coroutine.resume(coroutine.create(y))}
      local b = {coroutine.resume(coroutine.create(yk))}
      return a[1], a[2], b[1], b[2]
      """)
    XCTAssertEqual(r[0], false)
    XCTAssertEqual(r[1], "Swift function yields 3 values but pushed 0")
    XCTAssertEqual(r[2], false)
    XCTAssertEqual(r[3], "Swift function yields 2 values but pushed 1")
  }

  func testLoadErrors() throws {
    let vm = try LuaVM()
    let e = luaError { try vm.run("return +", name: "=bad") }
    XCTAssertTrue(e?.message.hasPrefix("bad:1: unexpected symbol near") ?? false, "\(String(describing: e))")
    XCTAssertNil(e?.traceback)
    XCTAssertEqual(vm.state.top, 0)
  }

  func testForeignGcCallsAreHarmless() throws {
    // A script can reach a Swift object's __gc and hand it anything; and the
    // debug library can reach a Swift function's upvalue.
    let vm = try LuaVM()
    let counter = DeinitCounter()
    vm.state.push(object: Tracked(counter), metatable: "Thing")
    vm.state.setGlobal("thing")
    vm.register("f") { _ in .results(0) }
    let r = try vm.run(
      """
      local gc = getmetatable(thing).__gc
      gc(io.stdout); gc({}); gc(42)
      local ud = select(2, debug.getupvalue(f, 1))
      getmetatable(ud).__gc(io.stdout)
      getmetatable(ud).__gc(ud)          -- releases f's closure for real
      local ok, e = pcall(f)
      debug.setupvalue(f, 1, io.stdout)  -- a foreign userdata in its place
      local ok2, e2 = pcall(f)
      gc(thing); gc(thing)               -- released once
      io.stdout:write('')
      return ok, e, ok2, e2
      """)
    XCTAssertEqual(r, [false, "Swift function was released", false, "Swift function was released"])
    XCTAssertEqual(counter.count, 1)
    XCTAssertNil(vm.state.object(at: 1, metatable: "Thing", as: Tracked.self))
  }
}
