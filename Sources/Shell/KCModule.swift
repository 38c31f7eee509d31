@preconcurrency import Glibc
import KeycardClient
import LuaJSON
import LuaKit
import Threads

/// The global `kc`: the Keycard API for scripts.
///
/// Start-up pays for one empty table and one function: `kc`'s fields are
/// made the first time a script reads one, and the client (config file,
/// secrets, libcurl) the first time a script talks to the API. A script that
/// never touches `kc` costs nothing more than under lua5.4.
public enum KCModule {
  public struct Options: Sendable {
    /// `--profile NAME`.
    public var profile: String?
    /// `--trace`.
    public var trace = false
    /// Where "kcsh: ..." notices go.
    public var progname = "kcsh"
    /// With no credentials anywhere, start a local sandbox (true only when a
    /// person is at the interactive REPL); otherwise that is an error.
    public var autoSandbox = false
    /// `--sandbox`: kc talks to kcsh's own sandbox.
    public var sandbox = false
    /// `--dry-run`: writes are planned, not sent (stdlib/kc/plan.lua).
    public var dryRun = false
    /// `--plan-out FILE`: where the dry run's plan also goes, as JSON.
    public var planOut: String?
    /// `--journal FILE` (or KCSH_JOURNAL): writes are journaled there
    /// (stdlib/kc/journal.lua), and a rerun resumes.
    public var journal: String?
    /// The command a journal belongs to (the script and its arguments): a
    /// rerun must be the same command.
    public var journalCommand: String?

    public init(
      profile: String? = nil, trace: Bool = false, progname: String = "kcsh", autoSandbox: Bool = false
    ) {
      self.profile = profile
      self.trace = trace
      self.progname = progname
      self.autoSandbox = autoSandbox
    }
  }

  /// Installs the lazy `kc` global in `state`, and the global `help`
  /// (kc.help once kc is filled, so that help(kc) works as a first
  /// statement). Reads no file: kc is filled by its first use.
  @discardableResult
  public static func install(_ state: LuaState, options: Options) -> KCTarget {
    let context = KCContext(options: options)
    state.ensureStack(4)
    state.newTable()
    state.newTable()  // its metatable: the first use fills kc
    state.rawSet(field: "__name", "kc")
    state.push(function: { s in
      // (kc, key): fill kc, answer the read.
      try context.fill(s, kc: 1)
      s.top = 2
      s.rawGet(1)
      return .results(1)
    })
    state.rawSet(-2, field: "__index")
    state.push(function: { s in
      // kc shows as its names (filled first), not as an empty table.
      try context.fill(s, kc: 1)
      s.push("kc: " + context.publicNames(s, kc: 1).joined(separator: ", ") + " (help(kc) for more)")
      return .results(1)
    })
    state.rawSet(-2, field: "__tostring")
    state.push(function: { s in
      // pairs(kc) lists kc's fields: fill kc first, then walk it as next does.
      try context.fill(s, kc: 1)
      s.top = 1
      s.getGlobal("next")
      s.insert(at: 1)
      s.pushNil()
      return .results(3)
    })
    state.rawSet(-2, field: "__pairs")
    state.setMetatable(-2)
    state.setGlobal("kc")
    state.register("help") { s in
      let n = s.top
      s.getGlobal("kc")
      try s.getField(-1, "help")
      s.remove(at: -2)
      s.insert(at: 1)
      try s.call(nargs: n)
      return .results(s.top)
    }
    return KCTarget(context: context)
  }
}

/// What kc talks to, for the REPL's prompt: `sandbox`, a profile's name,
/// or nil (the environment's credentials, or not known yet).
public struct KCTarget {
  let context: KCContext

  public var name: String? { context.target }
}

extension KCModule {
  /// Calls `require(module)[function](kc, args...)`; throws what it raises.
  /// How the runner reaches the bulk modes' Lua halves (plan, journal).
  static func callModule(_ state: LuaState, _ module: String, _ function: String, _ args: [LuaValue] = [])
    throws(LuaError)
  {
    let base = state.top
    defer { state.top = base }
    state.ensureStack(Int32(4 + args.count))
    state.getGlobal("require")
    state.push(module)
    try state.call(nargs: 1, nresults: 1)
    try state.getField(-1, function)
    state.getGlobal("kc")
    for a in args { state.push(a) }
    try state.call(nargs: Int32(1 + args.count), nresults: 0)
  }

