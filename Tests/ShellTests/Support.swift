import LuaKit
import XCTest

@testable import Shell

/// The repository's stdlib/, found from this file (Tests/ShellTests/…), so
/// the tests do not depend on KCSH_PATH or where the test binary lives.
let stdlibDirectory: String = {
  var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast(3)
  return parts.joined(separator: "/") + "/stdlib"
}()

/// A VM set up as kcsh sets one up for a script: the libraries, kcsh's
/// stdlib on package.path and the lazy `kc` (no client until a request).
func shellVM() throws -> LuaVM {
  let vm = try LuaVM()
  try vm.run("package.path = package.path .. ';\(stdlibDirectory)/?.lua;\(stdlibDirectory)/?/init.lua'")
  KCModule.install(vm.state, options: .init())
  return vm
}
