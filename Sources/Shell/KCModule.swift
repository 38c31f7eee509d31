@preconcurrency import Glibc
import CLua
import KeycardClient
import LuaJSON
import LuaKit
import LuaShim

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

    public init(profile: String? = nil, trace: Bool = false, progname: String = "kcsh") {
      self.profile = profile
      self.trace = trace
      self.progname = progname
    }
  }

  /// Installs the lazy `kc` global in `state`.
  public static func install(_ state: LuaState, options: Options) {
    let context = KCContext(options: options)
    state.ensureStack(4)
    state.newTable()
    state.newTable()  // its metatable: the first read fills kc
    state.push(function: { s in
      // (kc, key): fill kc, drop this __index, answer the read.
      try context.populate(s, kc: 1)
      lua_getmetatable(s.L, 1)
      lua_pushnil(s.L)
      s.rawSet(-2, field: "__index")
      lua_settop(s.L, 2)
      lua_rawget(s.L, 1)
      return .results(1)
    })
    state.rawSet(-2, field: "__index")
    lua_setmetatable(state.L, -2)
    state.setGlobal("kc")
    // help() is kc.help (stdlib/kc), made by the first read of kc; a global
    // from the start, so that help(kc) works as a first statement. kc shows
    // as its names (filled first), not as an empty table.
    let startup = """
      function help(...) return kc.help(...) end
      local mt, pairs, type, sort, concat = getmetatable(kc), pairs, type, table.sort, table.concat
      mt.__name = "kc"
      function mt.__tostring(t)
        local _, names = t.null, {}
        for k in pairs(t) do
          if type(k) == "string" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end
        end
        sort(names)
        return "kc: " .. concat(names, ", ") .. " (help(kc) for more)"
      end
      """
    if (try? state.load(startup, name: "=help")) != nil {
      try? state.call(nargs: 0, nresults: 0)
    }
  }
}

extension KCModule {
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

  init(options: KCModule.Options) {
    self.options = options
    tracing = options.trace
  }

