/// kcsh's command line: lua.c's options (`-e`, `-l`, `-i`, `-v`, `-E`, `-W`,
/// `--`, `-`) with lua.c's rules, plus kcsh's own long options, recognised
/// before the script name so that every lua5.4 command line keeps its meaning.
///
/// This is `collectargs`: one pass that only looks. The `-e`, `-l` and `-W`
/// options run later, in order (`ScriptRunner.runArguments`).
struct ShellArguments {
  /// `-i` (which implies `-v`).
  var interactive = false
  /// `-v`.
  var showVersion = false
  /// At least one `-e`.
  var hasExecute = false
  /// `-E`.
  var ignoreEnvironment = false
  /// Index in argv of the script name; argv.count when there is none.
  var script: Int
  /// `-e`, `-l` and `-W`, in command-line order.
  var actions: [Action] = []
  /// kcsh's long options that were given, by name; the value is "" for flags.
  var long: [String: String] = [:]

  enum Action: Equatable {
    /// `-e stat`.
    case execute(Value)
    /// `-l [g=]mod`.
    case library(Value)
    /// `-W`.
    case warnings
  }

  /// An option's value: argv[index] from `offset` on (2 when joined, as in
  /// `-estat`).
  struct Value: Equatable {
    let index: Int
    let offset: Int
  }

  /// What the command line asks for, or why it cannot be run.
  enum Outcome {
    case run(ShellArguments)
    /// A bad lua5.4 option, at argv[index]: lua.c's usage text, exit 1.
    case luaUsage(Int)
    /// A bad long option: the message, then kcsh's usage, exit 2.
    case usage(String)
    case help
    case version
  }

  init(script: Int) { self.script = script }

  /// Whether there is a script to run: a file (or stdin as `-`), `-e`
  /// code, or `--run NAME`; `argc` is argv's count.
  func runsScript(_ argc: Int) -> Bool { script < argc || hasExecute || long["run"] != nil }

  /// Why a journal (`--journal`, or KCSH_JOURNAL) cannot be kept for this
  /// command line, or nil: a usage error.
  func journalProblem(_ argc: Int) -> String? {
    let journal = "'--journal' (or KCSH_JOURNAL)"
    if long["dry-run"] != nil { return "\(journal) and '--dry-run' cannot be used together" }
    if long["sandbox"] != nil {
      return "\(journal) and '--sandbox' cannot be used together: the sandbox is new on every run, so a rerun "
        + "would resume against other data (run kcsh-sandbox --db FILE and point KEYCARD_API_BASE_URL at it)"
    }
    if !runsScript(argc) { return "\(journal) needs a script: a file, -e or --run NAME" }
    return nil
  }

  /// Parses argv (argv[0] is the program name).
  static func parse(_ argv: [String]) -> Outcome {
    let outcome = parseOptions(argv)
    // The sandbox has its own URL and key; a profile's would compete with them.
    guard case .run(let args) = outcome else { return outcome }
    if args.long["sandbox"] != nil, args.long["profile"] != nil {
      return .usage("'--sandbox' and '--profile' cannot be used together")
    }
    if args.long["plan-out"] != nil, args.long["dry-run"] == nil { return .usage("'--plan-out' needs '--dry-run'") }
    return outcome
  }

  private static func parseOptions(_ argv: [String]) -> Outcome {
    var args = ShellArguments(script: argv.count)
    var i = 1
    while i < argv.count {
      let a = Array(argv[i].utf8)
      args.script = i
      if a.first != UInt8(ascii: "-") { return .run(args) }  // the script
      let option = a.count > 1 ? a[1] : 0
      let joined = a.count > 2  // characters after "-x"
      switch option {
      case 0:  // "-": the script is stdin
        return .run(args)
      case UInt8(ascii: "-"):
        if !joined {  // "--": the next argument is the script
          args.script = i + 1
          return .run(args)
        }
        // kcsh's options are "--" and a letter; anything else ("---") is
        // a bad lua5.4 option.
        let letter = a[2] | 0x20  // ASCII lower case
        guard letter >= UInt8(ascii: "a") && letter <= UInt8(ascii: "z") else { return .luaUsage(i) }
        switch parseLong(argv, &i, into: &args) {
        case .ok: break
        case .stop(let outcome): return outcome
        }
      case UInt8(ascii: "E"):
        if joined { return .luaUsage(i) }
        args.ignoreEnvironment = true
      case UInt8(ascii: "W"):
        if joined { return .luaUsage(i) }
        args.actions.append(.warnings)
      case UInt8(ascii: "i"), UInt8(ascii: "v"):
        if joined { return .luaUsage(i) }
        if option == UInt8(ascii: "i") { args.interactive = true }
        args.showVersion = true
      case UInt8(ascii: "e"), UInt8(ascii: "l"):
        // The value is joined ("-estat") or the next argument, which must
        // not look like an option.
        var value = Value(index: i, offset: 2)
        if !joined {
          value = Value(index: i + 1, offset: 0)
          guard value.index < argv.count, argv[value.index].utf8.first != UInt8(ascii: "-") else {
            return .luaUsage(i)
          }
          i = value.index
        }
        if option == UInt8(ascii: "e") {
          args.hasExecute = true
          args.actions.append(.execute(value))
        } else {
          args.actions.append(.library(value))
        }
      default:
        return .luaUsage(i)
      }
      i += 1
    }
    args.script = argv.count
    return .run(args)
  }

