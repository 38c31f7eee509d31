@preconcurrency import Glibc

/// A secret held in memory. It never prints: interpolating it gives
/// "[redacted]", so it cannot slip into a message or a trace by accident.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
  public let value: String
  public init(_ value: String) { self.value = value }
  public var description: String { "[redacted]" }
  public var debugDescription: String { "[redacted]" }
}

public enum Credentials: Sendable {
  case none
  case apiKey(Secret)
  case clientCredentials(id: String, secret: Secret)
}

/// Where the client talks to and how it authenticates, resolved from the
/// command line, the environment and the config file.
public struct Configuration: Sendable {
  public var baseURL: String = "https://api.keycard.ai"
  public var credentials: Credentials = .none
  /// "Name: value" lines sent with every request.
  public var customHeaders: [String] = []
  public var connectTimeoutMs = 5_000
  public var timeoutMs = 60_000
  public var maxRetries = 2
  /// Retry 409s that name a state conflict too, as the official SDKs do (see
  /// KeycardClient.shouldRetry).
  public var retryConflicts = false
  public var userAgent = "kcsh/\(KeycardClient.version)"
  /// The profile used, if any.
  public var profile: String?
  /// Where the credentials came from, for messages ("environment",
  /// "profile 'prod'"); never the credentials themselves.
  public var credentialSource: String?
  /// Whether a source named the base URL (else it is the default).
  public var namesBaseURL = false
  /// The profile's `confirm_writes = true`: the REPL asks before it sends
  /// a write typed at the prompt.
  public var confirmWrites = false

  public init(baseURL: String = "https://api.keycard.ai", credentials: Credentials = .none) {
    self.baseURL = baseURL
    self.credentials = credentials
  }

  public var hasCredentials: Bool {
    if case .none = credentials { return false }
    return true
  }

  /// Resolves the configuration. Precedence: a profile named with
  /// `--profile` (a flag) beats the environment's KEYCARD_API_* variables,
  /// which beat a profile chosen by KCSH_PROFILE or named "default".
  /// Credentials are taken whole from one source, and sent only to a base
  /// URL from that source or a stronger one.
  public static func resolve(
    profileFlag: String?, environment env: Environment = .process, configPath: String? = nil
  ) throws(KeycardError) -> Configuration {
    var config = Configuration()
    let path = configPath ?? defaultConfigPath(env)
    let file = try path.flatMap { p throws(KeycardError) in try ConfigFile.load(path: p) }

    let profileName = profileFlag ?? env["KCSH_PROFILE"]
    var profile: ConfigFile.Profile?
    if let name = profileName {
      guard let p = file?.profiles[name] else {
        let where_ = path.map { " in \($0)" } ?? ""
        let known = file.map { $0.profiles.keys.sorted().joined(separator: ", ") } ?? ""
        throw KeycardError(
          kind: .config,
          message: "no profile '\(name)'\(where_)" + (known.isEmpty ? "" : " (profiles: \(known))"))
      }
      profile = p
    } else {
      profile = file?.profiles["default"]
    }

    // The sources, strongest first: a profile named by the flag, the
    // environment, a profile named by KCSH_PROFILE or "default".
    struct Source {
      var name: String?  // nil for the environment
      var url: String?
      var profile: ConfigFile.Profile?
      var credentials: Credentials = .none
      var hasCredentials: Bool
    }
    var envSource = Source(
      name: nil, url: env["KEYCARD_API_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }, hasCredentials: false)
    if let key = env["KEYCARD_API_API_KEY"], !key.isEmpty {
      envSource.credentials = .apiKey(Secret(key))
    } else if let id = env["KEYCARD_API_CLIENT_ID"], let secret = env["KEYCARD_API_CLIENT_SECRET"],
      !id.isEmpty, !secret.isEmpty
    {
      envSource.credentials = .clientCredentials(id: id, secret: Secret(secret))
    }
    if case .none = envSource.credentials {} else { envSource.hasCredentials = true }
    var sources = [envSource]
    if let profile {
      let s = Source(name: profile.name, url: profile.baseURL, profile: profile, hasCredentials: profile.hasCredentials)
      if profileFlag != nil { sources.insert(s, at: 0) } else { sources.append(s) }
      config.profile = profile.name
    }

    // Credentials come from the strongest source that has some, and go only
    // to a base URL from that source or a stronger one (else the default):
    // a key from the environment is never sent to a URL found in a weaker
    // profile. Secrets are fetched (commands run) only for the source used.
    if let i = sources.firstIndex(where: \.hasCredentials) {
      let chosen = sources[i]
      config.credentials = try chosen.profile.map { p throws(KeycardError) in try p.credentials(env: env) }
        ?? chosen.credentials
      config.credentialSource = chosen.name.map { "profile '\($0)'" } ?? "environment"
      if let url = sources[...i].lazy.compactMap(\.url).first {
        config.baseURL = url
        config.namesBaseURL = true
      }
    } else if let url = sources.lazy.compactMap(\.url).first {
      config.baseURL = url
      config.namesBaseURL = true
    }
    while config.baseURL.hasSuffix("/") { config.baseURL.removeLast() }

    if let raw = env["KEYCARD_API_CUSTOM_HEADERS"] {
      for line in raw.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
        let l = line.trimmingCharacters(in: " \t\r")
        guard let colon = l.firstIndex(of: ":"), colon != l.startIndex else { continue }
        config.customHeaders.append(l)
      }
    }
    if let t = profile?.timeoutMs { config.timeoutMs = t }
    if let t = profile?.connectTimeoutMs { config.connectTimeoutMs = t }
    if let r = profile?.maxRetries { config.maxRetries = r }
    if let r = profile?.retryConflicts { config.retryConflicts = r }
    if let c = profile?.confirmWrites { config.confirmWrites = c }
    if let t = env["KCSH_TIMEOUT_MS"].flatMap({ Int($0) }), t > 0 { config.timeoutMs = t }
    if let t = env["KCSH_CONNECT_TIMEOUT_MS"].flatMap({ Int($0) }), t > 0 { config.connectTimeoutMs = t }
    if let r = env["KCSH_MAX_RETRIES"].flatMap({ Int($0) }), r >= 0 { config.maxRetries = r }
    if let r = env["KCSH_RETRY_CONFLICTS"] { config.retryConflicts = r == "1" || r == "true" }
    return config
  }

  /// Whether the config file exists (it is not read).
  public static func configFileExists(environment env: Environment = .process) -> Bool {
    defaultConfigPath(env) != nil
  }

  /// $XDG_CONFIG_HOME/kcsh/config.toml (or ~/.config/...), when it exists.
  static func defaultConfigPath(_ env: Environment) -> String? {
    let base: String
    if let x = env["XDG_CONFIG_HOME"], !x.isEmpty {
      base = x
    } else if let home = env["HOME"], !home.isEmpty {
      base = home + "/.config"
    } else {
      return nil
    }
    let path = base + "/kcsh/config.toml"
    return access(path, F_OK) == 0 ? path : nil
  }
}

extension Substring {
  func trimmingCharacters(in set: String) -> String {
    var s = self[...]
    while let f = s.first, set.contains(f) { s = s.dropFirst() }
    while let l = s.last, set.contains(l) { s = s.dropLast() }
    return String(s)
  }
}

/// The config file: `[profiles.NAME]` (or `[NAME]`) sections of `key = value`
/// lines, values being "strings" (basic or 'literal'), integers or booleans.
/// That is all of TOML kcsh needs, so it is parsed here by hand.
///
///     [profiles.prod]
///     base_url = "https://api.keycard.ai"
///     api_key_command = "pass show keycard/prod"   # or api_key_env = "NAME"
///
///     [profiles.ci]
///     client_id = "..."
///     client_secret_env = "CI_SECRET"
///
/// A literal `api_key` or `client_secret` is accepted only when the file is
/// readable by its owner alone.
struct ConfigFile {
  struct Profile {
    var name: String
    var values: [String: String] = [:]
    var line: [String: Int] = [:]
    var path: String