  /// `--dry-run`, at exit: prints the plan (and writes `--plan-out`).
  static func finishPlan(_ state: LuaState) throws(LuaError) {
    try callModule(state, "kc.plan", "finish")
  }

  /// `--journal`, before the script: fills kc, which opens the journal (a
  /// damaged or foreign one is refused here, before anything runs).
  static func startJournal(_ state: LuaState) throws(LuaError) {
    let base = state.top
    defer { state.top = base }
    state.getGlobal("kc")
    try state.getField(-1, "request")
  }

  /// `--journal`, at exit: commits, and marks the journal finished when the
  /// script ran to its end (`ok`) with every step done.
  static func finishJournal(_ state: LuaState, ok: Bool) throws(LuaError) {
    try callModule(state, "kc.journal", "finish", [.boolean(ok)])
  }

  /// `--show-journal FILE`: prints the journal's steps (JSON with --json).
  static func showJournal(_ state: LuaState, path: String, json: Bool) throws(LuaError) {
    try callModule(state, "kc.journal", "show", [.string(LuaString(path)), .boolean(json)])
  }

  /// `--emit-types`: writes stdlib/types/kc.lua, the LuaLS annotations that
  /// scripts/gen-types.lua makes from the API description.
  static func emitTypes(ignoreEnvironment: Bool, progname: String) -> Int32 {
    guard let dir = StdlibPath.directory(ignoreEnvironment: ignoreEnvironment),
      let file = fopen(dir + "/types/kc.lua", "rb")
    else {
      CLIOutput.error("\(progname): --emit-types: cannot find types/kc.lua in kcsh's stdlib\n")
      return 1
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = fread(&buffer, 1, buffer.count, file)
      if n <= 0 { break }
      bytes += buffer[..<n]
    }
    CLIOutput.write(String(decoding: bytes, as: UTF8.self))
    return 0
  }
}

/// What `kc` holds on the Swift side: the options, and the client once made.
final class KCContext {
  let options: KCModule.Options
  var client: KeycardClient?
  var tracing: Bool
  /// kc has been filled (or is being filled).
  var filled = false

  init(options: KCModule.Options) {
    self.options = options
    tracing = options.trace
  }

  /// The target's name for the prompt. Before the client is made, read off
  /// the options and the environment without resolving anything (no file
  /// is read, no command run): --sandbox, a named profile, or nothing at
  /// all configured (the REPL's automatic sandbox).
  var target: String? {
    if let c = client?.configuration {
      if c.credentialSource == "sandbox" || options.sandbox { return "sandbox" }
      return c.profile
    }
    if options.sandbox { return "sandbox" }
    if let p = options.profile ?? getenv("KCSH_PROFILE").map({ String(cString: $0) }), !p.isEmpty { return p }
    let env = ["KEYCARD_API_BASE_URL", "KEYCARD_API_API_KEY", "KEYCARD_API_CLIENT_ID"]
    let named = env.contains { getenv($0).map { $0.pointee != 0 } ?? false }
    if !named && options.autoSandbox && !Configuration.configFileExists() { return "sandbox" }
    return nil
  }

  /// Why a script cannot run without credentials: the automatic sandbox is
  /// for people at the REPL, not for scripts.
  static let noCredentials = KeycardError(
    kind: .config,
    message: """
      no Keycard credentials: set KEYCARD_API_API_KEY (or KEYCARD_API_CLIENT_ID and \
      KEYCARD_API_CLIENT_SECRET), or a profile in $XDG_CONFIG_HOME/kcsh/config.toml \
      (--profile NAME); or pass --sandbox to run against a local sandbox
      """)

