/// A JSON request body, checked field by field so each mistake gets its own message.
struct Body {
  let fields: [String: JSON]

  /// An empty body counts as `{}` (clients send DELETE and some POSTs without one).
  init(_ bytes: [UInt8]) throws(APIError) {
    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
      fields = [:]
      return
    }
    let v: JSON
    do { v = try JSONParser.parse(bytes) } catch { throw APIError(400, "invalid_json", error.message) }
    guard case .object(let o) = v else {
      throw APIError(400, "invalid_json", "the request body must be a JSON object, not \(v.typeName)")
    }
    fields = o
  }

  /// Tri-state for PATCH: absent leaves a field alone, null clears it.
  enum Field<T: Sendable>: Sendable {
    case absent, null, value(T)
    var value: T? { if case .value(let v) = self { return v }; return nil }
  }

  func string(_ name: String, maxLength: Int = 255, minLength: Int = 1, nullable: Bool = false) throws(APIError) -> Field<String> {
    guard let v = fields[name] else { return .absent }
    switch v {
    case .null:
      if nullable { return .null }
      throw APIError.invalidField(name, "must be a string, not null")
    case .string(let s):
      let n = s.count
      if n < minLength { throw APIError.invalidField(name, minLength == 1 ? "must not be empty" : "must be at least \(minLength) characters") }
      if n > maxLength { throw APIError.invalidField(name, "must be at most \(maxLength) characters") }
      return .value(s)
    default:
      throw APIError.invalidField(name, "must be a string, not \(v.typeName)")
    }
  }

  func requiredString(_ name: String, maxLength: Int = 255) throws(APIError) -> String {
    guard let s = try string(name, maxLength: maxLength).value else { throw APIError.invalidField(name, "is required") }
    return s
  }

  func enumValue(_ name: String, _ allowed: [String]) throws(APIError) -> String? {
    guard let v = fields[name] else { return nil }
    guard case .string(let s) = v else { throw APIError.invalidField(name, "must be a string, not \(v.typeName)") }
    guard allowed.contains(s) else {
      throw APIError.invalidField(name, "must be one of \(allowed.joined(separator: ", ")), got '\(s.prefix(100))'")
    }
    return s
  }

  func email(_ name: String) throws(APIError) -> String {
    let s = try requiredString(name, maxLength: 254)
    guard isEmail(s) else { throw APIError.invalidField(name, "is not a valid email address") }
    return s
  }
}

enum Roles {
  static let organization = ["org_admin", "org_member", "org_viewer"]
  static let userStatus = ["active", "disabled"]
  static let all: [(name: String, label: String, description: String, scope: String)] = [
    ("org_admin", "Organization admin", "Full control of the organization: members, invitations, service accounts and SSO.", "organization"),
    ("org_member", "Organization member", "Uses the organization's resources and sees its members.", "organization"),
    ("org_viewer", "Organization viewer", "Read-only access to the organization.", "organization"),
    ("zone_manager", "Zone manager", "Manages the zone's applications, resources and policies.", "zone"),
    ("zone_viewer", "Zone viewer", "Read-only access to the zone.", "zone"),
  ]
}

/// addr-spec with a dot-atom local part and a DNS domain: what mail systems accept.
func isEmail(_ s: String) -> Bool {
  let parts = s.split(separator: "@", omittingEmptySubsequences: false)
  guard parts.count == 2 else { return false }
  let local = parts[0], domain = parts[1]
  guard (1...64).contains(local.utf8.count), (1...253).contains(domain.utf8.count) else { return false }
  let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~".utf8)
  for atom in local.split(separator: ".", omittingEmptySubsequences: false) {
    guard !atom.isEmpty, atom.utf8.allSatisfy({ atext.contains($0) }) else { return false }
  }
  let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
  guard labels.count >= 2 else { return false }
  for l in labels {
    guard (1...63).contains(l.utf8.count), l.first != "-", l.last != "-",
      l.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 })
    else { return false }
  }
  return labels.last!.utf8.contains { !($0 >= 48 && $0 <= 57) }
}
