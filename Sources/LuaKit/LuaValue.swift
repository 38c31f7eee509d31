import Glibc
import CLua
import LuaShim

/// A Lua value copied into Swift. Tables are copied deeply; functions,
/// userdata and threads are held by reference.
public enum LuaValue: Hashable {
  case `nil`
  case boolean(Bool)
  case integer(Int64)
  case number(Double)
  case string(LuaString)
  case table(LuaTable)
  case reference(LuaRef)

  public var isNil: Bool { if case .nil = self { true } else { false } }

  /// The text of a string value (bytes decoded as UTF-8, lossily).
  public var text: String? { if case .string(let s) = self { s.text } else { nil } }
}

extension LuaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
  ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
  public init(stringLiteral value: String) { self = .string(LuaString(value)) }
  public init(integerLiteral value: Int64) { self = .integer(value) }
  public init(floatLiteral value: Double) { self = .number(value) }
  public init(booleanLiteral value: Bool) { self = .boolean(value) }
  public init(nilLiteral: ()) { self = .nil }
  public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
  public init(dictionaryLiteral elements: (LuaValue, LuaValue)...) {
    self = .table(LuaTable(hash: Dictionary(elements, uniquingKeysWith: { $1 })))
  }
}

/// A Lua string: bytes, not necessarily UTF-8.
public struct LuaString: Hashable, Sendable, CustomStringConvertible {
  public var bytes: [UInt8]
  public init(_ text: String) { bytes = Array(text.utf8) }
  public init(bytes: [UInt8]) { self.bytes = bytes }
  public var text: String { String(decoding: bytes, as: UTF8.self) }
  public var description: String { text }
}

/// A Lua table copied into Swift: keys 1...n in `array`, the rest in `hash`.
public struct LuaTable: Hashable {
  public var array: [LuaValue]
  public var hash: [LuaValue: LuaValue]
  public init(array: [LuaValue] = [], hash: [LuaValue: LuaValue] = [:]) {
    self.array = array
    self.hash = hash
  }

  public subscript(key: LuaValue) -> LuaValue {
    if case .integer(let i) = key, i >= 1, i <= array.count { return array[Int(i - 1)] }
    return hash[key] ?? .nil
  }
}

/// A Lua value (a function, userdata or thread; or any value, from
/// `LuaState.ref(at:)`) kept alive in the registry while Swift holds it.
/// Use it on the Lua thread only. Once its VM is closed it is inert.
///
/// Not Sendable: only its owner thread may touch the state. Should one still
/// be released elsewhere (inside a thrown LuaError), it leaves its registry
/// slot taken (a small leak) rather than race with Lua.
public final class LuaRef: Hashable {
  let ref: Int32
  weak var vm: LuaVM?
  public let type: LuaType
  private let thread = pthread_self()

  init(ref: Int32, vm: LuaVM?, type: LuaType) {
    self.ref = ref
    self.vm = vm
    self.type = type
  }

  deinit {
    guard pthread_equal(thread, pthread_self()) != 0, let vm else { return }
    // The main thread may be suspended in a resume with a full frame: room
    // for luaL_unref's two pushes first (it does not allocate otherwise).
    if lua_checkstack(vm.L, 2) != 0 { luaL_unref(vm.L, kcsh_registryindex(), ref) }
  }

  public static func == (a: LuaRef, b: LuaRef) -> Bool { a === b }
  public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
}

/// The basic types of Lua, as `lua_type` reports them.
public enum LuaType: Int32, Sendable {
  case none = -1, `nil` = 0, boolean, lightUserdata, number, string, table, function,
    userdata, thread

  /// The name `type()` gives in Lua.
  public var name: String {
    switch self {
    case .none: "no value"
    case .nil: "nil"
    case .boolean: "boolean"
    case .lightUserdata, .userdata: "userdata"
    case .number: "number"
    case .string: "string"
    case .table: "table"
    case .function: "function"
    case .thread: "thread"
    }
  }
}