  /// The client, made on first use: resolves the configuration (and, at the
  /// interactive REPL only, starts a sandbox when nothing names credentials
  /// or a base URL).
  func getClient() throws -> KeycardClient {
    if let client { return client }
    var config: Configuration
    do {
      config = try Configuration.resolve(profileFlag: options.profile)
      if !config.hasCredentials && !config.namesBaseURL {
        guard options.autoSandbox else { throw KCContext.noCredentials }
        let url: String
        let key: String
        do {
          (url, key) = try ShellSandbox.start()
        } catch {
          throw KeycardError(
            kind: .config,
            message: "no Keycard credentials (KEYCARD_API_API_KEY, KEYCARD_API_CLIENT_ID/SECRET or a profile), and no sandbox: \(error.message)")
        }
        CLIOutput.error(
          "\(options.progname): no Keycard credentials found; using a local sandbox at \(url) (stopped on exit)\n")
        config.baseURL = url
        config.credentials = .apiKey(Secret(key))
        config.credentialSource = "sandbox"
      }
      config.userAgent = "kcsh/\(KcshVersion.version)"
      let made = try KeycardClient(configuration: config)
      made.tracing = tracing
      client = made
      return made
    } catch let error as KeycardError {
      throw LuaError("kc: " + error.description)
    }
  }

  /// Fills kc (the table at `kc`) once, and drops the metamethod that
  /// fills it on a read: from then on reads are plain.
  func fill(_ s: LuaState, kc: Int32) throws {
    guard !filled else { return }
    filled = true  // a read of kc while it is being filled finds what is there
    do {
      try populate(s, kc: kc)
    } catch {
      filled = false
      throw error
    }
    s.pushMetatable(at: kc)
    s.pushNil()
    s.rawSet(-2, field: "__index")
    s.pop()
  }

  /// Fills the `kc` table at `kc` (raw sets): the native half here, the
  /// rest from kc.init (stdlib/kc), which makes kc.request of the private
  /// native functions.
  private func populate(_ s: LuaState, kc: Int32) throws {
    let kc = s.absolute(kc)
    s.ensureStack(8)
    // kc.json and kc.null come from C (LuaJSON).
    s.push(cFunction: kcjson_open)
    try s.call(nargs: 0, nresults: 1)
    s.rawGet(-1, field: "null")
    s.rawSet(kc, field: "null")
    s.rawSet(kc, field: "json")

    // The closures own the context: the metatable functions that held it
    // are collected once kc is filled.
    s.push(function: { [self] s in
      self.tracing = s.boolean(at: 1)
      self.client?.tracing = self.tracing
      return .results(0)
    })
    s.rawSet(kc, field: "trace")
    s.push(function: { [self] s in try configTable(s) })
    s.rawSet(kc, field: "config")

    s.newTable(hash: 3)
    let native = s.top
    s.push(function: { [self] s in try request(s) })
    s.rawSet(native, field: "request")
    s.push(function: { [self] s in try requestAsync(s) })
    s.rawSet(native, field: "request_async")
    s.push(function: { s in try Self.describeError(s) })
    s.rawSet(native, field: "describe_error")
    s.push(function: { [self] s in try requestWithin(s) })
    s.rawSet(native, field: "request_within")
    RequestQueue.install(s, native: native, context: self)
    SQLiteModule.install(s, native: native)
    if let journal = options.journal {
      s.push(journal)
      s.rawSet(native, field: "journal")
      s.push(options.journalCommand ?? "")
      s.rawSet(native, field: "journal_command")
    }
    if options.dryRun {
      s.push(true)
      s.rawSet(native, field: "dry_run")
      if let planOut = options.planOut {
        s.push(planOut)
        s.rawSet(native, field: "plan_out")
      }
    }
    if try Self.stdlibFound(s) {
      s.getGlobal("require")
      s.push("kc.init")
      try s.call(nargs: 1, nresults: 1)
      try s.getField(-1, "install")
      s.remove(at: -2)
      s.pushValue(at: kc)
      s.pushValue(at: native)
      try s.call(nargs: 2, nresults: 0)
    } else {
      Self.installFallback(s, kc: kc)
    }
    s.pop()
  }

  /// True when kc/init.lua is on package.path (`package.searchpath`).
  private static func stdlibFound(_ s: LuaState) throws -> Bool {
    let base = s.top
    defer { s.top = base }
    guard s.getGlobal("package") == .table else { return false }
    try s.getField(-1, "searchpath")
    s.push("kc.init")
    try s.getField(-3, "path")
    try s.call(nargs: 2, nresults: 1)
    return s.type(at: -1) == .string
  }

