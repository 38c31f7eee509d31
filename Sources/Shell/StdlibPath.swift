@preconcurrency import Glibc
import KeycardClient
import LuaKit

/// Where kcsh's own Lua modules (stdlib/) are, and putting them on
/// package.path after the user's LUA_PATH (or Lua's default path).
enum StdlibPath {
  /// KCSH_PATH (unless -E); else <bindir>/../share/kcsh/stdlib when
  /// installed; else <repo>/stdlib when running from a build tree (the first
  /// directory above the binary that holds Package.swift).
  static func directory(ignoreEnvironment: Bool) -> String? {
    if !ignoreEnvironment, let value = getenv("KCSH_PATH"), value[0] != 0 {
      return String(cString: value)
    }
    guard let bin = Executable.directory else { return nil }
    let prefix = bin.lastIndex(of: "/").map { String(bin[..<$0]) } ?? ""
    let installed = prefix + "/share/kcsh/stdlib"
    if isDirectory(installed) { return installed }
    var dir = bin
    while let slash = dir.lastIndex(of: "/") {
      dir = String(dir[..<slash])
      if access(dir + "/Package.swift", F_OK) == 0 {
        let stdlib = dir + "/stdlib"
        return isDirectory(stdlib) ? stdlib : nil
      }
    }
    return nil
  }

  /// Appends `dir/?.lua;dir/?/init.lua` to package.path. Runs before any
  /// user code, so raw access is enough.
  static func append(to state: LuaState, ignoreEnvironment: Bool) {
    guard let dir = directory(ignoreEnvironment: ignoreEnvironment) else { return }
    guard state.getGlobal("package") == .table else {
      state.pop()
      return
    }
    state.rawGet(-1, field: "path")
    let path = state.string(at: -1) ?? ""
    state.pop()
    state.push(path + ";" + dir + "/?.lua;" + dir + "/?/init.lua")
    state.rawSet(-2, field: "path")
    state.pop()
  }

  private static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }
}
