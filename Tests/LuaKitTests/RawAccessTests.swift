import CLua
import Glibc
import LuaKit
import XCTest

/// The raw and protected operations LuaKit offers so that the shell (and any
/// other client) needs no call of its own into Lua's C API: metatables,
/// traversal, identities, C functions, the registry and lua.c-style calls.
final class RawAccessTests: XCTestCase {
  func testPushMetatableIgnoresMetatableField() throws {
    let vm = try LuaVM()
    let s = vm.state
    try vm.run("plain = {}; mt = {__metatable = 'locked'}; guarded = setmetatable({}, mt)")
    s.getGlobal("plain")
    XCTAssertFalse(s.pushMetatable(at: -1))
    XCTAssertEqual(s.top, 1)
    s.getGlobal("guarded")
    XCTAssertTrue(s.pushMetatable(at: -1))
    XCTAssertEqual(s.rawGet(-1, field: "__metatable"), .string)  // the real table, not 'locked'
    s.top = 0
    s.push("text")  // strings share the string library's metatable
    XCTAssertTrue(s.pushMetatable(at: -1))
    XCTAssertEqual(s.rawGet(-1, field: "__index"), .table)
    s.top = 0
  }

  func testSetMetatableSetsAndClears() throws {
    let vm = try LuaVM()
    let s = vm.state
    s.newTable()
    s.newTable()
    s.push(["anything": "fallback"] as LuaValue)
    s.rawSet(-2, field: "__index")
    s.setMetatable(-2)
    XCTAssertEqual(s.top, 1)
    XCTAssertEqual(try s.getField(-1, "anything"), .string)
    XCTAssertEqual(s.string(at: -1), "fallback")
    s.pop()
    s.setGlobal("t")
    XCTAssertEqual(try vm.first("return t.anything"), "fallback")
    s.getGlobal("t")
    s.pushNil()
    s.setMetatable(-2)
    s.pop()
    XCTAssertEqual(try vm.first("return getmetatable(t)"), .nil)
  }

  func testRawGetWithKeyOnTopRunsNoMetamethod() throws {
    let vm = try LuaVM()
    let s = vm.state
    try vm.run("t = setmetatable({present = 1}, {__index = function() error('index ran') end})")
    s.getGlobal("t")
    s.push("present")
    XCTAssertEqual(s.rawGet(1), .number)
    XCTAssertEqual(s.integer(at: -1), 1)
    s.push("absent")
    XCTAssertEqual(s.rawGet(1), .nil)
    XCTAssertEqual(s.top, 3)
    s.top = 1
    // The same read with metamethods raises, and is thrown.
    let e = luaError { try s.getField(1, "absent") }
    XCTAssertTrue(e?.message.contains("index ran") ?? false, "\(String(describing: e))")
    XCTAssertEqual(s.top, 1)
  }

  func testNextVisitsEveryPairOnce() throws {
    let vm = try LuaVM()
    let s = vm.state
    try vm.run("t = {10, 20, a = 'x', [true] = 'y'}")
    s.getGlobal("t")
    var seen: [String: String] = [:]
    s.pushNil()
    while try s.next(1) {
      let key = s.convertedBytes(at: -2).map { String(decoding: $0, as: UTF8.self) } ?? s.typeName(at: -2)
      seen[key] = s.convertedBytes(at: -1).map { String(decoding: $0, as: UTF8.self) }
      s.pop()  // the value; the key stays for the next step
    }
    XCTAssertEqual(seen, ["1": "10", "2": "20", "a": "x", "boolean": "y"])
    XCTAssertEqual(s.top, 1)
    s.newTable()
    s.pushNil()
    XCTAssertFalse(try s.next(-2))
    XCTAssertEqual(s.top, 2)
  }

  func testNextWithAKeyNotInTheTableThrows() throws {
    let vm = try LuaVM()
    let s = vm.state
    try vm.run("t = {a = 1}")
    s.getGlobal("t")
    s.push("not a key of t")  // lua_next would raise "invalid key to 'next'" here
    let e = luaError { _ = try s.next(1) }
    XCTAssertTrue(e?.message.contains("invalid key to 'next'") ?? false, "\(String(describing: e))")
    XCTAssertEqual(s.top, 1)  // the key is gone, the table stays
    // The state is usable afterwards.
    s.pushNil()
    XCTAssertTrue(try s.next(1))
    XCTAssertEqual(s.string(at: -2), "a")
    s.top = 0
  }

  func testPointerIsTheIdentity() throws {
    let vm = try LuaVM()
    let s = vm.state
    try vm.run("a = {}; b = a; c = {}")
    s.getGlobal("a")
    s.getGlobal("b")
    s.getGlobal("c")
    XCTAssertNotNil(s.pointer(at: 1))
    XCTAssertEqual(s.pointer(at: 1), s.pointer(at: 2))
    XCTAssertNotEqual(s.pointer(at: 1), s.pointer(at: 3))
    s.push(42)
    XCTAssertNil(s.pointer(at: -1))
    s.top = 0
  }

  func testConvertedBytesFormatsNumbersAsLuaDoes() throws {
    let vm = try LuaVM()
    let s = vm.state
    s.push(42)
    s.push(0.1)
    s.push(1e100)
    s.push(-0.0)
    s.push(bytes: [0x61, 0xff, 0x00, 0x62])
    s.newTable()
    XCTAssertEqual(s.convertedBytes(at: 1), Array("42".utf8))
    XCTAssertEqual(s.convertedBytes(at: 2), Array("0.1".utf8))
    XCTAssertEqual(s.convertedBytes(at: 3), Array("1e+100".utf8))
    XCTAssertEqual(s.convertedBytes(at: 4), Array("-0.0".utf8))
    XCTAssertEqual(s.convertedBytes(at: 5), [0x61, 0xff, 0x00, 0x62])
    XCTAssertNil(s.convertedBytes(at: 6))
    // The numbers stay numbers (lua_tolstring alone would convert them).
    XCTAssertEqual(s.type(at: 1), .number)
    XCTAssertEqual(s.top, 6)
    s.top = 0
  }

