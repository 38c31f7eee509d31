import CLua
import Glibc
@testable import LuaKit
import LuaShim
import XCTest

/// Running out of memory: catchable in Lua code, as under lua5.4; fatal
/// inside a Swift function, where raising would longjmp over Swift frames.
/// (A terabyte allocation fails at once, touching no memory, when the kernel
/// refuses to overcommit that much: vm.overcommit_memory 0 or 2. With 1 it
/// would succeed and the reads below would fill memory, so the tests skip.
/// ASan refuses such requests with its own report: skipped there too.)
final class OutOfMemoryTests: XCTestCase {
  override func setUpWithError() throws {
    try XCTSkipIf(underAddressSanitizer, "ASan aborts on a terabyte malloc")
    let mode = (try? String(contentsOfFile: "/proc/sys/vm/overcommit_memory", encoding: .utf8)) ?? "?"
    try XCTSkipUnless(["0", "2"].contains(mode.trimmingCharacters(in: .whitespacesAndNewlines)),
      "vm.overcommit_memory is \(mode): a terabyte malloc might succeed")
  }

  func testOutOfMemoryInLuaIsCatchable() throws {
    let vm = try LuaVM()
    XCTAssertEqual(
      try vm.run("return pcall(function() return io.open('/dev/zero'):read(2^40) end)"),
      [false, "not enough memory"])
    // Also when the Lua code runs under a Swift function's protected call.
    vm.register("protect") { L in
      do {
        try L.call(try L.value(at: 1))
        L.push(true)
      } catch let e as LuaError {
        L.push(e.message)
      }
      return .results(1)
    }
    XCTAssertEqual(
      try vm.first("return protect(function() return io.open('/dev/zero'):read(2^40) end)"),
      "not enough memory")
    XCTAssertEqual(try vm.first("return 1 + 1"), 2)
  }

  /// Code that a Swift function runs under kcsh_pcall may run out of
  /// memory: the pcall catches it (no Swift frame lies between), so it is an
  /// error status, not the guard's abort.
  func testOutOfMemoryUnderKcshPcallIsAnError() throws {
    let vm = try LuaVM()
    vm.register("read_in_swift") { s in
      try s.load("return io.open('/dev/zero'):read(2^40)", name: "=read")
      s.push(kcsh_pcall(s.L, 0, 1, 0) == LUA_ERRMEM)
      return .results(1)
    }
    XCTAssertEqual(try vm.first("return read_in_swift()"), true)
  }

  func testOutOfMemoryInSwiftStopsTheProcess() throws {
    // The child is this test bundle running testChildAllocatesTooMuch.
    let exe = "/proc/self/exe"
    let args = [exe, "LuaKitTests.OutOfMemoryTests/testChildAllocatesTooMuch"]
    var env = ProcessInfo_environment()
    env.append("KCSH_OOM_CHILD=1")
    var pipe: [Int32] = [0, 0]
    XCTAssertEqual(Glibc.pipe(&pipe), 0)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    var pid: pid_t = 0
    let cargs = args.map { strdup($0) } + [nil]
    let cenv = env.map { strdup($0) } + [nil]
    let rc = posix_spawn(&pid, exe, &actions, nil, cargs, cenv)
    close(pipe[1])
    XCTAssertEqual(rc, 0)
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = read(pipe[0], &buffer, buffer.count)
      if n <= 0 { break }
      output += buffer[0..<n]
    }
    close(pipe[0])
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let text = String(decoding: output, as: UTF8.self)
    // Killed by SIGABRT, after saying why; never back in Lua.
    XCTAssertEqual(status & 0x7f, SIGABRT, text)
    XCTAssertTrue(text.contains("kcsh: not enough memory (in a Swift function"), text)
    XCTAssertFalse(text.contains("back in Lua"), text)
  }

  /// Run only as the child of the test above.
  func testChildAllocatesTooMuch() throws {
    try XCTSkipUnless(getenv("KCSH_OOM_CHILD") != nil, "only as a child process")
    let vm = try LuaVM()
    vm.register("hog") { L in
      _ = lua_newuserdatauv(L.L, 1 << 40, 0)  // would raise "not enough memory"
      return .results(1)
    }
    _ = try? vm.run("print(pcall(hog)); print('back in Lua')")
  }
}

/// The environment as "NAME=value" strings.
private func ProcessInfo_environment() -> [String] {
  var result: [String] = []
  var p = environ
  while let s = p.pointee {
    result.append(String(cString: s))
    p += 1
  }
  return result
}