  /// The client, made on first use: resolves the configuration (and starts a
  /// sandbox when nothing names credentials or a base URL).
  func getClient() throws -> KeycardClient {
    if let client { return client }
    var config: Configuration
    do {
      config = try Configuration.resolve(profileFlag: options.profile)
      if !config.hasCredentials && !config.namesBaseURL {
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

  /// Fills the `kc` table at `kc` (raw sets).
  func populate(_ s: LuaState, kc: Int32) throws {
    let L = s.L
    let kc = s.absolute(kc)
    s.ensureStack(8)
    // kc.json and kc.null come from C (LuaJSON).
    kcsh_pushcfunction(L, kcjson_open)
    try s.call(nargs: 0, nresults: 1)
    s.rawGet(-1, field: "null")
    s.rawSet(kc, field: "null")
    s.rawSet(kc, field: "json")

    // The closures own the context: the metatable function that held it
    // is collected once kc is filled.
    s.push(function: { [self] s in try request(s) })
    s.rawSet(kc, field: "_request")
    s.push(function: { [self] s in try requestAsync(s) })
    s.rawSet(kc, field: "_request_async")
    s.push(function: { [self] s in
      self.tracing = s.boolean(at: 1)
      self.client?.tracing = self.tracing
      return .results(0)
    })
    s.rawSet(kc, field: "trace")
    s.push(function: { [self] s in try configTable(s) })
    s.rawSet(kc, field: "config")

    // The rest is Lua: the error values and the wrappers that raise them.
    try s.load(Self.glue, name: "=kc")
    s.pushValue(at: kc)
    try s.call(nargs: 1, nresults: 0)
  }

  static let glue = """
    local kc = ...
    local raw = kc._request
    kc._request = nil
    local concat, type, tostring, setmetatable, error = table.concat, type, tostring, setmetatable, error
    -- API failures are tables (status, code, message, method, path,
    -- request_id, attempts, kind), so pcall gets structure; tostring gives
    -- one line.
    local Error = {__name = "kc.error"}
    Error.__index = Error
    Error.__tostring = function(e)
      local head
      if e.kind == "api" then
        head = tostring(e.status) .. (e.code and e.code ~= "" and (" " .. e.code) or "")
      else
        head = tostring(e.kind) .. " error"
      end
      local ctx = {}
      if e.method and e.path then ctx[#ctx + 1] = e.method .. " " .. e.path end
      if e.request_id then ctx[#ctx + 1] = "request " .. e.request_id end
      if e.attempts and e.attempts > 0 then
        ctx[#ctx + 1] = e.attempts == 1 and "1 attempt" or (e.attempts .. " attempts")
      end
      return head .. ": " .. tostring(e.message) .. (#ctx > 0 and (" (" .. concat(ctx, ", ") .. ")") or "")
    end
    kc.Error = Error
    --- kc.request{method=, path=, query=, body=, retries=, token=, auth=,
    --- headers=, raw=}: the decoded answer (true when it is empty; with
    --- raw = true, its bytes as a string), and {status, request_id, attempts}.
    function kc.request(t)
      if type(t) ~= "table" then
        error("bad argument #1 to 'request' (table expected, got " .. type(t) .. ")", 2)
      end
      local ok, value, meta = raw(t)
      if ok then return value, meta end
      if type(value) == "table" then error(setmetatable(value, Error), 2) end
      error(value, 2)
    end
    local raw_async = kc._request_async
    kc._request_async = nil
    --- kc.request_async{...}: like kc.request, but answers at once with a
    --- handle; handle:wait() returns (or raises) what kc.request would.
    local Pending = {__name = "kc.pending"}
    Pending.__index = Pending
    function Pending:wait()
      local join = self._join
      if join then
        self._join = nil
        self._ok, self._value, self._meta = join()
      end
      if self._ok then return self._value, self._meta end
      if self._ok == nil then error("kc.request_async: the request was cancelled", 2) end
      if type(self._value) == "table" then error(setmetatable(self._value, Error), 2) end
      error(self._value, 2)
    end
    --- Cancels the request (a transfer in flight stops; wait() then raises).
    function Pending:cancel()
      if self._join then
        self._join = nil
        self._cancel()
      end
    end
    function kc.request_async(t)
      if type(t) ~= "table" then
        error("bad argument #1 to 'request_async' (table expected, got " .. type(t) .. ")", 2)
      end
      local join, cancel = raw_async(t)
      return setmetatable({_join = join, _cancel = cancel}, Pending)
    end
    -- The resource tree, help() and completion data (stdlib/kc), when
    -- kcsh's stdlib is on package.path.
    if package and package.searchpath("kc.init", package.path) then
      require("kc.init").install(kc)
    else
      -- Without the tree, say why instead of "attempt to call a nil value".
      local why = "kc's resource tree (kc/init.lua) is not on package.path: "
        .. "set KCSH_PATH to kcsh's stdlib directory"
      kc.org = function() error(why, 2) end
      kc.org_token = kc.org
      kc.organizations = setmetatable({}, {__index = function() error(why, 2) end})
    end
    """

  static let requestFields: Set<String> = [
    "method", "path", "query", "body", "retries", "token", "auth", "headers", "raw",
  ]

  /// Reads kc.request's table argument into a call, and whether the answer
  /// is wanted as it came (`raw`); argument errors are raised.
  func parseCall(_ s: LuaState) throws -> (call: APICall, raw: Bool) {
    let L = s.L
    try s.checkTable(1)
    // Unknown fields are mistakes; say which, and what was meant.
    lua_pushnil(L)
    while lua_next(L, 1) != 0 {
      s.pop()
      guard let key = s.string(at: -1), Self.requestFields.contains(key) else {
        let key = s.string(at: -1) ?? s.typeName(at: -1)
        s.pop()
        let hint = Self.requestFields.min { distance($0, key) < distance($1, key) }.flatMap {
          distance($0, key) <= 2 ? " (did you mean '\($0)'?)" : nil
        } ?? ""
        throw LuaError("kc.request: unknown field '\(key)'\(hint)")
      }
    }
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
        kcsh_pushcfunction(L, kcjson_encode)
        s.insert(at: -2)
        if kcsh_pcall(L, 1, 1, 0) != LUA_OK {
          let message = s.string(at: -1) ?? "cannot encode"
          s.pop()
          throw LuaError("kc.request: body: \(message)")
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

  /// Pushes request()'s answer for `outcome`: decoded, or with `raw` the
  /// body's bytes as a string.
  func pushOutcome(
    _ s: LuaState, _ call: APICall, _ outcome: Result<APIResponse, KeycardError>, raw: Bool
  ) -> LuaResult {
    let L = s.L
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
      let status = response.body.withUnsafeBytes { buf -> Int32 in
        kcsh_pushcfunction(L, kcjson_decode_buffer)
        lua_pushlightuserdata(L, UnsafeMutableRawPointer(mutating: buf.baseAddress))
        lua_pushinteger(L, lua_Integer(buf.count))
        return kcsh_pcall(L, 2, 1, 0)
      }
      if status != LUA_OK {
        let message = s.string(at: -1) ?? "invalid JSON"
        s.pop(2)
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

/// Edit distance, for "did you mean".
private func distance(_ a: String, _ b: String) -> Int {
  let a = Array(a.utf8), b = Array(b.utf8)
  var row = Array(0...b.count)
  for i in 1...max(a.count, 1) where !a.isEmpty {
    var prev = row[0]
    row[0] = i
    for j in 1...max(b.count, 1) where !b.isEmpty {
      let cur = row[j]
      row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.count]
}
