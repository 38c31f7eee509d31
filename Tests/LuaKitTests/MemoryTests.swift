import LuaKit
import XCTest

/// Many calls through the bridge leave no trace in Lua's heap or the process.
final class MemoryTests: XCTestCase {
  func testMillionCallsWithoutMemoryGrowth() throws {
    let vm = try LuaVM()
    vm.register("inc") { L in
      L.push(try L.checkInteger(1) + 1)
      return .results(1)
    }
    try vm.run(
      """
      function loop(n)
        local x = 0
        for i = 1, n do x = inc(x) end
        return x
      end
      """)
    XCTAssertEqual(try vm.first("return loop(100000)"), 100000)  // warm up
    vm.collectGarbage()
    let luaBefore = vm.memoryInUse
    let rssBefore = residentBytes()

    XCTAssertEqual(try vm.first("return loop(1000000)"), 1_000_000)

    vm.collectGarbage()
    let luaAfter = vm.memoryInUse
    let rssAfter = residentBytes()
    let luaCount = try vm.first("return collectgarbage('count')")
    print("1M calls: Lua heap \(luaBefore) -> \(luaAfter) bytes (count \(luaCount)), RSS \(rssBefore) -> \(rssAfter) bytes")
    XCTAssertLessThanOrEqual(luaAfter - luaBefore, 4096)
    XCTAssertGreaterThan(rssBefore, 0)
    if !underAddressSanitizer { XCTAssertLessThan(rssAfter - rssBefore, 2 << 20) }
  }

  func testErrorsAndYieldsDoNotLeak() throws {
    let vm = try LuaVM()
    let counter = DeinitCounter()
    vm.register("fail") { _ in throw LuaError(value: ["code": 1], message: "e") }
    vm.register("suspend") { L in
      let token = Tracked(counter)
      L.push(Int64(1))
      return .yieldThen(1) { L, base in
        _ = token
        return .results(L.top - base)
      }
    }
    let code = """
      for i = 1, 20000 do
        assert(not pcall(fail))
        local co = coroutine.wrap(function(x) return suspend() end)
        co(); co(i)
      end
      """
    try vm.run(code)
    vm.collectGarbage()
    let luaBefore = vm.memoryInUse
    let rssBefore = residentBytes()
    try vm.run(code)
    vm.collectGarbage()
    XCTAssertEqual(counter.count, 40000)
    XCTAssertLessThanOrEqual(vm.memoryInUse - luaBefore, 4096)
    if !underAddressSanitizer { XCTAssertLessThan(residentBytes() - rssBefore, 2 << 20) }
  }
}
