/// /_sandbox/*: controls for tests, never faulted and never recorded.
extension SandboxServer {
  func sandboxRoute(_ c: Call, _ name: String, allow: (String...) throws(APIError) -> Void) throws -> Reply {
    switch name {
    case "outbox":
      try allow("GET", "DELETE")
      if c.method == "DELETE" { outbox.clear(); return .noContent }
      return Reply(body: outbox.json(to: try c.query.one("to")))
    case "requests":
      try allow("GET", "DELETE")
      if c.method == "DELETE" { requests.clear(); return .noContent }
      var limit = requests.capacity
      if let l = try c.query.one("limit") {
        guard let n = Int(l), n >= 1 else { throw APIError.badParameter("limit", "must be a positive integer") }
        limit = n
      }
      return Reply(body: requests.json(limit: limit))
    case "faults":
      try allow("GET", "PUT")
      if c.method == "PUT" {
        let b = try Body(c.body)
        let text: String
        switch b.fields["spec"] {
        case .string(let s)?: text = s
        case .null?, nil: text = ""
        case let v?: throw APIError.invalidField("spec", "must be a string, not \(v.typeName)")
        }
        var seed: UInt64?
        switch b.fields["seed"] {
        case .number(let d)? where d >= 0 && d == d.rounded() && d < 1.8e19: seed = UInt64(d)
        case .null?, nil: break
        case _?: throw APIError.invalidField("seed", "must be a non-negative integer")
        }
        faults.set(try FaultSpec(text), seed: seed)
      }
      let (spec, seed) = faults.current
      return Reply(body: entityBody { w in
        w.beginObject()
        w.field("spec", spec)
        w.key("seed")
        w.raw(String(seed))
        w.endObject()
      })
    default:
      throw APIError(404, "not_found", "no such route: /_sandbox/\(name.prefix(100))")
    }
  }
}
