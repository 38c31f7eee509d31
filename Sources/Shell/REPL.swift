import LuaKit

/// The interactive loop (stub: the REPL issue fills it in).
public struct REPL {
  let state: LuaState

  public init(state: LuaState) { self.state = state }

  /// Reads, evaluates and prints until end of input; returns the exit status.
  public func run() -> Int32 { 0 }
}