  /// Without the stdlib: kc.request and the tree say why, instead of
  /// "attempt to call a nil value".
  private static func installFallback(_ s: LuaState, kc: Int32) {
    let fail: LuaFunction = { _ in
      throw LuaError(
        "kc's resource tree (kc/init.lua) is not on package.path: set KCSH_PATH to kcsh's stdlib directory")
    }
    for name in ["org", "org_token", "request", "request_async"] {
      s.push(function: fail)
      s.rawSet(kc, field: name)
    }
    s.newTable()
    s.newTable()
    s.push(function: fail)
    s.rawSet(-2, field: "__index")
    s.setMetatable(-2)
    s.rawSet(kc, field: "organizations")
  }

  /// The string keys of kc not starting with `_`, sorted.
  func publicNames(_ s: LuaState, kc: Int32) -> [String] {
    var names: [String] = []
    s.pushNil()
    while (try? s.next(kc)) == true {
      s.pop()
      if let k = s.string(at: -1), !k.hasPrefix("_") { names.append(k) }
    }
    return names.sorted()
  }

  /// `tostring` of a kc.Error (the table at 1): KeycardError's one line.
  static func describeError(_ s: LuaState) throws -> LuaResult {
    try s.checkTable(1)
    func field(_ name: String) -> String? {
      defer { s.pop() }
      return s.rawGet(1, field: name) == .string ? s.string(at: -1) : nil
    }
    func number(_ name: String) -> Int? {
      defer { s.pop() }
      s.rawGet(1, field: name)
      return s.integer(at: -1).map { Int($0) }
    }
    s.rawGet(1, field: "message")
    let message = try s.toString(at: -1)
    s.pop()
    s.rawGet(1, field: "kind")
    let kind = try s.toString(at: -1)
    s.pop()
    s.push(
      KeycardError.describe(
        kind: kind, status: number("status"), code: field("code"), message: message,
        method: field("method"), path: field("path"), requestID: field("request_id"),
        attempts: number("attempts") ?? 0))
    return .results(1)
  }

