import LuaKit
import XCTest

@testable import Shell

/// The REPL's console helpers (issue 13): `?` help, redaction for the
/// history, kc.table, and completion from the description (no client).
final class ConsoleTests: XCTestCase {
  var vm: LuaVM!

  override func setUpWithError() throws { vm = try shellVM() }

  func testHelpShortcuts() {
    func code(_ line: String) -> String? {
      REPL.helpShortcut(Array(line.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }
    XCTAssertEqual(code("?org.users"), "return help(org.users)")
    XCTAssertEqual(code("  ? org.users.list "), "return help(org.users.list)")
    XCTAssertEqual(code("help org.users"), "return help(org.users)")
    XCTAssertEqual(code("help kc"), "return help(kc)")
    XCTAssertNil(code("help(org.users)"))
    XCTAssertNil(code("help = 1"))
    XCTAssertNil(code("helpx org"))
    XCTAssertNil(code("?"))
    XCTAssertNil(code("?os.exit(1)"))
  }

  func testRedactionKeepsTheLineAndDropsTheSecret() {
    func redacted(_ line: String) -> String {
      let top = vm.state.top
      defer { XCTAssertEqual(vm.state.top, top) }
      return String(decoding: REPL.redact(Array(line.utf8), in: vm.state), as: UTF8.self)
    }
    XCTAssertEqual(
      redacted(#"acme.sso:update{client_secret = "s3cr3t"}"#), #"acme.sso:update{client_secret = "<redacted>"}"#)
    XCTAssertEqual(redacted("x = {['client_secret'] = 'a', name = 'n'}"), "x = {['client_secret'] = '<redacted>', name = 'n'}")
    XCTAssertEqual(redacted(#"k = "kcsb_abcdefghijklmnopqrstuvwxyz""#), #"k = "<redacted>""#)
    XCTAssertEqual(redacted("sso:update{client_secret = os.getenv('S')}"), "sso:update{client_secret = os.getenv('S')}")
    XCTAssertEqual(redacted("1 + 1"), "1 + 1")
    // the client's own secrets, from the same list as the description's
    XCTAssertEqual(redacted("c = {api_key = 'k1', password = 'p'}"), "c = {api_key = '<redacted>', password = '<redacted>'}")
  }

  func testKcTableRendersRows() throws {
    try vm.run(
      """
      local t = kc.table({{email = "a@x.io", role = "org_admin"}, {email = "bb@x.io", role = "org_viewer"}},
                         {columns = {"email", "role"}})
      assert(t == "email    role\\na@x.io   org_admin\\nbb@x.io  org_viewer", t)
      local cut = kc.table({{v = string.rep("x", 50)}}, {width = 10})
      assert(cut == "v\\nxxxxxxxxx…", cut)
      local more = kc.table({{a = 1}, {a = 2}, {a = 3}}, {max_rows = 1})
      assert(more == "a\\n1\\n… 2 more", more)
      """)
  }

  func testEnumAndReturnTypeCompletionSendNothing() {
    let c = Completer(state: vm.state)
    XCTAssertEqual(c.complete("u:update{role = \"org_").candidates, ["org_admin", "org_member", "org_viewer"])
    let names = c.complete("kc.org(\"acme\"):").candidates
    XCTAssertTrue(names.contains("token") && names.contains("update"), "\(names)")
    XCTAssertFalse(names.contains("users"))
  }
}