  private enum LongResult {
    case ok
    case stop(Outcome)
  }

  /// `--name`, `--name=value` or `--name value` at argv[i]; moves i past a
  /// separate value.
  private static func parseLong(_ argv: [String], _ i: inout Int, into args: inout ShellArguments)
    -> LongResult
  {
    let text = argv[i].dropFirst(2)
    let name = String(text.prefix { $0 != "=" })
    let inlineValue = text.firstIndex(of: "=").map { String(text[text.index(after: $0)...]) }
    guard let option = LongOption.named(name) else {
      return .stop(.usage("unrecognized option '--\(name)'"))
    }
    if name == "run" {  // --run [NAME [args]]: the rest of argv is the script's
      args.long[name] = ""
      args.script = i + 1
      return .stop(.run(args))
    }
    guard option.available else {
      return .stop(.usage("option '--\(name)' is not yet available"))
    }
    var value = ""
    if option.value != nil {
      if let inlineValue {
        value = inlineValue
      } else if i + 1 < argv.count, argv[i + 1].utf8.first != UInt8(ascii: "-") {
        i += 1
        value = argv[i]
      } else {
        return .stop(.usage("'--\(name)' needs argument"))
      }
    } else if inlineValue != nil {
      return .stop(.usage("option '--\(name)' takes no argument"))
    }
    switch name {
    case "help": return .stop(.help)
    case "version": return .stop(.version)
    default:
      args.long[name] = value
      return .ok
    }
  }
}

/// One of kcsh's long options. Adding one is one line in `all`; whoever
/// implements it reads `ShellArguments.long[name]`.
struct LongOption: Sendable {
  let name: String
  /// The value's placeholder in the usage text; nil for a flag.
  let value: String?
  let help: String
  /// False: reserved, rejected with "not yet available".
  let available: Bool

  init(_ name: String, value: String? = nil, _ help: String, available: Bool = true) {
    self.name = name
    self.value = value
    self.help = help
    self.available = available
  }

  static let all: [LongOption] = [
    LongOption("help", "show this help and exit"),
    LongOption("version", "show kcsh's and Lua's versions and exit"),
    LongOption("sandbox", "run against a local Keycard sandbox (kcsh-sandbox), stopped on exit"),
    LongOption("profile", value: "name", "use the named credentials profile"),
    // Bulk runs (stdlib/kc/plan.lua): one block, kept together.
    LongOption("dry-run", "run against the real data, send no write; print the plan of changes on exit"),
    LongOption("plan-out", value: "file", "with --dry-run: also write the plan as JSON to file"),
    LongOption(
      "journal", value: "file",
      "journal every write in file (SQLite; also KCSH_JOURNAL): run the same command again to resume, each change made once"),
    LongOption("show-journal", value: "file", "print a journal's steps (done, failed, uncertain) and exit; --json for JSON"),
    LongOption("trace", "log every API request on stderr"),
    LongOption("json", "print each value returned by -e, the script or a REPL line as one line of JSON"),
    LongOption(
      "run", value: "name [args]",
      "run a shipped admin script (invite, export, offboard, rotate-credentials, copy-org, audit); alone: list them"),
    LongOption("emit-types", "print LuaLS annotations of the kc API (for editors) and exit"),
  ]

  static func named(_ name: String) -> LongOption? { all.first { $0.name == name } }
}
