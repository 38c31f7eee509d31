import LuaKit
import XCTest

/// Swift functions in coroutines, and Swift functions that yield.
final class CoroutineTests: XCTestCase {
  func testCoroutinesCallSwiftFunctions() throws {
    let vm = try LuaVM()
    var calls = 0
    vm.register("count") { L in
      calls += 1
      L.push(Int64(calls))
      return .results(1)
    }
    XCTAssertEqual(
      try vm.run(
        """
        local co = coroutine.create(function(a)
          local x = count()
          local b = coroutine.yield(a + x)
          return b + count()
        end)
        local _, r1 = coroutine.resume(co, 10)
        local _, r2 = coroutine.resume(co, 100)
        return r1, r2, coroutine.status(co)
        """),
      [11, 102, "dead"])
    XCTAssertEqual(calls, 2)
  }

  func testYieldRequest() throws {
    let vm = try LuaVM()
    // Yields its argument doubled; resume's arguments become its results.
    vm.register("ask") { L in
      L.push(try L.checkInteger(1) * 2)
      return .yield(1)
    }
    XCTAssertEqual(
      try vm.run(
        """
        local co = coroutine.wrap(function(n)
          local a, b = ask(n)
          return 'got ' .. a .. ' and ' .. tostring(b)
        end)
        local asked = co(21)
        return asked, co('x', 'y')
        """),
      [42, "got x and y"])
  }

  func testYieldThenContinuation() throws {
    let vm = try LuaVM()
    let counter = DeinitCounter()
    vm.register("wait") { L in
      let request = try L.checkString(1)
      let token = Tracked(counter, name: request)  // captured until resumed
      L.push("waiting for " + request)
      return .yieldThen(1) { L, base in
        // The values passed to resume are above `base`.
        XCTAssertEqual(L.top - base, 2)
        L.push(token.name + ": " + (L.string(at: base + 1) ?? "?") + (L.string(at: base + 2) ?? "?"))
        return .results(1)
      }
    }
    XCTAssertEqual(
      try vm.run(
        """
        local co = coroutine.wrap(function() return 'done ' .. wait('page 1') end)
        local a = co()
        local b = co('ok', '!')
        return a, b
        """),
      ["waiting for page 1", "done page 1: ok!"])
    vm.collectGarbage()
    XCTAssertEqual(counter.count, 1)
  }

  func testContinuationCanYieldAgainAndRaise() throws {
    let vm = try LuaVM()
    // Yields three times, accumulating what resume passes, then returns the
    // sum; a non-number raises from the continuation.
    func step(_ sum: Int64, _ left: Int) -> LuaContinuation {
      return { L, base in
        let got = try L.checkInteger(base + 1)
        if left == 0 {
          L.push(sum + got)
          return .results(1)
        }
        L.push(sum + got)
        return .yieldThen(1, step(sum + got, left - 1))
      }
    }
    vm.register("accumulate") { L in
      L.push("start")
      return .yieldThen(1, step(0, 2))
    }
    XCTAssertEqual(
      try vm.run(
        """
        local co = coroutine.create(accumulate)
        local out = {}
        for _, v in ipairs({0, 1, 2, 3}) do
          local ok, r = coroutine.resume(co, v)
          out[#out + 1] = tostring(r)
        end
        return table.concat(out, ' '), coroutine.status(co)
        """),
      ["start 1 3 6", "dead"])
    let r = try vm.run(
      """
      local co = coroutine.create(accumulate)
      coroutine.resume(co)
      return coroutine.resume(co, 'nope')
      """)
    XCTAssertEqual(r.first, false)
    XCTAssertTrue(r.last?.text?.contains("number expected, got string") ?? false, "\(r)")
  }

