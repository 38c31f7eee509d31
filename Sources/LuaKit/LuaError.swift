import LuaShim

/// An error raised in Lua, or to be raised in Lua by a Swift function.
///
/// `message` is readable text; `value` is a Swift copy of the error value that
/// was raised (a table with fields, say), so callers get the structure. An
/// error thrown out of Lua and rethrown by a Swift function raises the very
/// value Lua raised (same table, same metatable), not the copy.
///
/// Swift makes every Error Sendable, and its Lua values are not (LuaRef): they
/// are only read on the Lua thread that raised them.
public struct LuaError: Error, @unchecked Sendable, CustomStringConvertible {
  public var message: String
  public var traceback: String?
  public var value: LuaValue?
  /// The raised value itself, when a copy would differ (tables, userdata).
  var original: LuaRef?

  public init(_ message: String, traceback: String? = nil, value: LuaValue? = nil) {
    self.message = message
    self.traceback = traceback
    self.value = value
  }

  /// An error whose Lua value is `value` (raised as is, not as a string).
  public init(value: LuaValue, message: String) {
    self.init(message, value: value)
  }

  init(_ message: String, traceback: String? = nil, value: LuaValue, original: LuaRef?) {
    self.init(message, traceback: traceback, value: value)
    self.original = original
  }

  public var description: String { traceback ?? message }

  /// Pushes the value to raise in Lua for this error.
  func push(onto state: LuaState) {
    if let original, original.vm === state.vm {
      state.push(original)
    } else if let value, !value.isNil {
      state.push(value)
    } else {
      state.push(message)
    }
  }
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

/// An error type that knows which Lua value stands for it (a table with
/// fields and a metatable, say). When a Swift function throws one, the value
/// it pushes is what Lua raises.
public protocol LuaErrorConvertible: Error {
  /// Pushes exactly one value: the error to raise.
  func pushLuaError(onto state: LuaState)
}