  func testLightUserdataAndCFunctions() throws {
    let vm = try LuaVM()
    let s = vm.state
    var target = 7
    withUnsafeMutablePointer(to: &target) { p in
      s.push(lightUserdata: UnsafeMutableRawPointer(p))
      XCTAssertEqual(s.type(at: -1), .lightUserdata)
      XCTAssertEqual(s.pointer(at: -1), UnsafeRawPointer(p))
    }
    s.pop()
    s.push(cFunction: luaopen_string)
    XCTAssertEqual(s.type(at: -1), .function)
    try s.call(nargs: 0, nresults: 1)
    XCTAssertEqual(try s.getField(-1, "format"), .function)
    s.top = 0
  }

  func testRegistryField() throws {
    let vm = try LuaVM()
    let s = vm.state
    s.push("set from Swift")
    s.setRegistryField("kcsh_test_flag")
    XCTAssertEqual(s.top, 0)
    XCTAssertEqual(try vm.first("return debug.getregistry().kcsh_test_flag"), "set from Swift")
    XCTAssertEqual(try vm.first("return kcsh_test_flag"), .nil)  // not a global
  }

  func testOpenLibrariesAndGenerationalGC() throws {
    let vm = try LuaVM(openLibraries: false)
    let s = vm.state
    XCTAssertEqual(s.getGlobal("string"), .nil)
    s.pop()
    try s.openLibraries()
    XCTAssertEqual(s.getGlobal("string"), .table)
    s.pop()
    vm.useGenerationalGC()
    // collectgarbage returns the mode it leaves.
    XCTAssertEqual(try vm.first("return collectgarbage('incremental')"), "generational")
  }

  func testStatusCallLeavesTheErrorValue() throws {
    let vm = try LuaVM()
    let s = vm.state
    try vm.run("E = setmetatable({}, {__tostring = function() return 'custom' end})")
    // Without traceback: the raised value itself, in place of the function.
    s.push(7)
    try s.load("error(E)", name: "=chunk")
    XCTAssertEqual(s.pcall(nargs: 0, traceback: false).rawValue, LUA_ERRRUN)
    XCTAssertEqual(s.top, 2)
    s.getGlobal("E")
    XCTAssertEqual(s.pointer(at: -1), s.pointer(at: -2))
    s.top = 1
    // With traceback: lua.c's message (__tostring, no traceback for it), or
    // the text and the traceback.
    try s.load("error(E)", name: "=chunk")
    XCTAssertFalse(s.pcall(nargs: 0, traceback: true).isOK)
    XCTAssertEqual(s.string(at: -1), "custom")
    s.pop()
    try s.load("local x = ... error('failed ' .. x)", name: "=chunk")
    s.push("here")
    XCTAssertFalse(s.pcall(nargs: 1, traceback: true).isOK)
    let text = s.string(at: -1) ?? ""
    XCTAssertTrue(text.hasPrefix("chunk:1: failed here\nstack traceback:"), text)
    XCTAssertEqual(s.top, 2)
    s.pop()
    // Success: the results, all of them by default.
    try s.load("return 1, 2, 3", name: "=chunk")
    XCTAssertEqual(s.pcall(nargs: 0, traceback: true), .ok)
    XCTAssertEqual(s.top, 4)
    XCTAssertEqual(s.integer(at: 1), 7)
    s.top = 0
    // A later throwing call does not see the error kept above.
    let e = luaError { try vm.run("error('second')") }
    XCTAssertTrue(e?.message.hasSuffix("second") ?? false)
  }

  func testLoadFileAndBuffer() throws {
    let vm = try LuaVM()
    let s = vm.state
    let path = "/tmp/kcsh-raw-access-\(getpid()).lua"
    defer { unlink(path) }
    let file = try XCTUnwrap(fopen(path, "w"))
    fputs("#!/usr/bin/env kcsh\nreturn 40 + ...\n", file)  // the #! line is skipped
    fclose(file)
    XCTAssertEqual(s.loadFile(path), .ok)
    s.push(2)
    XCTAssertEqual(s.pcall(nargs: 1, traceback: false), .ok)
    XCTAssertEqual(s.integer(at: -1), 42)
    s.top = 0

    let missing = s.loadFile(path + ".missing")
    XCTAssertEqual(missing.rawValue, LUA_ERRFILE)
    XCTAssertTrue(s.string(at: -1)?.hasPrefix("cannot open ") ?? false)
    s.top = 0

    var code = Array("return 'buffer'".utf8)
    XCTAssertEqual(code.withUnsafeBytes { s.loadBuffer($0, name: "=b") }, .ok)
    XCTAssertEqual(s.pcall(nargs: 0, nresults: 1, traceback: false), .ok)
    XCTAssertEqual(s.string(at: -1), "buffer")
    s.top = 0
    code = Array("return +".utf8)
    XCTAssertEqual(code.withUnsafeBytes { s.loadBuffer($0, name: "=b") }.rawValue, LUA_ERRSYNTAX)
    XCTAssertEqual(s.string(at: -1), "b:1: unexpected symbol near '+'")
    s.top = 0
  }
}