  func testYieldAcrossPcallInsideCoroutine() throws {
    let vm = try LuaVM()
    vm.register("wait") { L in
      L.push("w")
      return .yieldThen(1) { L, base in
        guard let s = L.string(at: base + 1) else { throw LuaError("resumed without a value") }
        L.push(s.uppercased())
        return .results(1)
      }
    }
    vm.register("plainwait") { L in
      L.push("p")
      return .yield(1)
    }
    XCTAssertEqual(
      try vm.run(
        """
        local co = coroutine.wrap(function()
          local ok1, v1 = pcall(wait)          -- yields inside pcall
          local ok2, v2 = pcall(wait)          -- resumed with nothing: error caught
          local ok3, v3 = pcall(plainwait)
          local ok4, v4 = pcall(function() return wait() .. plainwait() end)
          return ok1, v1, ok2, v2, ok3, v3, ok4, v4
        end)
        local out = {co()}
        out[#out + 1] = co('a')
        out[#out + 1] = co()
        out[#out + 1] = co('b')
        out[#out + 1] = co('c')
        local r = {co('d')}
        return table.concat(out, ','), table.unpack(r)
        """),
      ["w,w,p,w,p", true, "A", false, "resumed without a value", true, "b", true, "Cd"])
  }

  func testCoroutineCollectedWhileSuspendedInSwiftYield() throws {
    let vm = try LuaVM()
    let counter = DeinitCounter()
    vm.register("suspend") { L in
      let token = Tracked(counter)
      L.push(true)
      return .yieldThen(1) { _, _ in
        _ = token
        return .results(0)
      }
    }
    try vm.run(
      """
      for i = 1, 100 do
        local co = coroutine.create(function() suspend() end)
        assert(coroutine.resume(co))
        assert(coroutine.status(co) == 'suspended')
      end
      """)
    vm.collectGarbage()
    vm.collectGarbage()  // finalizers of the first pass
    XCTAssertEqual(counter.count, 100)

    // coroutine.close releases it at once; closing the VM releases the rest.
    try vm.run(
      """
      local co = coroutine.create(function() suspend() end)
      coroutine.resume(co)
      assert(coroutine.close(co))
      kept = coroutine.create(function() suspend() end)
      coroutine.resume(kept)
      """)
    vm.collectGarbage()
    vm.collectGarbage()
    XCTAssertEqual(counter.count, 101)
  }

  func testSuspendedContinuationReleasedWhenVMCloses() throws {
    let counter = DeinitCounter()
    do {
      let vm = try LuaVM()
      vm.register("suspend") { L in
        let token = Tracked(counter)
        return .yieldThen(0) { _, _ in
          _ = token
          return .results(0)
        }
      }
      try vm.run("kept = coroutine.create(suspend); coroutine.resume(kept)")
      XCTAssertEqual(counter.count, 0)
    }
    XCTAssertEqual(counter.count, 1)
  }

  func testYieldOutsideCoroutineIsAnError() throws {
    let vm = try LuaVM()
    vm.register("y") { _ in .yield(0) }
    vm.register("yk") { _ in .yieldThen(0) { _, _ in .results(0) } }
    XCTAssertEqual(try vm.run("return pcall(y)"), [false, "attempt to yield from outside a coroutine"])
    XCTAssertEqual(try vm.run("return pcall(yk)"), [false, "attempt to yield from outside a coroutine"])
    let e = luaError { try vm.run("y()") }
    XCTAssertEqual(e?.message, "attempt to yield from outside a coroutine")
  }

  func testYieldThroughSwiftCallIsAnError() throws {
    // A Swift function calls Lua with pcall, which has no continuation: a yield
    // inside is refused with an error, not a crash.
    let vm = try LuaVM()
    vm.register("y") { _ in .yield(0) }
    vm.register("through") { L in
      try L.call(try L.value(at: 1))
      return .results(0)
    }
    let r = try vm.run(
      """
      local co = coroutine.create(function() through(function() coroutine.yield() end) end)
      local ok1, e1 = coroutine.resume(co)
      co = coroutine.create(function() through(y) end)
      local ok2, e2 = coroutine.resume(co)
      return ok1, e1, ok2, e2
      """)
    XCTAssertEqual(r[0], false)
    XCTAssertTrue(r[1].text?.contains("attempt to yield across a C-call boundary") ?? false, "\(r)")
    XCTAssertEqual(r[2], false)
    XCTAssertTrue(r[3].text?.contains("attempt to yield across a C-call boundary") ?? false, "\(r)")
  }
}