    var baseURL: String? { values["base_url"] }
    var timeoutMs: Int? { values["timeout_ms"].flatMap { Int($0) } }
    var connectTimeoutMs: Int? { values["connect_timeout_ms"].flatMap { Int($0) } }
    var maxRetries: Int? { values["max_retries"].flatMap { Int($0) } }
    var retryConflicts: Bool? { values["retry_conflicts"].flatMap { Bool($0) } }
    var confirmWrites: Bool? { values["confirm_writes"].flatMap { Bool($0) } }

    /// Whether it names credentials (without fetching them).
    var hasCredentials: Bool {
      ["api_key", "api_key_env", "api_key_command", "client_id"].contains { values[$0] != nil }
    }

    func credentials(env: Environment) throws(KeycardError) -> Credentials {
      if let key = try secret("api_key", env: env) { return .apiKey(key) }
      if let id = values["client_id"] {
        guard let secret = try secret("client_secret", env: env) else {
          throw KeycardError(
            kind: .config,
            message: "profile '\(name)' in \(path) has client_id but no client_secret, client_secret_env or client_secret_command")
        }
        return .clientCredentials(id: id, secret: secret)
      }
      return .none
    }

    /// The secret `field` from the file, an environment variable or a command.
    func secret(_ field: String, env: Environment) throws(KeycardError) -> Secret? {
      if let v = values[field] { return Secret(v) }
      if let name = values[field + "_env"] {
        guard let v = env[name], !v.isEmpty else {
          throw KeycardError(
            kind: .config, message: "profile '\(self.name)' takes \(field) from $\(name), which is not set")
        }
        return Secret(v)
      }
      if let command = values[field + "_command"] {
        return try runSecretCommand(command, what: "\(field)_command of profile '\(self.name)'")
      }
      return nil
    }
  }

  var profiles: [String: Profile] = [:]

