import Glibc
import LuaKit
import XCTest

/// Counts deinits, to prove that Lua released a Swift object.
final class DeinitCounter {
  var count = 0
}

/// A Swift object whose deinit is counted.
final class Tracked {
  let counter: DeinitCounter
  let name: String
  init(_ counter: DeinitCounter, name: String = "") {
    self.counter = counter
    self.name = name
  }
  deinit { counter.count += 1 }
}

/// True in an AddressSanitizer build: its quarantine keeps freed memory
/// resident, so RSS bounds only hold without it (LeakSanitizer checks then).
let underAddressSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil

/// Resident set size of this process in bytes (/proc/self/statm, field 2).
func residentBytes() -> Int {
  guard let f = fopen("/proc/self/statm", "r") else { return 0 }
  defer { fclose(f) }
  var line = [CChar](repeating: 0, count: 256)
  guard fgets(&line, 256, f) != nil else { return 0 }
  let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    .split(separator: " ")
  guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
  return pages * sysconf(Int32(_SC_PAGESIZE))
}

extension LuaVM {
  /// Runs `code` and returns its first result (nil when none).
  func first(_ code: String, file: StaticString = #filePath, line: UInt = #line) throws -> LuaValue {
    try run(code).first ?? .nil
  }
}

/// The LuaError that `body` throws, or a failure.
func luaError(
  _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line
) -> LuaError? {
  do {
    try body()
    XCTFail("expected a LuaError", file: file, line: line)
  } catch let e as LuaError {
    return e
  } catch {
    XCTFail("expected a LuaError, got \(error)", file: file, line: line)
  }
  return nil
}
