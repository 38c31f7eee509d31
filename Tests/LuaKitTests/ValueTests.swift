import CLua
import LuaKit
import XCTest

/// Values both ways: nil, booleans, integers and floats kept apart,
/// binary-safe strings, tables, functions.
final class ValueTests: XCTestCase {
  func testScalarsFromLua() throws {
    let vm = try LuaVM()
    XCTAssertEqual(
      try vm.run("return nil, true, false, 1, 1.0, math.maxinteger, -0.5, 2^53"),
      [.nil, true, false, .integer(1), .number(1.0), .integer(Int64.max), -0.5, .number(9007199254740992)])
  }

  func testIntegersAndFloatsStayDistinctIntoLua() throws {
    let vm = try LuaVM()
    vm.register("pair") { L in
      L.push(Int64(3))
      L.push(3.0)
      L.push(LuaValue.integer(-7))
      L.push(LuaValue.number(-7))
      return .results(4)
    }
    XCTAssertEqual(
      try vm.run("local a, b, c, d = pair(); return math.type(a), math.type(b), math.type(c), math.type(d), a == b"),
      ["integer", "float", "integer", "float", true])
  }

  func testEchoRoundTrip() throws {
    let vm = try LuaVM()
    // Every argument copied into Swift and pushed back.
    vm.register("echo") { L in
      let values = try L.values(from: 1)
      for v in values { L.push(v) }
      return .results(Int32(values.count))
    }
    XCTAssertEqual(
      try vm.run(
        """
        local t = {1, 2.5, "x", {y = {z = true}}, n = false}
        local a, b, c, d, e, f = echo(nil, true, 42, 42.0, "s\\0t", t)
        return a == nil, b, math.type(c), math.type(d), e == "s\\0t", #e,
          f ~= t, f[1], math.type(f[2]), f[3], f[4].y.z, f.n
        """),
      [true, true, "integer", "float", true, 3, true, 1, "float", "x", true, false])
  }

  func testBinarySafeStrings() throws {
    let vm = try LuaVM()
    let bytes: [UInt8] = [0x61, 0x00, 0x62, 0xFF, 0xC3, 0x28, 0x00]
    vm.register("blob") { L in
      L.push(bytes: bytes)
      return .results(1)
    }
    XCTAssertEqual(try vm.run("local s = blob(); return #s, s:byte(2), s:byte(4), s:byte(7)"), [7, 0, 255, 0])
    XCTAssertEqual(try vm.first("return blob()"), .string(LuaString(bytes: bytes)))
    let fromLua = try vm.first("return 'a\\0\\255\\xC3\\x28z'")
    XCTAssertEqual(fromLua, .string(LuaString(bytes: [0x61, 0, 0xFF, 0xC3, 0x28, 0x7A])))
    // withBytes reads without copying and without decoding.
    let state = vm.state
    try state.load("return 'x\\0y'", name: "=t")
    try state.call(nargs: 0, nresults: 1)
    XCTAssertEqual(state.withBytes(at: -1) { Array($0) }, [0x78, 0, 0x79])
    XCTAssertEqual(state.string(at: -1), "x\0y")
    state.pop()
  }

  func testTablesFromLua() throws {
    let vm = try LuaVM()
    let v = try vm.first("return {10, 20, 30, [5] = 50, name = 'n', [2.5] = 'f', nested = {a = {1, {2}}}}")
    guard case .table(let t) = v else { return XCTFail("not a table: \(v)") }
    XCTAssertEqual(t.array, [10, 20, 30])
    XCTAssertEqual(t[5], 50)
    XCTAssertEqual(t["name"], "n")
    XCTAssertEqual(t[.number(2.5)], "f")
    XCTAssertEqual(t["nested"], ["a": [1, [2]]])
    XCTAssertEqual(vm.state.top, 0)
  }

  func testTableWithHolesLeavesStackBalanced() throws {
    let vm = try LuaVM()
    let state = vm.state
    try state.load("return {1, nil, 3, nil, 5}", name: "=t")
    try state.call(nargs: 0, nresults: 1)
    let v = try state.value(at: -1)
    XCTAssertEqual(state.top, 1)
    guard case .table(let t) = v else { return XCTFail() }
    XCTAssertEqual(t[1], 1)
    XCTAssertEqual(t[3], 3)
    XCTAssertEqual(t[5], 5)
    XCTAssertEqual(t[2], .nil)
  }

  func testTablesIntoLua() throws {
    let vm = try LuaVM()
    let value: LuaValue = ["list": [1, 2, 3], "map": ["k": "v", "n": 1.5], "flag": true]
    vm.register("get") { L in
      L.push(value)
      return .results(1)
    }
    XCTAssertEqual(
      try vm.run("local t = get(); return #t.list, t.list[3], t.map.k, math.type(t.map.n), t.flag"),
      [3, 3, "v", "float", true])
  }