/// Coroutines driven from Swift, as a scheduler would drive them.
final class SwiftSchedulerTests: XCTestCase {
  func testSwiftResumesWhatASwiftFunctionSuspended() throws {
    let vm = try LuaVM()
    // fetch(path) yields the request to the scheduler; the scheduler
    // resumes with the answer, which becomes fetch's result.
    vm.register("fetch") { L in
      let path = try L.checkString(1)
      L.push("GET " + path)
      return .yieldThen(1) { L, base in
        guard let body = L.string(at: base + 1) else { throw LuaError("no answer") }
        L.push("body of " + body)
        return .results(1)
      }
    }
    try vm.run("function job(a, b) return fetch(a) .. ' + ' .. fetch(b) end")
    let main = vm.state
    let co = main.newThread()
    co.getGlobal("job")
    co.push("/x")
    co.push("/y")
    var requests: [String] = []
    var result = try co.resume(nargs: 2)
    while case .yielded(let n) = result {
      XCTAssertEqual(n, 1)
      let request = co.string(at: -1) ?? "?"
      requests.append(request)
      co.pop(Int32(n))
      co.push(String(request.dropFirst(4)))
      result = try co.resume(nargs: 1)
    }
    XCTAssertEqual(result, .returned(1))
    XCTAssertEqual(co.string(at: -1), "body of /x + body of /y")
    XCTAssertEqual(requests, ["GET /x", "GET /y"])
    co.pop()  // its results taken, as coroutine.resume takes them
    XCTAssertFalse(co.canResume)
    main.pop()  // the thread; collected with its stack
    XCTAssertEqual(main.top, 0)
  }

  func testErrorInResumedCoroutine() throws {
    let vm = try LuaVM()
    let co = vm.state.newThread()
    try co.load("local t = ... ; coroutine.yield(1); error({code = t})", name: "=job")
    co.push("E42")
    XCTAssertTrue(co.canResume)
    XCTAssertEqual(try co.resume(nargs: 1), .yielded(1))
    co.pop()
    let e = luaError { _ = try co.resume(nargs: 0) }
    guard case .table(let t) = e?.value else { return XCTFail("\(String(describing: e))") }
    XCTAssertEqual(t["code"], "E42")
    XCTAssertTrue(e?.traceback?.contains("stack traceback:") ?? false)
    XCTAssertTrue(e?.traceback?.contains("job:1") ?? false, e?.traceback ?? "")
    XCTAssertFalse(co.canResume)
    // The original table is what a Swift function would raise again.
    vm.register("rethrow") { _ in throw e ?? LuaError("none") }
    XCTAssertEqual(try vm.first("local ok, x = pcall(rethrow); return x.code"), "E42")
    vm.state.pop()
  }

  /// A non-string error from a coroutine reads as lua.c shows it: its
  /// __tostring (run on the main thread: the dead coroutine cannot call),
  /// else "(error object is a ... value)"; a raised function keeps its
  /// identity.
  func testNonStringErrorsInResumedCoroutine() throws {
    let vm = try LuaVM()
    try vm.run("f = function() end; E = setmetatable({}, {__tostring = function() return 'custom E' end})")
    for (code, message) in [
      ("error(E)", "custom E"), ("error({})", "(error object is a table value)"),
      ("error(f)", "(error object is a function value)"),
    ] {
      let co = vm.state.newThread()
      try co.load(code, name: "=job")
      let e = luaError { _ = try co.resume(nargs: 0) }
      XCTAssertEqual(e?.message, message)
      vm.register("rethrow") { _ in throw e ?? LuaError("none") }
      XCTAssertEqual(try vm.first("local ok, x = pcall(rethrow); return x == E or x == f or type(x) == 'table'"), true)
      vm.state.pop()
    }
    XCTAssertEqual(try vm.first("local ok, x = pcall(rethrow); return x == f"), true)
  }
}
