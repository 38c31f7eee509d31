@preconcurrency import Glibc
import KeycardClient

/// kcsh's version and the texts of `--help`, `--version`, `-v` and the usage
/// errors.
public enum KcshVersion {
  public static var version: String { KeycardClient.version }

  /// Lua's copyright line, as `lua5.4 -v` prints it (LUA_COPYRIGHT), taken
  /// from the Lua library actually loaded: the macro is a concatenation
  /// Swift cannot import.
  public static var luaCopyright: String {
    if let ident = dlsym(nil, "lua_ident") {
      let text = String(cString: ident.assumingMemoryBound(to: CChar.self))
      let mark = "$LuaVersion: "
      if let start = text.firstRange(of: mark)?.upperBound,
        let end = text[start...].firstRange(of: " $")?.lowerBound
      {
        return String(text[start..<end])
      }
    }
    return "Lua 5.4"
  }
}

enum CLIUsage {
  /// lua.c's `print_usage` (with kcsh's program name): what a bad lua5.4
  /// option prints, word for word, so lua5.4 command lines behave the same.
  static func lua(progname: String, badOption: String) -> String {
    let b = Array(badOption.utf8)
    let needsArgument = b.count > 1 && (b[1] == UInt8(ascii: "e") || b[1] == UInt8(ascii: "l"))
    return "\(progname): "
      + (needsArgument ? "'\(badOption)' needs argument\n" : "unrecognized option '\(badOption)'\n")
      + "usage: \(progname) [options] [script [args]]\n" + luaOptions
  }

  static let luaOptions = """
    Available options are:
      -e stat   execute string 'stat'
      -i        enter interactive mode after executing 'script'
      -l mod    require library 'mod' into global 'mod'
      -l g=mod  require library 'mod' into global 'g'
      -v        show version information
      -E        ignore environment variables
      -W        turn warnings on
      --        stop handling options
      -         stop handling options and execute stdin

    """

  /// `--help`, and the text after a bad long option.
  static func help(progname: String) -> String {
    var text = """
      usage: \(progname) [options] [script [args]]
      The Keycard shell: runs Lua 5.4 scripts as lua5.4 does, with kcsh's modules
      on package.path; with no script and a terminal, an interactive shell.

      """
    text += luaOptions
    text += "kcsh's own options (before the script name):\n"
    let available = LongOption.all.filter(\.available)
    let heads = available.map { "--" + $0.name + ($0.value.map { " " + $0 } ?? "") }
    let width = (heads.map(\.count).max() ?? 0) + 2
    for (head, option) in zip(heads, available) {
      text += "  " + head.padding(width) + option.help + "\n"
    }
    let reserved = LongOption.all.filter { !$0.available }.map { "--" + $0.name }
    if !reserved.isEmpty {
      text += "Reserved, not yet available: " + reserved.joined(separator: ", ") + "\n"
    }
    text += """
      --json: each value returned by an -e chunk, the script's main chunk (or
      --run's script) or a REPL line is printed on stdout as one line of compact
      JSON: a record as its fields, a page as {"items": [...], "page_info": {...}},
      an iterator drained into an array, nil as null, other tables as their
      fields; nothing is printed for a chunk that returns nothing. An error is
      one line {"error": {"message": ..., "status": ..., "code": ...}} on stderr.
      Without --json, only the REPL prints results, readably.

      """
    text += """
      Environment of Lua (ignored with -E):
        LUA_INIT_5_4, LUA_INIT   code, or @file, run before the script
        LUA_PATH_5_4, LUA_PATH, LUA_CPATH_5_4, LUA_CPATH   module search paths
        KCSH_PATH                directory of kcsh's modules, appended to package.path
                                 (default: <prefix>/share/kcsh/stdlib for <prefix>/bin/kcsh)
      Environment of Keycard (read when a script first uses kc; options beat it,
      it beats profiles):
        KEYCARD_API_BASE_URL     API address (default https://api.keycard.ai)
        KEYCARD_API_API_KEY      an API key, or KEYCARD_API_CLIENT_ID and
        KEYCARD_API_CLIENT_SECRET  service-account client credentials
        KEYCARD_API_CUSTOM_HEADERS extra "Name: value" lines sent with every request
        KCSH_PROFILE             profile of $XDG_CONFIG_HOME/kcsh/config.toml to use
        KCSH_MAX_RETRIES, KCSH_TIMEOUT_MS, KCSH_CONNECT_TIMEOUT_MS
        KCSH_RETRY_CONFLICTS=1   retry 409s that name a state too, as the SDKs do
        KCSH_JOURNAL             a journal for every script, as --journal does
        With no credentials or base URL anywhere, the interactive REPL uses a
        local sandbox, as --sandbox does (which cannot be combined with
        --profile); a script (or -e, or stdin) fails instead: pass --sandbox.
      --journal FILE: the script's writes are steps in FILE (SQLite, made 0600:
      it keeps the answers, new credentials' secrets included). Stopped or
      failed, run the same command again: done steps are answered from FILE,
      steps in flight are looked up first (creates by name or email), and the
      rest are sent; each change is made once. A journal belongs to one
      command (script and arguments). --show-journal FILE prints its steps.
      Exit status: 0 success; 1 error in the script (or a bad lua5.4 option, as
      lua5.4 does); 2 a bad kcsh option.

      """
    return text
  }

  /// `--version`.
  static var version: String { "kcsh \(KcshVersion.version)\n\(KcshVersion.luaCopyright)\n" }
}

extension String {
  fileprivate func padding(_ width: Int) -> String {
    count >= width ? self + " " : self + String(repeating: " ", count: width - count)
  }
}