  func testSelfContainingTableIsAnError() throws {
    let vm = try LuaVM()
    let e = luaError { _ = try vm.run("local t = {}; t.t = t; return t") }
    XCTAssertEqual(e?.message, "cannot copy a table that contains itself")
    XCTAssertEqual(vm.state.top, 0)
    // Shared (not cyclic) subtables are fine.
    XCTAssertEqual(try vm.first("local s = {1}; return {s, s}"), [[1], [1]])
  }

  func testCallLuaFunctionFromSwift() throws {
    let vm = try LuaVM()
    let f = try vm.first("return function(a, b) return a + b, a .. b, select('#', a, b) end")
    guard case .reference(let ref) = f else { return XCTFail() }
    XCTAssertEqual(ref.type, .function)
    XCTAssertEqual(try vm.state.call(f, [1, 2]), [3, "12", 2])
    XCTAssertEqual(try vm.state.call(.reference(ref), [1.5, 2]), [3.5, "1.52", 2])
    XCTAssertEqual(vm.state.top, 0)
    // A callable table works too.
    try vm.run("callable = setmetatable({}, {__call = function(self, x) return x * 2 end})")
    vm.state.getGlobal("callable")
    let callable = try XCTUnwrap(vm.state.ref(at: -1))
    vm.state.pop()
    XCTAssertEqual(try vm.state.call(.reference(callable), [21]), [42])
    // Errors come back as LuaError with a traceback.
    let e = luaError { _ = try vm.state.call(f, [1, true]) }
    XCTAssertTrue(e?.message.contains("attempt to perform arithmetic on a boolean value") ?? false)
    XCTAssertTrue(e?.traceback?.contains("stack traceback:") ?? false)
    XCTAssertEqual(vm.state.top, 0)
  }

  func testRefKeepsTableIdentity() throws {
    let vm = try LuaVM()
    let state = vm.state
    try vm.run("t = {}")
    state.getGlobal("t")
    let ref = try XCTUnwrap(state.ref(at: -1))
    state.pop()
    XCTAssertEqual(ref.type, .table)
    vm.register("same") { L in
      L.push(ref)
      return .results(1)
    }
    XCTAssertEqual(try vm.first("return same() == t"), true)
    XCTAssertNil(state.ref(at: 1))  // nothing there
  }

  func testFieldsWithMetamethods() throws {
    let vm = try LuaVM()
    let state = vm.state
    try vm.run(
      """
      log = {}
      obj = setmetatable({}, {
        __index = function(_, k) return "got " .. k end,
        __newindex = function(t, k, v) log[#log + 1] = k .. "=" .. tostring(v) end,
      })
      bad = setmetatable({}, {__index = function() error("no way") end})
      """)
    state.getGlobal("obj")
    XCTAssertEqual(try state.getField(-1, "name"), .string)
    XCTAssertEqual(state.string(at: -1), "got name")
    state.pop()
    state.push(Int64(5))
    try state.setField(-2, "x")
    state.pop()
    XCTAssertEqual(state.top, 0)
    XCTAssertEqual(try vm.first("return log[1]"), "x=5")

    state.getGlobal("bad")
    let e = luaError { try state.getField(-1, "k") }
    XCTAssertTrue(e?.message.hasSuffix("no way") ?? false)
    XCTAssertEqual(state.top, 1)
    state.push(Int64(1))
    let e2 = luaError { try state.getField(-1, "k") }  // indexing a number
    XCTAssertTrue(e2?.message.contains("attempt to index a number value") ?? false)
    XCTAssertEqual(state.top, 2)
    state.top = 0
  }

  func testRawAccessAndGlobals() throws {
    let vm = try LuaVM()
    let state = vm.state
    state.newTable()
    state.push("v")
    state.rawSet(-2, field: "k")
    state.push(Int64(9))
    state.rawSet(-2, 1)
    XCTAssertEqual(state.rawGet(-1, field: "k"), .string)
    XCTAssertEqual(state.rawGet(-2, 1), .number)
    XCTAssertEqual(state.integer(at: -1), 9)
    state.pop(2)
    XCTAssertEqual(state.rawLength(at: -1), 1)
    state.setGlobal("g")
    XCTAssertEqual(try vm.run("return g.k, g[1]"), ["v", 9])
    XCTAssertEqual(state.top, 0)
  }

  func testToStringHonoursMetamethods() throws {
    let vm = try LuaVM()
    let state = vm.state
    try state.load("return setmetatable({}, {__tostring = function() return 'pretty' end}), 12, 1.5", name: "=t")
    try state.call(nargs: 0)
    XCTAssertEqual(try state.toString(at: 1), "pretty")
    XCTAssertEqual(try state.toString(at: 2), "12")
    XCTAssertEqual(try state.toString(at: 3), "1.5")
    XCTAssertEqual(state.top, 3)
    XCTAssertEqual(state.number(at: 2), 12)  // not converted in place
    state.top = 0
  }
}
