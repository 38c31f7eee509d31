import LuaKit
import XCTest

@testable import Shell

/// Tab completion: `Completer.complete` on the text before the cursor, with
/// kc's resource tree from stdlib/ and no request ever sent.
final class CompleterTests: XCTestCase {
  var vm: LuaVM!

  override func setUpWithError() throws { vm = try shellVM() }

  func candidates(_ before: String) -> [String] {
    let top = vm.state.top
    let c = Completer(state: vm.state).complete(before)
    XCTAssertEqual(vm.state.top, top, "completion leaves the stack as it found it")
    return c.candidates
  }

  func testGlobalsLibrariesAndKeywords() {
    XCTAssertEqual(candidates("string.fo"), ["format"])
    XCTAssertEqual(candidates("x = math.fl"), ["floor"])
    XCTAssertEqual(candidates("ret"), ["return"])  // a keyword
    XCTAssertEqual(candidates("whi"), ["while"])
    XCTAssertEqual(Completer(state: vm.state).complete("print(tab").word, "tab")
    XCTAssertEqual(candidates("print(tab"), ["table"])
  }

  func testNothingForEmptyOrMalformedOrAfterAString() throws {
    XCTAssertEqual(candidates(""), [])
    XCTAssertEqual(candidates("x = "), [])
    XCTAssertEqual(candidates("string..fo"), [])
    XCTAssertEqual(candidates("a:b.c"), [])
    XCTAssertEqual(candidates("nosuch.x"), [])
    XCTAssertEqual(candidates(#"("abc"):up"#), [])
    XCTAssertEqual(candidates(#""abc".le"#), [])
  }

  func testMethodsAfterAColon() throws {
    try vm.run("s = 'text'")
    XCTAssertEqual(candidates("s:up"), ["upper"])
    try vm.run("t = {f = print, n = 1, _private = print}")
    XCTAssertEqual(candidates("t:"), ["f"])  // functions only, no _names
    XCTAssertEqual(candidates("t."), ["f", "n"])
    XCTAssertEqual(candidates("t._"), ["_private"])
  }

  func testKcFieldsFillTheLazyTable() throws {
    let words = candidates("kc.o")
    XCTAssertTrue(["org", "org_token", "organizations"].allSatisfy(words.contains), "\(words)")
    XCTAssertTrue(words.allSatisfy { $0.hasPrefix("o") }, "\(words)")
    XCTAssertEqual(candidates("kc.nu"), ["null"])
    let methods = candidates("kc.organizations:")
    XCTAssertTrue(["list", "each", "get", "create", "update"].allSatisfy(methods.contains), "\(methods)")
    XCTAssertFalse(methods.contains { $0.hasPrefix("_") }, "\(methods)")
    XCTAssertEqual(candidates("kc.organizations:list{li"), ["limit"])
  }

  func testRecordsListTheirCollectionsAndMethods() throws {
    // A record without a request: kc.request answers from Lua (set once kc
    // is filled, or filling it would put the real one back).
    try vm.run(
      """
      local _ = kc.null
      asked = {}
      kc.request = function(args)
        asked[#asked + 1] = args.method .. " " .. args.path
        return {id = "o1", label = "acme", name = "Acme"}
      end
      org = kc.org("acme")
      """)
    XCTAssertEqual(try vm.run("return table.concat(asked, ', ')"), ["GET /organizations/acme"])
    XCTAssertEqual(candidates("org.us"), ["users"])
    let fields = candidates("org.")
    XCTAssertTrue(
      ["id", "label", "name", "users", "invitations", "sso", "update", "reload"].allSatisfy(fields.contains),
      "\(fields)")
    let methods = candidates("org:")
    XCTAssertTrue(methods.contains("update") && !methods.contains("users"), "\(methods)")
    XCTAssertEqual(candidates("org.users:update{"), ["role", "status"])
    XCTAssertEqual(candidates("org.users:update{role = 'x', "), ["status"])
    XCTAssertEqual(candidates("org:update{na"), ["name"])
    XCTAssertEqual(try vm.run("return #asked"), [1], "completion sent no request")
  }
}
