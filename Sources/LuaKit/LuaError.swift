import LuaShim

/// An error raised in Lua, or to be raised in Lua by a Swift function.
///
/// `message` is readable text; `value` keeps the original error value when it
/// was not a string (a table with fields, say), so callers get the structure.
public struct LuaError: Error, CustomStringConvertible {
  public var message: String
  public var traceback: String?
  public var value: LuaValue?

  public init(_ message: String, traceback: String? = nil, value: LuaValue? = nil) {
    self.message = message
    self.traceback = traceback
    self.value = value
  }

  /// An error whose Lua value is `value` (raised as is, not as a string).
  public init(value: LuaValue, message: String) {
    self.init(message, value: value)
  }

  public var description: String { traceback ?? message }
}

/// Thrown by a Swift function to report a bad argument; Lua formats it as
/// `bad argument #n to 'f' (message)`, exactly as the standard library does.
public struct LuaArgumentError: Error, CustomStringConvertible {
  public var argument: Int32
  public var message: String

  public init(_ argument: Int32, _ message: String) {
    self.argument = argument
    self.message = message
  }

  public var description: String { "bad argument #\(argument) (\(message))" }
}
