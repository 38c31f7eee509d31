import XCTest

@testable import KeycardClient

#if canImport(Glibc)
  import Glibc
#endif

/// Profiles, precedence and the config file's permission check.
final class ConfigurationTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    var template = Array("/tmp/kcsh-config-XXXXXX".utf8CString)
    let p = try XCTUnwrap(mkdtemp(&template), "mkdtemp failed")
    dir = String(cString: p)
    mkdir(dir + "/kcsh", 0o700)
  }

  override func tearDown() {
    _ = unlink(dir + "/command-ran")
    _ = unlink(dir + "/kcsh/config.toml")
    _ = rmdir(dir + "/kcsh")
    _ = rmdir(dir)
  }

  func writeConfig(_ text: String, mode: mode_t = 0o600) {
    let path = dir + "/kcsh/config.toml"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    chmod(path, mode)
  }

  func resolve(_ env: [String: String], profile: String? = nil) throws -> Configuration {
    var env = env
    env["XDG_CONFIG_HOME"] = dir
    return try Configuration.resolve(profileFlag: profile, environment: Environment(env))
  }

  func key(_ c: Configuration) -> String? {
    if case .apiKey(let k) = c.credentials { return k.value }
    return nil
  }

  let file = """
    # kcsh profiles
    [profiles.default]
    base_url = "http://default.example"
    api_key_env = "DEFAULT_KEY"

    [profiles.prod]
    base_url = "https://prod.example/"   # trailing slash dropped
    api_key_command = "printf 'prod-key-from-command\\n'"
    max_retries = 5
    retry_conflicts = true

    [ci]
    base_url = 'http://ci.example'
    client_id = "ci-client"
    client_secret_env = "CI_SECRET"
    """

  func testDefaults() throws {
    let c = try resolve([:])
    XCTAssertEqual(c.baseURL, "https://api.keycard.ai")
    XCTAssertFalse(c.hasCredentials)
    XCTAssertEqual(c.maxRetries, 2)
    XCTAssertFalse(c.retryConflicts)
    XCTAssertTrue(try resolve(["KCSH_RETRY_CONFLICTS": "1"]).retryConflicts)
    XCTAssertEqual(c.connectTimeoutMs, 5_000)
    XCTAssertEqual(c.timeoutMs, 60_000)
  }

  func testEnvironment() throws {
    let c = try resolve([
      "KEYCARD_API_BASE_URL": "http://127.0.0.1:9/", "KEYCARD_API_API_KEY": "env-key-123",
      "KEYCARD_API_CUSTOM_HEADERS": "X-A: 1\nX-B: two\n\nbogus",
    ])
    XCTAssertEqual(c.baseURL, "http://127.0.0.1:9")
    XCTAssertEqual(key(c), "env-key-123")
    XCTAssertEqual(c.customHeaders, ["X-A: 1", "X-B: two"])
    XCTAssertEqual(c.credentialSource, "environment")
    let cc = try resolve(["KEYCARD_API_CLIENT_ID": "id1", "KEYCARD_API_CLIENT_SECRET": "s3cretvalue"])
    guard case .clientCredentials(let id, let secret) = cc.credentials else { return XCTFail() }
    XCTAssertEqual(id, "id1")
    XCTAssertEqual(secret.value, "s3cretvalue")
  }

  func testProfilesAndPrecedence() throws {
    writeConfig(file)
    // No flag: the "default" profile, under the environment.
    var c = try resolve(["DEFAULT_KEY": "default-key-1"])
    XCTAssertEqual(c.baseURL, "http://default.example")
    XCTAssertEqual(key(c), "default-key-1")
    c = try resolve(["DEFAULT_KEY": "default-key-1", "KEYCARD_API_API_KEY": "env-key-123"])
    XCTAssertEqual(key(c), "env-key-123")  // environment beats profile
    c = try resolve(["DEFAULT_KEY": "d", "KEYCARD_API_BASE_URL": "http://env.example"])
    XCTAssertEqual(c.baseURL, "http://env.example")
    // KCSH_PROFILE picks a profile; the environment still beats it.
    c = try resolve(["KCSH_PROFILE": "prod"])
    XCTAssertEqual(c.baseURL, "https://prod.example")
    XCTAssertEqual(key(c), "prod-key-from-command")
    XCTAssertEqual(c.maxRetries, 5)
    XCTAssertTrue(c.retryConflicts)
    XCTAssertFalse(try resolve(["KCSH_PROFILE": "prod", "KCSH_RETRY_CONFLICTS": "0"]).retryConflicts)
    c = try resolve(["KCSH_PROFILE": "prod", "KEYCARD_API_API_KEY": "env-key-123"])
    XCTAssertEqual(key(c), "env-key-123")
    // --profile is a flag: it beats the environment.
    c = try resolve(["KEYCARD_API_API_KEY": "env-key-123", "KEYCARD_API_BASE_URL": "http://env.example"], profile: "prod")
    XCTAssertEqual(key(c), "prod-key-from-command")
    XCTAssertEqual(c.baseURL, "https://prod.example")
    XCTAssertEqual(c.profile, "prod")
    XCTAssertEqual(c.credentialSource, "profile 'prod'")
    // --profile beats KCSH_PROFILE.
    c = try resolve(["KCSH_PROFILE": "prod", "CI_SECRET": "ci-secret-value"], profile: "ci")
    guard case .clientCredentials(let id, let secret) = c.credentials else { return XCTFail() }
    XCTAssertEqual(id, "ci-client")
    XCTAssertEqual(secret.value, "ci-secret-value")
  }

  func testCredentialsGoOnlyToTheirOwnOrAStrongerURL() throws {
    let marker = dir + "/command-ran"
    writeConfig("""
      [profiles.default]
      base_url = "http://staging.example"
      api_key_command = "touch \(marker); echo staging-key-123"
      """)
    // The environment's key (no URL of its own) is not sent to the weaker
    // profile's URL, and the profile's secret command never runs.
    var c = try resolve(["KEYCARD_API_API_KEY": "env-key-123"])
    XCTAssertEqual(key(c), "env-key-123")
    XCTAssertEqual(c.baseURL, "https://api.keycard.ai")
    XCTAssertEqual(access(marker, F_OK), -1)
    // The profile's key goes to its URL, or to a stronger one.
    c = try resolve([:])
    XCTAssertEqual(key(c), "staging-key-123")
    XCTAssertEqual(c.baseURL, "http://staging.example")
    XCTAssertEqual(access(marker, F_OK), 0)
    unlink(marker)
    c = try resolve(["KEYCARD_API_BASE_URL": "http://self-hosted.example"])
    XCTAssertEqual(key(c), "staging-key-123")
    XCTAssertEqual(c.baseURL, "http://self-hosted.example")
  }

  func testProfileErrors() throws {
    writeConfig(file)
    XCTAssertThrowsError(try resolve([:], profile: "nope")) { e in
      XCTAssertTrue("\(e)".contains("no profile 'nope'"), "\(e)")
      XCTAssertTrue("\(e)".contains("ci, default, prod"), "\(e)")
    }
    XCTAssertThrowsError(try resolve([:], profile: "ci")) { e in
      XCTAssertTrue("\(e)".contains("$CI_SECRET, which is not set"), "\(e)")
    }
    writeConfig("[p]\napi_key_command = \"echo leaked-output; exit 3\"\n")
    XCTAssertThrowsError(try resolve([:], profile: "p")) { e in
      let text = "\(e)"
      XCTAssertTrue(text.contains("failed (exit status 3)"), text)
      XCTAssertFalse(text.contains("leaked-output"), text)
    }
    writeConfig("[p]\nbase_url = \n")
    XCTAssertThrowsError(try resolve([:], profile: "p")) { e in
      XCTAssertTrue("\(e)".contains("config.toml:2"), "\(e)")
    }
  }

  func testSecretInReadableFileIsRefused() throws {
    let text = "[prod]\nbase_url = \"https://x\"\napi_key = \"literal-secret-key\"\n"
    writeConfig(text, mode: 0o644)
    XCTAssertThrowsError(try resolve([:], profile: "prod")) { e in
      let msg = "\(e)"
      XCTAssertTrue(msg.contains("readable by group or others (mode 644)"), msg)
      XCTAssertTrue(msg.contains("chmod 600"), msg)
      XCTAssertTrue(msg.contains("api_key in profile 'prod', line 3"), msg)
      XCTAssertFalse(msg.contains("literal-secret-key"), msg)
    }
    // Refused even when another profile is asked for: the file is exposed.
    XCTAssertThrowsError(try resolve([:]))
    writeConfig(text, mode: 0o640)
    XCTAssertThrowsError(try resolve([:], profile: "prod"))
    writeConfig(text, mode: 0o600)
    XCTAssertEqual(key(try resolve([:], profile: "prod")), "literal-secret-key")
    // No secret in it: any mode will do.
    writeConfig("[prod]\nbase_url = \"https://x\"\napi_key_env = \"K\"\n", mode: 0o644)
    XCTAssertEqual(key(try resolve(["K": "from-env-var"], profile: "prod")), "from-env-var")
  }
}