  /// Reads kc.request's table argument into a call, and whether the answer
  /// is wanted as it came (`raw`); argument errors are raised. The field
  /// names were checked by kc.request (stdlib/kc/request.lua).
  func parseCall(_ s: LuaState) throws -> (call: APICall, raw: Bool) {
    try s.checkTable(1)
    s.rawGet(1, field: "method")
    let method = s.string(at: -1) ?? "GET"
    s.pop()
    s.rawGet(1, field: "path")
    guard let path = s.string(at: -1), path.hasPrefix("/") else {
      s.pop()
      throw LuaError("kc.request: 'path' must be a string starting with '/'")
    }
    s.pop()
    var retries: Int?
    if s.rawGet(1, field: "retries") != .nil {
      guard let r = s.integer(at: -1), r >= 0 else { throw LuaError("kc.request: 'retries' must be a non-negative integer") }
      retries = Int(r)
    }
    s.pop()
    var token: String?
    if s.rawGet(1, field: "token") != .nil {
      guard let t = s.string(at: -1) else { throw LuaError("kc.request: 'token' must be a string") }
      token = t
    }
    s.pop()
    s.rawGet(1, field: "auth")
    let authenticated = s.type(at: -1) == .nil || s.boolean(at: -1)
    s.pop()
    let raw: Bool
    switch s.rawGet(1, field: "raw") {
    case .nil, .boolean: raw = s.boolean(at: -1)
    default:
      s.pop()
      throw LuaError("kc.request: 'raw' must be a boolean")
    }
    s.pop()
    var headers: [String] = []
    if s.rawGet(1, field: "headers") == .table {
      guard case .table(let t) = try s.value(at: -1) else { throw LuaError("kc.request: 'headers' must be a table") }
      for (k, v) in t.hash.sorted(by: { ($0.key.text ?? "") < ($1.key.text ?? "") }) {
        guard let name = k.text, let value = v.text ?? { if case .integer(let i) = v { String(i) } else { nil } }(),
          !name.isEmpty, !(name + value).contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }),
          !name.contains(":")
        else { throw LuaError("kc.request: 'headers' maps names to strings, on one line each") }
        if name.lowercased() == "authorization" {
          throw LuaError("kc.request: set a bearer token with 'token', not an Authorization header")
        }
        headers.append("\(name): \(value)")
      }
    } else if s.type(at: -1) != .nil {
      throw LuaError("kc.request: 'headers' must be a table")
    }
    s.pop()
    var query: [(name: String, value: String)] = []
    if s.rawGet(1, field: "query") == .table {
      query = try Self.queryPairs(try s.value(at: -1))
    } else if s.type(at: -1) != .nil {
      throw LuaError("kc.request: 'query' must be a table")
    }
    s.pop()
    var body: [UInt8]?
    if s.rawGet(1, field: "body") != .nil {
      if s.type(at: -1) == .string {
        body = s.bytes(at: -1)  // already JSON
        s.pop()
      } else {
        // Encode in C under pcall: the encoder raises on NaN, cycles...
        s.push(cFunction: kcjson_encode)
        s.insert(at: -2)
        do {
          try s.call(nargs: 1, nresults: 1)
        } catch {
          throw LuaError("kc.request: body: \(error.value?.text ?? "cannot encode")")
        }
        body = s.bytes(at: -1)
        s.pop()
      }
    } else {
      s.pop()
    }

    var call = APICall(
      method: method, path: path, query: query, body: body, retries: retries, token: token,
      authenticated: authenticated)
    call.headers = headers
    if s.rawGet(1, field: "request_id") != .nil {
      guard let id = s.string(at: -1), !id.isEmpty, id.count <= 200,
        !id.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" })
      else { throw LuaError("kc.request: 'request_id' must be a string on one line") }
      call.requestID = id
    }
    s.pop()
    switch s.rawGet(1, field: "once") {
    case .nil, .boolean: call.once = s.boolean(at: -1)
    default:
      s.pop()
      throw LuaError("kc.request: 'once' must be a boolean")
    }
    s.pop()
    return (call, raw)
  }

  /// The raw request: (true, value, meta) or (false, error table); argument
  /// errors are raised.
  func request(_ s: LuaState) throws -> LuaResult {
    let (call, raw) = try parseCall(s)
    let outcome: Result<APIResponse, KeycardError>
    do {
      outcome = .success(try getClient().send(call))
    } catch let e as KeycardError {
      outcome = .failure(e)
    }
    return pushOutcome(s, call, outcome, raw: raw)
  }

  /// kc._request_async{...}: starts the request and answers at once with
  /// two functions: join (waits, then returns what request() would) and
  /// cancel. The transfer and its retries run on the client's I/O thread,
  /// so a page travels while Lua works on the previous one.
  func requestAsync(_ s: LuaState) throws -> LuaResult {
    let (call, raw) = try parseCall(s)
    let handle = try getClient().start(call) { _ in }
    s.push(function: { [self] s in
      let outcome: Result<APIResponse, KeycardError>
      do throws(KeycardError) {
        outcome = .success(try handle.wait())
      } catch {
        outcome = .failure(error)
      }
      return pushOutcome(s, call, outcome, raw: raw)
    })
    s.push(function: { _ in
      handle.cancel()
      return .results(0)
    })
    return .results(2)
  }

  /// native.request_within(t, ms): request() with a hard time limit, for
  /// the completer (the prompt never waits longer): a request still in
  /// flight after `ms` milliseconds is cancelled, and the answer is
  /// (false, "timeout"). Starts no sandbox: without a client and without
  /// configured credentials, (false, "no client").
  func requestWithin(_ s: LuaState) throws -> LuaResult {
    let ms = s.integer(at: 2) ?? 300
    s.top = 1
    // A client is made here only when that is quick: the configuration
    // names the credentials (no sandbox is started for a Tab).
    var made = client
    if made == nil, let c = try? Configuration.resolve(profileFlag: options.profile),
      c.hasCredentials || c.namesBaseURL
    {
      made = try? getClient()
    }
    guard let client = made else {
      s.push(false)
      s.push("no client")
      return .results(2)
    }
    let (call, raw) = try parseCall(s)
    let box = Mailbox<Result<APIResponse, KeycardError>>()
    let handle = client.start(call) { box.post($0) }
    let deadline = monotonicSeconds() + Double(ms) / 1000
    while true {
      let left = deadline - monotonicSeconds()
      if let outcome = box.take(waiting: max(0, left)).first {
        return pushOutcome(s, call, outcome, raw: raw)
      }
      if left <= 0 { break }
    }
    handle.cancel()
    s.push(false)
    s.push("timeout")
    return .results(2)
  }

  /// Pushes request()'s answer for `outcome`: decoded, or with `raw` the
  /// body's bytes as a string.
  func pushOutcome(
    _ s: LuaState, _ call: APICall, _ outcome: Result<APIResponse, KeycardError>, raw: Bool
  ) -> LuaResult {
    let response: APIResponse
    switch outcome {
    case .success(let r):
      response = r
    case .failure(let e):
      s.push(false)
      pushError(s, e)
      return .results(2)
    }
    s.push(true)
    if raw {
      s.push(bytes: response.body)
    } else if response.body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
      s.push(true)
    } else {
      // Decoded in C under pcall, straight from the body's bytes.
      let decoded = response.body.withUnsafeBytes { buf -> Result<Void, LuaError> in
        s.push(cFunction: kcjson_decode_buffer)
        s.push(lightUserdata: UnsafeMutableRawPointer(mutating: buf.baseAddress))
        s.push(buf.count)
        return Result { () throws(LuaError) in try s.call(nargs: 2, nresults: 1) }
      }
      if case .failure(let error) = decoded {
        let message = error.value?.text ?? "invalid JSON"
        s.pop()  // the `true`
        s.push(false)
        pushError(
          s,
          KeycardError(
            kind: .decode, status: response.status, message: "the answer is not valid JSON: \(message)",
            method: call.method, path: call.path, requestID: response.requestID, attempts: response.attempts))
        return .results(2)
      }
    }
    s.newTable(hash: 3)
    s.rawSet(field: "status", response.status)
    s.rawSet(field: "request_id", response.requestID)
    s.rawSet(field: "attempts", response.attempts)
    return .results(3)
  }

  func pushError(_ s: LuaState, _ e: KeycardError) {
    s.ensureStack(4)
    s.newTable(hash: 8)
    s.rawSet(field: "kind", e.kind.rawValue)
    s.rawSet(field: "status", e.status)
    s.rawSet(field: "code", e.code)
    s.rawSet(field: "message", e.message)
    s.rawSet(field: "method", e.method)
    s.rawSet(field: "path", e.path)
    s.rawSet(field: "request_id", e.requestID)
    s.rawSet(field: "attempts", e.attempts)
  }

  /// kc.config(): what the client uses (never the secrets).
  func configTable(_ s: LuaState) throws -> LuaResult {
    let c = try getClient().configuration
    s.newTable(hash: 6)
    s.rawSet(field: "base_url", c.baseURL)
    s.rawSet(field: "profile", c.profile)
    let auth: String
    switch c.credentials {
    case .none: auth = "none"
    case .apiKey: auth = "api_key"
    case .clientCredentials: auth = "client_credentials"
    }
    s.rawSet(field: "auth", auth)
    s.rawSet(field: "credentials_from", c.credentialSource)
    s.rawSet(field: "max_retries", c.maxRetries)
    s.rawSet(field: "timeout_ms", c.timeoutMs)
    s.push(c.confirmWrites)
    s.rawSet(-2, field: "confirm_writes")
    return .results(1)
  }

  /// Query parameters: scalars, or arrays of them for repeated names
  /// (`expand = {"permissions", "total_count"}`); names sorted, so URLs are
  /// stable.
  static func queryPairs(_ value: LuaValue) throws -> [(name: String, value: String)] {
    guard case .table(let t) = value else { return [] }
    var out: [(name: String, value: String)] = []
    func scalar(_ v: LuaValue, _ name: String) throws -> String {
      switch v {
      case .string(let s): return s.text
      case .integer(let i): return String(i)
      case .number(let d): return String(d)
      case .boolean(let b): return b ? "true" : "false"
      default: throw LuaError("kc.request: query '\(name)' must be a string, number, boolean or a list of them")
      }
    }
    for (k, v) in t.hash.sorted(by: { ($0.key.text ?? "") < ($1.key.text ?? "") }) {
      guard let name = k.text else { throw LuaError("kc.request: query keys must be strings") }
      if case .table(let list) = v {
        for item in list.array { out.append((name, try scalar(item, name))) }
      } else {
        out.append((name, try scalar(v, name)))
      }
    }
    return out
  }
}

/// Seconds on the monotonic clock.
private func monotonicSeconds() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_MONOTONIC, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
