@preconcurrency import Glibc
import KeycardClient
import Synchronization

/// kcsh's own sandbox, for `--sandbox` and when nothing names credentials:
/// `kcsh-sandbox` (next to the kcsh binary) as a SandboxChild with the demo
/// data, stopped when kcsh ends.
enum ShellSandbox {
  typealias Failure = SandboxChild.Failure

  /// The running child; read by the atexit handler (os.exit ends the process
  /// from inside Lua).
  private static let child = Mutex<SandboxChild?>(nil)
  /// Registers the handler the first time it is read (a static let runs once).
  private static let stopAtExit: Void = { atexit { ShellSandbox.stopRunning() } }()

  /// Starts the child, sets KEYCARD_API_BASE_URL and KEYCARD_API_API_KEY in
  /// kcsh's environment (for programs the script runs) and returns both.
  static func start() throws(Failure) -> (url: String, key: String) {
    guard let path = SandboxChild.besideExecutable else {
      throw Failure(message: "--sandbox: cannot find kcsh's own directory")
    }
    guard access(path, X_OK) == 0 else {
      throw Failure(message: "--sandbox needs kcsh-sandbox next to kcsh, and \(path) is missing")
    }
    let started = try SandboxChild(path: path, arguments: ["--port", "0", "--demo", "--exit-with-stdin"])
    child.withLock { $0 = started }
    _ = stopAtExit
    setenv("KEYCARD_API_BASE_URL", started.baseURL, 1)
    setenv("KEYCARD_API_API_KEY", started.apiKey, 1)
    return (started.baseURL, started.apiKey)
  }

  /// Stops the child, if one runs.
  static func stopRunning() {
    child.withLock { $0.take() }?.stop()
  }
}
