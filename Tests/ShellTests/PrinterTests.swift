import LuaKit
import XCTest

@testable import Shell

/// What the REPL shows for results: `Printer.renderBytes` on values that a
/// chunk returns.
final class PrinterTests: XCTestCase {
  var vm: LuaVM!

  override func setUpWithError() throws { vm = try LuaVM() }

  /// The printer's text for the values `code` returns.
  func show(_ code: String, _ printer: Printer = Printer()) throws -> String {
    let s = vm.state
    let base = s.top
    defer { s.top = base }
    try s.load(code, name: "=test")
    try s.call(nargs: 0)
    let bytes = try printer.renderBytes(s, from: base + 1, to: s.top)
    XCTAssertEqual(s.top > base, true)  // the values are still there
    return String(decoding: bytes, as: UTF8.self)
  }

  func testNumbersAsLuaWritesThem() throws {
    XCTAssertEqual(try show("return 1, 2.5, 1e100, -0.0, 1/0, 2^63"), "1\t2.5\t1e+100\t-0.0\tinf\t9.2233720368548e+18")
    XCTAssertEqual(try show("return math.mininteger"), "-9223372036854775808")
  }

  func testStringsAreRawAtTopAndQuotedInTables() throws {
    XCTAssertEqual(try show(#"return "a\nb""#), "a\nb")
    XCTAssertEqual(try show(#"return "x", true, nil"#), "x\ttrue\tnil")
    XCTAssertEqual(
      try show(#"return {"a\nb", 'q"\\', "\0\1", "é", "\xff", "\t9"}"#),
      #"{ "a\nb", "q\"\\", "\000\001", "é", "\255", "\t9" }"#)
  }

  func testTablesSortKeysAndQuoteOnlyWhatNeedsIt() throws {
    XCTAssertEqual(try show("return {}"), "{}")
    XCTAssertEqual(
      try show(#"return {1, 2, x = 1, ["a b"] = 2, [true] = 3, [10] = 4, ["end"] = 5}"#),
      #"{ 1, 2, [10] = 4, [true] = 3, ["a b"] = 2, ["end"] = 5, x = 1 }"#)
    // A hole ends the list part: 3 is a key.
    XCTAssertEqual(try show("return {1, nil, 3}"), "{ 1, [3] = 3 }")
  }

  func testCyclesAndSharedTablesAreLabelled() throws {
    XCTAssertEqual(try show("local t = {}; t.self = t; return t"), "<1>{ self = <table 1> }")
    XCTAssertEqual(
      try show("local s = {1}; return {a = s, b = s, c = {2}}"),
      "{ a = <1>{ 1 }, b = <table 1>, c = { 2 } }")
    // A table as a key is shown by reference, with the label it got.
    XCTAssertEqual(try show("local k = {1}; return {k, [k] = 'v'}"), "{ <1>{ 1 }, [<table 1>] = \"v\" }")
    XCTAssertEqual(
      try show("local k = {1}; local t = {[k] = 1}; t.self = t; return {t, k}"),
      "{ <1>{ self = <table 1>, [{...}] = 1 }, { 1 } }")  // other keys after strings
  }

  func testFunctionsAndUserdataAreNumberedHandles() throws {
    XCTAssertEqual(try show("return {print, print, type}"), "{ <function 1>, <function 1>, <function 2> }")
    let s = vm.state
    s.push(object: Marker(), metatable: "PrinterTests.Marker")  // __name, no __tostring
    s.setGlobal("marker")
    XCTAssertEqual(try show("return {marker, coroutine.create(print)}"), "{ <userdata 1>, <thread 1> }")
    // At top level a userdata is shown as tostring gives it.
    XCTAssertTrue(try show("return marker").hasPrefix("PrinterTests.Marker: 0x"))
    // __tostring wins inside tables too (FILE* has one).
    XCTAssertTrue(try show("return {io.stdout}").hasPrefix("{ file (0x"))
  }

  func testToStringMetamethodIsUsedAndItsErrorsThrown() throws {
    XCTAssertEqual(
      try show("return {setmetatable({}, {__tostring = function() return 'custom' end})}"), "{ custom }")
    XCTAssertThrowsError(
      try show("return setmetatable({}, {__tostring = function() error('no text', 0) end})")
    ) { error in
      XCTAssertEqual((error as? LuaError)?.value?.text, "no text")
    }
    // __index and __pairs are not run: tables are read raw.
    XCTAssertEqual(
      try show("return setmetatable({a = 1}, {__index = function() error('ran') end, __pairs = error})"),
      "{ a = 1 }")
  }

  func testDepthAndWidth() throws {
    XCTAssertEqual(try show("return {{{{1}}}}", Printer(maxDepth: 2)), "{ { {...} } }")
    let out = try show("local t = {} for i = 1, 30 do t[i] = i * 1000 end return t", Printer(width: 40))
    XCTAssertEqual(
      out,
      """
      {
        1000, 2000, 3000, 4000, 5000, 6000,
        7000, 8000, 9000, 10000, 11000, 12000,
        13000, 14000, 15000, 16000, 17000,
        18000, 19000, 20000, 21000, 22000,
        23000, 24000, 25000, 26000, 27000,
        28000, 29000, 30000
      }
      """)
    XCTAssertTrue(out.split(separator: "\n").allSatisfy { $0.count <= 40 })
    // Several results, one of them multi-line: separated by newlines.
    XCTAssertEqual(
      try show("return 1, {name = 'a long enough value', other = 'another long value'}", Printer(width: 30)),
      "1\n{\n  name = \"a long enough value\",\n  other = \"another long value\"\n}")
  }

  func testColours() throws {
    XCTAssertEqual(
      try show("return {1, 'a', true, print}", Printer(colors: true)),
      "{ \u{1B}[33m1\u{1B}[0m, \u{1B}[32m\"a\"\u{1B}[0m, \u{1B}[33mtrue\u{1B}[0m, \u{1B}[36m<function 1>\u{1B}[0m }")
    XCTAssertEqual(try show("return 'top'", Printer(colors: true)), "top")
  }
}

private final class Marker {}
