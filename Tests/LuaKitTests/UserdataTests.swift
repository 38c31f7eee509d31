import LuaKit
import XCTest

/// A Swift object that Lua code uses through methods.
private final class Account {
  var balance: Int64 = 0
  let counter: DeinitCounter
  init(_ counter: DeinitCounter) { self.counter = counter }
  deinit { counter.count += 1 }
}

private let accountType = "Account"

/// Pushes a new Account with methods `deposit` and `balance`, via __index.
private func pushAccount(_ L: LuaState, _ counter: DeinitCounter) {
  L.push(object: Account(counter), metatable: accountType) { L in
    L.newTable()
    L.push(function: { L in
      let a = try L.checkObject(1, metatable: accountType, as: Account.self)
      a.balance += try L.checkInteger(2)
      return .results(0)
    })
    L.rawSet(-2, field: "deposit")
    L.push(function: { L in
      L.push(try L.checkObject(1, metatable: accountType, as: Account.self).balance)
      return .results(1)
    })
    L.rawSet(-2, field: "balance")
    L.rawSet(-2, field: "__index")
  }
}

/// Swift objects as userdata: metatables, methods, and __gc releasing them.
final class UserdataTests: XCTestCase {
  func testObjectWithMethods() throws {
    let vm = try LuaVM()
    let counter = DeinitCounter()
    vm.register("newAccount") { L in
      pushAccount(L, counter)
      return .results(1)
    }
    XCTAssertEqual(
      try vm.run(
        """
        local a = newAccount()
        a:deposit(5); a:deposit(7)
        local ok, e = pcall(function() a.deposit({}, 1) end)
        local ok2, e2 = pcall(a.deposit, io.stdout, 1)
        local ok3, e3 = pcall(function() a:deposit('x') end)
        return a:balance(), type(a), e, e2, e3, tostring(a):match('^Account: ') ~= nil
        """, name: "=t"),
      [12, "userdata", "t:3: bad argument #1 to 'deposit' (Account expected, got table)",
       "bad argument #1 to '?' (Account expected, got FILE*)",
       "t:5: bad argument #1 to 'deposit' (number expected, got string)", true])
  }

  func testObjectFromSwiftSide() throws {
    let vm = try LuaVM()
    let counter = DeinitCounter()
    pushAccount(vm.state, counter)
    let account = try XCTUnwrap(vm.state.object(at: -1, metatable: accountType, as: Account.self))
    account.balance = 99
    vm.state.setGlobal("acct")
    XCTAssertEqual(try vm.first("return acct:balance()"), 99)
    // Wrong metatable name or wrong type: nil, not a crash.
    vm.state.getGlobal("acct")
    XCTAssertNil(vm.state.object(at: -1, metatable: "Other", as: Account.self))
    XCTAssertNil(vm.state.object(at: -1, metatable: accountType, as: Tracked.self))
    vm.state.getGlobal("io")
    XCTAssertNil(vm.state.object(at: -1, metatable: "FILE*", as: Account.self))
    vm.state.top = 0
  }

  func testGcReleasesObjects() throws {
    let vm = try LuaVM()
    let counter = DeinitCounter()
    vm.register("newAccount") { L in
      pushAccount(L, counter)
      return .results(1)
    }
    try vm.run("for i = 1, 1000 do newAccount():deposit(i) end; kept = newAccount()")
    vm.collectGarbage()
    XCTAssertEqual(counter.count, 1000)
    // The same through Lua's own collectgarbage.
    try vm.run("kept = nil; collectgarbage(); collectgarbage()")
    XCTAssertEqual(counter.count, 1001)
  }

  func testVMCloseReleasesObjectsAndFunctions() throws {
    let counter = DeinitCounter()
    let functions = DeinitCounter()
    do {
      let vm = try LuaVM()
      let captured = Tracked(functions)
      vm.register("f") { L in
        L.push(captured.name)
        return .results(1)
      }
      vm.register("newAccount") { L in
        pushAccount(L, counter)
        return .results(1)
      }
      try vm.run("keep = {newAccount(), newAccount(), newAccount()}")
      XCTAssertEqual(counter.count, 0)
      XCTAssertEqual(functions.count, 0)
    }
    XCTAssertEqual(counter.count, 3)
    XCTAssertEqual(functions.count, 1)
  }

  func testCollectedFunctionReleasesItsClosure() throws {
    let vm = try LuaVM()
    let counter = DeinitCounter()
    for _ in 0..<10 {
      let token = Tracked(counter)
      vm.state.push(function: { L in
        L.push(token.name)
        return .results(1)
      })
      vm.state.pop()
    }
    vm.collectGarbage()
    XCTAssertEqual(counter.count, 10)
  }

  func testSetupCannotBreakRelease() throws {
    // A setup that replaces __gc and leaves values on the stack: __gc is set
    // back and the stack restored.
    let vm = try LuaVM()
    let counter = DeinitCounter()
    for _ in 0..<3 {
      vm.state.push(object: Tracked(counter), metatable: "Careless") { L in
        L.push(function: { _ in .results(0) })
        L.rawSet(-2, field: "__gc")
        L.push("junk")
      }
      XCTAssertEqual(vm.state.top, 1)
      XCTAssertNotNil(vm.state.object(at: -1, metatable: "Careless", as: Tracked.self))
      vm.state.pop()
    }
    vm.collectGarbage()
    XCTAssertEqual(counter.count, 3)
  }

  func testRefFromAnotherVMPushesNil() throws {
    let a = try LuaVM()
    let b = try LuaVM()
    guard case .reference(let f) = try a.first("return print") else { return XCTFail() }
    b.state.push(f)
    XCTAssertEqual(b.state.type(at: -1), .nil)
    a.state.push(f)
    XCTAssertEqual(a.state.type(at: -1), .function)
  }

  func testRefsAfterVMCloseAreInert() throws {
    var ref: LuaValue = .nil
    do {
      let vm = try LuaVM()
      ref = try vm.first("return function() end")
    }
    // Released after the VM: must not touch the closed state.
    ref = .nil
    XCTAssertEqual(ref, .nil)
  }
}

/// References released off the Lua thread must not touch the state.
final class RefThreadTests: XCTestCase {
  func testRefReleasedOnAnotherThreadLeavesTheStateAlone() throws {
    let vm = try LuaVM()
    var values: [LuaValue] = []
    for _ in 0..<100 { values.append(try vm.first("return function() end")) }
    // Hand them to another thread, which drops them while Lua keeps running.
    let box = Unmanaged.passRetained(ValuesBox(values)).toOpaque()
    values = []
    var thread = pthread_t()
    XCTAssertEqual(
      pthread_create(&thread, nil, { p in
        Unmanaged<ValuesBox>.fromOpaque(p!).release()
        return nil
      }, box), 0)
    for _ in 0..<100 { _ = try vm.run("local t = {} for i = 1, 100 do t[i] = function() end end") }
    pthread_join(thread, nil)
    XCTAssertEqual(try vm.first("return 1 + 1"), 2)
  }
}

private final class ValuesBox {
  let values: [LuaValue]
  init(_ values: [LuaValue]) { self.values = values }
}