  static let secretFields: Set<String> = ["api_key", "client_secret"]

  static func load(path: String) throws(KeycardError) -> ConfigFile {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw KeycardError(kind: .config, message: "cannot read \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var st = stat()
    fstat(fd, &st)
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
      if n <= 0 { break }
      bytes.append(contentsOf: chunk[0..<n])
    }
    let file = try parse(String(decoding: bytes, as: UTF8.self), path: path)
    // A secret in a file others can read is a secret no more: refuse it.
    let mode = Int(st.st_mode) & 0o777
    if mode & 0o077 != 0 {
      for p in file.profiles.values.sorted(by: { $0.name < $1.name }) {
        for f in secretFields.sorted() where p.values[f] != nil {
          throw KeycardError(
            kind: .config,
            message:
              "refusing \(path): it holds a secret (\(f) in profile '\(p.name)', line \(p.line[f] ?? 0)) but is readable by group or others (mode \(String(mode, radix: 8))); run chmod 600 \(path), or use \(f)_env / \(f)_command instead")
        }
      }
    }
    return file
  }

  static func parse(_ text: String, path: String) throws(KeycardError) -> ConfigFile {
    var file = ConfigFile()
    var current: String?
    func bad(_ n: Int, _ why: String) -> KeycardError {
      KeycardError(kind: .config, message: "\(path):\(n): \(why)")
    }
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let n = i + 1
      let line = stripComment(raw).trimmingCharacters(in: " \t\r")
      if line.isEmpty { continue }
      if line.hasPrefix("[") {
        guard line.hasSuffix("]"), !line.hasPrefix("[[") else { throw bad(n, "bad section header") }
        var name = String(line.dropFirst().dropLast()).trimmingCharacters(in: " \t")
        if name.hasPrefix("profiles.") { name = String(name.dropFirst("profiles.".count)) }
        if name.hasPrefix("\"") && name.hasSuffix("\"") && name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        guard !name.isEmpty else { throw bad(n, "empty profile name") }
        if file.profiles[name] == nil { file.profiles[name] = Profile(name: name, path: path) }
        current = name
        continue
      }
      guard let eq = line.firstIndex(of: "=") else { throw bad(n, "expected key = value") }
      let key = line[..<eq].trimmingCharacters(in: " \t")
      let rawValue = line[line.index(after: eq)...].trimmingCharacters(in: " \t")
      guard !key.isEmpty else { throw bad(n, "empty key") }
      guard let value = parseValue(rawValue) else { throw bad(n, "cannot read the value of \(key)") }
      guard let section = current else { continue }  // top-level keys: none used yet
      file.profiles[section]!.values[key] = value
      file.profiles[section]!.line[key] = n
    }
    return file
  }

  /// Drops a `#` comment that is outside quotes.
  static func stripComment(_ line: Substring) -> Substring {
    var quote: Character?
    var escaped = false
    for i in line.indices {
      let c = line[i]
      if escaped { escaped = false; continue }
      if quote == "\"" && c == "\\" { escaped = true; continue }
      if let q = quote {
        if c == q { quote = nil }
      } else if c == "\"" || c == "'" {
        quote = c
      } else if c == "#" {
        return line[..<i]
      }
    }
    return line
  }

  static func parseValue(_ v: String) -> String? {
    if v.count >= 2, v.hasPrefix("'"), v.hasSuffix("'") { return String(v.dropFirst().dropLast()) }
    if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") {
      var out = ""
      var escaped = false
      for c in v.dropFirst().dropLast() {
        if escaped {
          switch c {
          case "n": out.append("\n")
          case "t": out.append("\t")
          case "\\": out.append("\\")
          case "\"": out.append("\"")
          default: return nil
          }
          escaped = false
        } else if c == "\\" {
          escaped = true
        } else {
          out.append(c)
        }
      }
      return escaped ? nil : out
    }
    if v == "true" || v == "false" || Int(v) != nil { return v }
    return nil
  }
}

/// Runs `command` with /bin/sh and returns its output, less the final
/// newline. Its output is never shown, even when it fails.
func runSecretCommand(_ command: String, what: String) throws(KeycardError) -> Secret {
  guard let f = popen(command, "r") else {
    throw KeycardError(kind: .config, message: "cannot run the \(what)")
  }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 4096, f) }
    if n <= 0 { break }
    bytes.append(contentsOf: chunk[0..<n])
  }
  let status = pclose(f)
  let code = (status >> 8) & 0xff
  guard status == 0 else {
    throw KeycardError(kind: .config, message: "the \(what) failed (exit status \(code))")
  }
  while let last = bytes.last, last == 10 || last == 13 { bytes.removeLast() }
  guard !bytes.isEmpty else {
    throw KeycardError(kind: .config, message: "the \(what) printed nothing")
  }
  return Secret(String(decoding: bytes, as: UTF8.self))
}

extension String {
  func trimmingCharacters(in set: String) -> String { self[...].trimmingCharacters(in: set) }
}
