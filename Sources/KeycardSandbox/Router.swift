/// Maps method and path to a route. Unknown paths are 404, known paths with another
/// method 405 (with Allow); everything but the public routes needs credentials.
enum Router {
  static func dispatch(_ c: Call, _ sb: SandboxServer) async throws -> Reply {
    let s = c.segments
    let n = s.count
    func allow(_ methods: String...) throws(APIError) {
      guard methods.contains(c.method) else {
        var e = APIError(405, "method_not_allowed", "\(c.method) is not allowed on this path (allowed: \(methods.joined(separator: ", ")))")
        e.headers.append(("Allow", methods.joined(separator: ", ")))
        throw e
      }
    }
    guard n >= 1 else { throw APIError(404, "not_found", "no such route") }

    // Routes without credentials.
    switch s[0] {
    case "openapi.json" where n == 1:
      try allow("GET")
      var r = Reply(body: OpenAPI.document)
      r.contentType = "application/json"
      return r
    case "_sandbox" where n == 2:
      return try sb.sandboxRoute(c, s[1], allow: allow)
    case "service-account-token" where n == 1:
      try allow("POST")
      return try await sb.clientCredentials(c)
    case "invitations" where n == 2:
      try allow("GET")
      return try await sb.publicInvitation(token: s[1])
    case "invitations" where n == 3 && s[2] == "accept":
      try allow("POST")
      return try await sb.acceptInvitation(token: s[1], c)
    case "organizations":
      break
    default:
      throw APIError(404, "not_found", "no such route: /\(s.joined(separator: "/"))")
    }

    // /organizations/... : check the shape first so an unknown route is a 404 even
    // without credentials.
    let shape: Shape
    switch n {
    case 1: shape = .orgs
    case 2: shape = .org
    case 3:
      switch s[2] {
      case "token": shape = .token
      case "roles": shape = .roles
      case "identities": shape = .identities
      case "users": shape = .users
      case "invitations": shape = .invitations
      case "service-accounts": shape = .serviceAccounts
      case "sso-connection": shape = .sso
      default: throw APIError(404, "not_found", "no such route")
      }
    case 4:
      switch s[2] {
      case "users": shape = .user
      case "invitations": shape = .invitation
      case "service-accounts": shape = .serviceAccount
      default: throw APIError(404, "not_found", "no such route")
      }
    case 5 where s[2] == "service-accounts" && s[4] == "credentials": shape = .credentials
    case 6 where s[2] == "service-accounts" && s[4] == "credentials": shape = .credential
    default: throw APIError(404, "not_found", "no such route")
    }
    switch shape {
    case .orgs: try allow("GET", "POST")
    case .org: try allow("GET", "PATCH")
    case .token: try allow("POST")
    case .roles, .identities, .users: try allow("GET")
    case .invitations, .serviceAccounts, .credentials: try allow("GET", "POST")
    case .user, .serviceAccount, .credential: try allow("GET", "PATCH", "DELETE")
    case .invitation: try allow("DELETE")
    case .sso: try allow("GET", "POST", "PATCH", "DELETE")
    }

    let who = try await sb.authenticate(c)
    let req = OrgRequest(call: c, principal: who, org: n > 1 ? s[1] : "")
    switch (shape, c.method) {
    case (.orgs, "GET"): return try await sb.listOrganizations(req)
    case (.orgs, _): return try await sb.createOrganization(req)
    case (.org, "GET"): return try await sb.getOrganization(req)
    case (.org, _): return try await sb.updateOrganization(req)
    case (.token, _): return try await sb.exchangeToken(req)
    case (.roles, _): return try await sb.listRoles(req)
    case (.identities, _): return try await sb.listIdentities(req)
    case (.users, _): return try await sb.listUsers(req)
    case (.user, "GET"): return try await sb.getUser(req, s[3])
    case (.user, "PATCH"): return try await sb.updateUser(req, s[3])
    case (.user, _): return try await sb.deleteUser(req, s[3])
    case (.invitations, "GET"): return try await sb.listInvitations(req)
    case (.invitations, _): return try await sb.createInvitation(req)
    case (.invitation, _): return try await sb.deleteInvitation(req, s[3])
    case (.serviceAccounts, "GET"): return try await sb.listServiceAccounts(req)
    case (.serviceAccounts, _): return try await sb.createServiceAccount(req)
    case (.serviceAccount, "GET"): return try await sb.getServiceAccount(req, s[3])
    case (.serviceAccount, "PATCH"): return try await sb.updateServiceAccount(req, s[3])
    case (.serviceAccount, _): return try await sb.deleteServiceAccount(req, s[3])
    case (.credentials, "GET"): return try await sb.listCredentials(req, sa: s[3])
    case (.credentials, _): return try await sb.createCredential(req, sa: s[3])
    case (.credential, "GET"): return try await sb.getCredential(req, sa: s[3], s[5])
    case (.credential, "PATCH"): return try await sb.updateCredential(req, sa: s[3], s[5])
    case (.credential, _): return try await sb.deleteCredential(req, sa: s[3], s[5])
    case (.sso, "GET"): return try await sb.getSSO(req)
    case (.sso, "POST"): return try await sb.enableSSO(req)
    case (.sso, "PATCH"): return try await sb.updateSSO(req)
    case (.sso, _): return try await sb.disableSSO(req)
    }
  }

  private enum Shape {
    case orgs, org, token, roles, identities, users, user, invitations, invitation
    case serviceAccounts, serviceAccount, credentials, credential, sso
  }
}

/// An authenticated request under /organizations.
struct OrgRequest: Sendable {
  let call: Call
  let principal: Principal
  /// The {organization_id} path segment: an ID or a label.
  let org: String
}
