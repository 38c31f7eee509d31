import CLua
import Glibc
import LuaKit
import XCTest

/// The cost of a call from Lua into a Swift function against a call into a C
/// function (`rawlen`), in the same loop of the same process. A benchmark,
/// not a test: skipped unless KCSH_BENCH=1; scripts/bench/callcost runs it
/// from a release build and prints the figures.
final class CallCostBenchmark: XCTestCase {
  func testCallCost() throws {
    let env = { (name: String) in getenv(name).map { String(cString: $0) } }
    try XCTSkipUnless(env("KCSH_BENCH") == "1", "benchmark: set KCSH_BENCH=1")
    let n = Int64(env("KCSH_BENCH_CALLS") ?? "") ?? 10_000_000
    let rounds = Int(env("KCSH_BENCH_ROUNDS") ?? "") ?? 7

    let vm = try LuaVM()
    // The same work as rawlen: check for a table, push its raw length.
    vm.register("swiftlen") { L in
      if lua_type(L.L, 1) != LUA_TTABLE { throw L.typeError(1, expected: "table") }
      L.push(Int64(L.rawLength(at: 1)))
      return .results(1)
    }
    // A Swift closure capturing Swift state, as most bindings will be.
    var calls: Int64 = 0
    vm.register("swiftcount") { L in
      calls += 1
      L.push(calls)
      return .results(1)
    }
    // os.clock is process CPU time; each round times every loop once, in
    // turn, so drifts in machine speed hit them alike. Medians are reported.
    let results = try vm.run(
      """
      local n, rounds = \(n), \(rounds)
      local clock, t = os.clock, {1, 2, 3}
      local loops = {
        empty = function() for i = 1, n do end end,
        rawlen = function() local f = rawlen; for i = 1, n do f(t) end end,
        swiftlen = function() local f = swiftlen; for i = 1, n do f(t) end end,
        swiftcount = function() local f = swiftcount; for i = 1, n do f(t) end end,
      }
      local names = {"empty", "rawlen", "swiftlen", "swiftcount"}
      local times = {}
      for _, name in ipairs(names) do times[name] = {} end
      for r = 1, rounds do
        for _, name in ipairs(names) do
          local t0 = clock(); loops[name](); times[name][r] = clock() - t0
        end
      end
      local function median(xs) table.sort(xs); return xs[(#xs + 1) // 2] end
      return median(times.empty), median(times.rawlen), median(times.swiftlen), median(times.swiftcount)
      """)
    let secs = results.map { v -> Double in
      if case .number(let d) = v { return d }
      if case .integer(let i) = v { return Double(i) }
      return .nan
    }
    let ns = secs.map { $0 / Double(n) * 1e9 }
    let (empty, c, swift, closure) = (ns[0], ns[1], ns[2], ns[3])
    func f(_ x: Double) -> String {
      let r = (x * 10).rounded() / 10
      return "\(r)"
    }
    print(
      """
      callcost: \(n) calls per loop, median of \(rounds) rounds (ns per iteration)
      callcost: empty loop        \(f(empty))
      callcost: rawlen (C)        \(f(c))  net \(f(c - empty))
      callcost: swiftlen (Swift)  \(f(swift))  net \(f(swift - empty))
      callcost: swiftcount (Swift closure) \(f(closure))  net \(f(closure - empty))
      callcost: rate Swift/C = \(f(c / swift * 100))% (closure \(f(c / closure * 100))%), net call cost Swift/C = \(f((swift - empty) / (c - empty)))x
      """)
    XCTAssertEqual(calls, n * Int64(rounds))
  }
}
