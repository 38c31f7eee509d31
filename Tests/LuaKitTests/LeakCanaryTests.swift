import CLua
import LuaKit
import XCTest

/// Leaks on purpose, to show that LeakSanitizer (with Tests/lsan.supp, which hides
/// XCTest's own never-freed objects) still reports leaks from test code and
/// Lua. scripts/test leaves it out of the suites and runs it alone under ASan,
/// where the run must fail.
final class LeakCanaryTests: XCTestCase {
  func testLeakOnPurpose() throws {
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
