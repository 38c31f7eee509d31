import CLua
import LuaKit
import XCTest

/// Leaks on purpose, to show that LeakSanitizer (with Tests/lsan.supp, which hides
/// XCTest's own never-freed objects) still reports leaks from test code and
/// Lua. Skipped unless KCSH_LSAN_CANARY=1; then the ASan run must fail.
final class LeakCanaryTests: XCTestCase {
  func testLeakOnPurpose() throws {
    try XCTSkipUnless(getenv("KCSH_LSAN_CANARY").map { String(cString: $0) } == "1")
    let vm = try LuaVM()
    let counter = DeinitCounter()
    vm.register("leak") { _ in
      _ = Unmanaged.passRetained(Tracked(counter)).toOpaque()  // a Swift object
      _ = luaL_newstate()  // a Lua state never closed
      return .results(0)
    }
    try vm.run("leak()")
  }
}
