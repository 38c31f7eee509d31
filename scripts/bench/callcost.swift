// The call-cost benchmark's program (scripts/bench/callcost builds and runs
// it): one Lua loop calls rawlen, a C function of Lua's base library; others
// call Swift functions registered through LuaKit that do the same work, or
// update captured Swift state. LuaKit is compiled as its own module, -O -wmo,
// as in a release build of kcsh, so calls into it cross a module boundary.
import Glibc
import LuaKit

let args = CommandLine.arguments
let n = args.count > 1 ? Int64(args[1]) ?? 10_000_000 : 10_000_000
let rounds = args.count > 2 ? Int(args[2]) ?? 7 : 7

let vm = try LuaVM()
// The same work as rawlen: check for a table, push its raw length (through
// LuaKit only, as the shell must: the raw lua_State is internal to it).
vm.register("swiftlen") { L in
  if L.type(at: 1) != .table { throw L.typeError(1, expected: "table") }
  L.push(Int64(L.rawLength(at: 1)))
  return .results(1)
}
// The bridge alone: no arguments read, no results.
vm.register("swiftnop") { _ in .results(0) }
// A Swift closure capturing Swift state, as most bindings will be.
final class Counter { var calls: Int64 = 0 }
let counter = Counter()
vm.register("swiftcount") { L in
  counter.calls += 1
  L.push(counter.calls)
  return .results(1)
}

// os.clock is process CPU time. Each round times every loop once, in turn,
// so drifts in machine speed hit them alike; medians are reported.
let results = try vm.run(
  """
  local n, rounds = \(n), \(rounds)
  local clock, t = os.clock, {1, 2, 3}
  local loops = {
    empty = function() for i = 1, n do end end,
    rawlen = function() local f = rawlen; for i = 1, n do f(t) end end,
    swiftlen = function() local f = swiftlen; for i = 1, n do f(t) end end,
    swiftcount = function() local f = swiftcount; for i = 1, n do f(t) end end,
    swiftnop = function() local f = swiftnop; for i = 1, n do f(t) end end,
  }
  local names = {"empty", "rawlen", "swiftlen", "swiftcount", "swiftnop"}
  local times = {}
  for _, name in ipairs(names) do times[name] = {} end
  for r = 1, rounds do
    for _, name in ipairs(names) do
      local t0 = clock(); loops[name](); times[name][r] = clock() - t0
    end
  end
  local function median(xs) table.sort(xs); return xs[(#xs + 1) // 2] end
  return median(times.empty), median(times.rawlen), median(times.swiftlen), median(times.swiftcount),
    median(times.swiftnop)
  """)
precondition(counter.calls == n * Int64(rounds))

let ns = results.map { v -> Double in
  switch v {
  case .number(let d): d / Double(n) * 1e9
  case .integer(let i): Double(i) / Double(n) * 1e9
  default: .nan
  }
}
let (empty, c, swift, closure, nop) = (ns[0], ns[1], ns[2], ns[3], ns[4])
func f(_ x: Double) -> String { "\((x * 10).rounded() / 10)" }
print(
  """
  \(n) calls per loop, median of \(rounds) rounds (ns per iteration)
  empty loop                  \(f(empty))
  rawlen (C)                  \(f(c))  net \(f(c - empty))
  swiftlen (Swift)            \(f(swift))  net \(f(swift - empty))
  swiftcount (Swift closure)  \(f(closure))  net \(f(closure - empty))
  swiftnop (Swift, no work)   \(f(nop))  net \(f(nop - empty))
  rate Swift/C = \(f(c / swift * 100))% (closure \(f(c / closure * 100))%), net call cost Swift/C = \(f((swift - empty) / (c - empty)))x
  """)
