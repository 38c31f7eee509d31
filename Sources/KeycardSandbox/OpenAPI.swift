/// The OpenAPI 3.0 document of what the sandbox serves (GET /openapi.json, no auth).
/// schemathesis runs against it, so every status an operation can answer is listed.
enum OpenAPI {
  static let document: [UInt8] = {
    var w = JSONWriter(capacity: 64 * 1024)
    w.value(spec)
    return w.bytes
  }()

  // MARK: building blocks

  private static func ref(_ name: String) -> JSON { ["$ref": .string("#/components/schemas/\(name)")] }
  private static let string: JSON = ["type": "string"]
  private static let boolean: JSON = ["type": "boolean"]
  private static let dateTime: JSON = ["type": "string", "format": "date-time"]
  private static let id: JSON = ["type": "string", "minLength": 1, "maxLength": 255]
  private static let roleEnum: JSON = ["type": "string", "enum": ["org_admin", "org_member", "org_viewer"]]

  private static func object(_ props: [String: JSON], required: [String] = [], nullable: Bool = false) -> JSON {
    var o: [String: JSON] = ["type": "object", "properties": .object(props)]
    if !required.isEmpty { o["required"] = .array(required.map { .string($0) }) }
    if nullable { o["nullable"] = true }
    return .object(o)
  }

  private static func list(_ item: String, extra: [String: JSON] = [:], required: [String] = []) -> JSON {
    var props: [String: JSON] = ["items": ["type": "array", "items": ref(item)], "page_info": ref("PageInfoCursor"), "permissions": ref("Permissions")]
    for (k, v) in extra { props[k] = v }
    return object(props, required: ["items", "page_info"] + required)
  }

  private static func pathParam(_ name: String) -> JSON {
    ["name": .string(name), "in": "path", "required": true, "schema": ["type": "string", "minLength": 1]]
  }

  private static func queryParam(_ name: String, _ schema: JSON, _ description: String) -> JSON {
    ["name": .string(name), "in": "query", "required": false, "schema": schema, "description": .string(description)]
  }

  private static let expand = queryParam(
    "expand", ["type": "array", "items": ["type": "string", "enum": ["permissions", "total_count"]]],
    "permissions fills the permissions map; total_count fills pagination.total_count (identities). The expand[] spelling is accepted too.")
  private static let pageParams: [JSON] = [
    queryParam("after", ["type": "string", "maxLength": 255], "Cursor for forward pagination (an end_cursor)"),
    queryParam("before", ["type": "string", "maxLength": 255], "Cursor for backward pagination (a start_cursor)"),
    queryParam("limit", ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100], "Page size"),
    expand,
  ]

  private static func errors(_ codes: [Int]) -> [String: JSON] {
    var out: [String: JSON] = [:]
    for c in codes {
      out[String(c)] = ["description": "Error", "content": ["application/json": ["schema": ref("Error")]]]
    }
    return out
  }

  /// One operation: `ok` is the success status, `body` a schema name for the JSON body.
  private static func op(
    _ id: String, _ summary: String, tag: String, ok: Int, result: String?, body: String? = nil, bodyRequired: Bool = true,
    params: [JSON] = [], errorCodes: [Int] = [400, 401, 403, 404, 422], secured: Bool = true
  ) -> JSON {
    var responses = errors(errorCodes + [405, 413, 429, 500, 502, 503, 504].filter { !errorCodes.contains($0) })
    if let result {
      responses[String(ok)] = ["description": "Success", "content": ["application/json": ["schema": ref(result)]]]
    } else {
      responses[String(ok)] = ["description": "Success (no content)"]
    }
    var o: [String: JSON] = [
      "operationId": .string(id), "summary": .string(summary), "tags": [.string(tag)], "responses": .object(responses),
      "parameters": .array(params + [["name": "X-Client-Request-ID", "in": "header", "required": false, "schema": ["type": "string"]]]),
    ]
    if let body {
      o["requestBody"] = ["required": .bool(bodyRequired), "content": ["application/json": ["schema": ref(body)]]]
    }
    if !secured { o["security"] = [] }
    return .object(o)
  }

  /// Links from each create (a 201 POST on a collection) to the operations on what it
  /// created, so schemathesis's stateful phase reaches real rows instead of 404s.
  private static func addLinks(_ paths: inout [String: JSON]) {
    for (collection, item) in paths {
      guard case .object(var ops) = item, case .object(var post)? = ops["post"],
        case .object(var responses)? = post["responses"], case .object(var created)? = responses["201"]
      else { continue }
      var links: [String: JSON] = [:]
      for (path, targetItem) in paths where path.hasPrefix(collection + "/{") {
        let rest = path.dropFirst(collection.count + 2)
        guard let close = rest.firstIndex(of: "}") else { continue }
        let newParam = String(rest[..<close])
        guard case .object(let targetOps) = targetItem else { continue }
        for (_, t) in targetOps {
          guard case .string(let opID)? = t["operationId"] else { continue }
          var params: [String: JSON] = [newParam: "$response.body#/id"]
          var scan = Substring(path)
          var reachable = true
          while let open = scan.firstIndex(of: "{"), let end = scan[open...].firstIndex(of: "}") {
            let name = String(scan[scan.index(after: open)..<end])
            if name != newParam {
              // only parameters the create's own path has can be carried over
              if collection.contains("{\(name)}") { params[name] = .string("$request.path.\(name)") } else { reachable = false }
            }
            scan = scan[scan.index(after: end)...]
          }
          if reachable { links[opID] = ["operationId": .string(opID), "parameters": .object(params)] }
        }
      }
      guard !links.isEmpty else { continue }
      created["links"] = .object(links)
      responses["201"] = .object(created)
      post["responses"] = .object(responses)
      ops["post"] = .object(post)
      paths[collection] = .object(ops)
    }
  }

  // MARK: the document

  static let spec: JSON = {
    let org = pathParam("organization_id")
    let sa = pathParam("service_account_id")
    var paths: [String: JSON] = [:]
    paths["/organizations"] = [
      "get": op("listOrganizations", "List organizations", tag: "organizations", ok: 200, result: "OrganizationList", params: pageParams),
      "post": op("createOrganization", "Create an organization", tag: "organizations", ok: 201, result: "Organization", body: "OrganizationCreate", bodyRequired: false, params: [expand]),
    ]
    paths["/organizations/{organization_id}"] = [
      "get": op("getOrganization", "Get an organization by ID or label", tag: "organizations", ok: 200, result: "Organization", params: [org, expand]),
      "patch": op("updateOrganization", "Update an organization", tag: "organizations", ok: 200, result: "Organization", body: "OrganizationUpdate", bodyRequired: false, params: [org, expand]),
    ]
    paths["/organizations/{organization_id}/token"] = [
      "post": op("exchangeToken", "Exchange the caller's credentials for an organization token", tag: "organizations", ok: 200, result: "TokenResponse", params: [org])
    ]
    paths["/organizations/{organization_id}/roles"] = [
      "get": op("listRoles", "List available roles", tag: "organizations", ok: 200, result: "RoleList",
        params: [org, queryParam("scope", ["type": "string", "enum": ["organization", "zone"]], "Filter by scope"), expand])
    ]
    paths["/organizations/{organization_id}/identities"] = [
      "get": op("listIdentities", "List users and invitations", tag: "organizations", ok: 200, result: "IdentityList",
        params: [org, queryParam("role", roleEnum, "Filter by role"), queryParam("query[email]", string, "Case-insensitive email substring")] + pageParams)
    ]
    paths["/organizations/{organization_id}/users"] = [
      "get": op("listUsers", "List users", tag: "users", ok: 200, result: "UserList", params: [org, queryParam("role", roleEnum, "Filter by role")] + pageParams)
    ]
    paths["/organizations/{organization_id}/users/{user_id}"] = [
      "get": op("getUser", "Get a user", tag: "users", ok: 200, result: "OrganizationUser", params: [org, pathParam("user_id"), expand]),
      "patch": op("updateUser", "Update a user's role or status", tag: "users", ok: 200, result: "OrganizationUser", body: "UserUpdate", bodyRequired: false, params: [org, pathParam("user_id"), expand]),
      "delete": op("deleteUser", "Remove a user from the organization", tag: "users", ok: 204, result: nil, params: [org, pathParam("user_id")]),
    ]
    paths["/organizations/{organization_id}/invitations"] = [
      "get": op("listInvitations", "List invitations", tag: "invitations", ok: 200, result: "InvitationList", params: [org] + pageParams),
      "post": op("createInvitation", "Invite someone by email", tag: "invitations", ok: 201, result: "Invitation", body: "InvitationCreate", params: [org, expand],
        errorCodes: [400, 401, 403, 404, 409, 422]),
    ]
    paths["/organizations/{organization_id}/invitations/{invitation_id}"] = [
      "delete": op("deleteInvitation", "Delete an invitation", tag: "invitations", ok: 204, result: nil, params: [org, pathParam("invitation_id")])
    ]
    paths["/organizations/{organization_id}/service-accounts"] = [
      "get": op("listServiceAccounts", "List service accounts", tag: "service-accounts", ok: 200, result: "ServiceAccountList", params: [org] + pageParams),
      "post": op("createServiceAccount", "Create a service account", tag: "service-accounts", ok: 201, result: "ServiceAccount", body: "ServiceAccountCreate", params: [org, expand]),
    ]
    paths["/organizations/{organization_id}/service-accounts/{service_account_id}"] = [
      "get": op("getServiceAccount", "Get a service account", tag: "service-accounts", ok: 200, result: "ServiceAccount", params: [org, sa, expand]),
      "patch": op("updateServiceAccount", "Update a service account", tag: "service-accounts", ok: 200, result: "ServiceAccount", body: "ServiceAccountUpdate", bodyRequired: false, params: [org, sa, expand]),
      "delete": op("deleteServiceAccount", "Delete a service account and its credentials", tag: "service-accounts", ok: 204, result: nil, params: [org, sa]),
    ]
    paths["/organizations/{organization_id}/service-accounts/{service_account_id}/credentials"] = [
      "get": op("listCredentials", "List credentials", tag: "credentials", ok: 200, result: "CredentialList", params: [org, sa] + pageParams),
      "post": op("createCredential", "Create a credential (the only answer holding client_secret)", tag: "credentials", ok: 201, result: "CredentialCreated", body: "CredentialCreate", params: [org, sa]),
    ]
    paths["/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}"] = [
      "get": op("getCredential", "Get a credential", tag: "credentials", ok: 200, result: "ServiceAccountCredential", params: [org, sa, pathParam("credential_id"), expand]),
      "patch": op("updateCredential", "Update a credential", tag: "credentials", ok: 200, result: "ServiceAccountCredential", body: "CredentialUpdate", bodyRequired: false, params: [org, sa, pathParam("credential_id"), expand]),
      "delete": op("deleteCredential", "Delete a credential", tag: "credentials", ok: 204, result: nil, params: [org, sa, pathParam("credential_id")]),
    ]
    paths["/organizations/{organization_id}/sso-connection"] = [
      "post": op("enableSSO", "Enable SSO", tag: "sso", ok: 201, result: "SSOConnection", body: "SSOEnable", params: [org, expand], errorCodes: [400, 401, 403, 404, 409, 422]),
      "get": op("getSSO", "Get the SSO connection", tag: "sso", ok: 200, result: "SSOConnection", params: [org, expand]),
      "patch": op("updateSSO", "Update the SSO connection", tag: "sso", ok: 200, result: "SSOConnection", body: "SSOUpdate", bodyRequired: false, params: [org, expand]),
      "delete": op("disableSSO", "Disable SSO", tag: "sso", ok: 204, result: nil, params: [org]),
    ]
    paths["/invitations/{token}"] = [
      "get": op("getInvitationByToken", "What an invitee sees", tag: "invitations", ok: 200, result: "InvitationPublic", params: [pathParam("token")], errorCodes: [400, 404], secured: false)
    ]
    paths["/invitations/{token}/accept"] = [
      "post": op("acceptInvitation", "Accept an invitation: the invitee becomes a user", tag: "invitations", ok: 200, result: "InvitationAccepted",
        params: [pathParam("token")], errorCodes: [400, 404, 409], secured: false)
    ]
    var tokenOp = op("serviceAccountToken", "OAuth 2.0 client credentials grant", tag: "auth", ok: 200, result: "TokenResponse", errorCodes: [400, 401], secured: false)
    if case .object(var o) = tokenOp {
      o["requestBody"] = [
        "required": true,
        "content": ["application/x-www-form-urlencoded": ["schema": object(
          ["grant_type": ["type": "string", "enum": ["client_credentials"]], "client_id": string, "client_secret": string], required: ["grant_type"])]],
      ]
      o["security"] = [["basicAuth": []], [:]]
      tokenOp = .object(o)
    }
    paths["/service-account-token"] = ["post": tokenOp]
    paths["/_sandbox/faults"] = [
      "get": op("getFaults", "Sandbox only: the fault spec in force", tag: "sandbox", ok: 200, result: "FaultSettings", errorCodes: [400], secured: false),
      "put": op("setFaults", "Sandbox only: change the fault spec ('' turns faults off)", tag: "sandbox", ok: 200, result: "FaultSettings", body: "FaultSettings", errorCodes: [400, 422], secured: false),
    ]
    paths["/_sandbox/requests"] = [
      "get": op("listReceivedRequests", "Sandbox only: the last requests received (not /_sandbox ones)", tag: "sandbox", ok: 200, result: "RequestLog",
        params: [queryParam("limit", ["type": "integer", "minimum": 1], "How many of the newest")], errorCodes: [400], secured: false),
      "delete": op("clearReceivedRequests", "Sandbox only: forget received requests", tag: "sandbox", ok: 204, result: nil, errorCodes: [400], secured: false),
    ]
    paths["/_sandbox/outbox"] = [
      "get": op("listOutbox", "Sandbox only: mails sent (invitation tokens)", tag: "sandbox", ok: 200, result: "Outbox",
        params: [queryParam("to", string, "Only mail to this address")], errorCodes: [400], secured: false),
      "delete": op("clearOutbox", "Sandbox only: empty the outbox", tag: "sandbox", ok: 204, result: nil, errorCodes: [400], secured: false),
    ]

    addLinks(&paths)

    let perms: JSON = [
      "type": "object", "additionalProperties": ["type": "object", "additionalProperties": ["type": "boolean"]],
      "description": "Permissions of the caller, only with expand=permissions",
    ]
    let nullableString: JSON = ["type": "string", "nullable": true, "maxLength": 1000]
    let stringList: JSON = ["type": "array", "items": string, "nullable": true]
    let oauth2 = object([
      "authorization_endpoint": ["type": "string", "nullable": true], "authorization_parameters": ["type": "object", "additionalProperties": string, "nullable": true],
      "code_challenge_methods_supported": stringList, "jwks_uri": ["type": "string", "nullable": true],
      "registration_endpoint": ["type": "string", "nullable": true], "scopes_supported": stringList, "token_endpoint": ["type": "string", "nullable": true],
    ], nullable: true)
    let openid = object(["scopes": stringList, "user_identifier_claim": ["type": "string", "nullable": true], "userinfo_endpoint": ["type": "string", "nullable": true]], nullable: true)
    let name: JSON = ["type": "string", "minLength": 1, "maxLength": 255]
    let schemas: [String: JSON] = [
      "Error": object(["message": string, "code": string, "status": ["type": "integer"]], required: ["message", "code", "status"]),
      "Permissions": perms,
      "PageInfoCursor": object(
        ["has_next_page": boolean, "has_prev_page": boolean, "start_cursor": ["type": "string", "minLength": 1, "maxLength": 255], "end_cursor": ["type": "string", "minLength": 1, "maxLength": 255]],
        required: ["has_next_page", "has_prev_page"]),
      "Organization": object(
        ["id": id, "created_at": dateTime, "label": ["type": "string", "maxLength": 63], "name": string, "sso_enabled": boolean, "updated_at": dateTime, "zone_id": string, "permissions": ref("Permissions")],
        required: ["id", "created_at", "label", "name", "sso_enabled", "updated_at", "zone_id"]),
      "OrganizationList": list("Organization"),
      "OrganizationCreate": object(["name": name]),
      "OrganizationUpdate": object(["name": name]),
      "TokenResponse": object(["access_token": string, "token_type": ["type": "string", "enum": ["Bearer"]], "expires_in": ["type": "integer"]], required: ["access_token", "token_type"]),
      "Role": object(["name": string, "label": string, "description": string, "scope": ["type": "string", "enum": ["organization", "zone"]]], required: ["name", "label", "description", "scope"]),
      "RoleList": object(["items": ["type": "array", "items": ref("Role")], "permissions": ref("Permissions")], required: ["items"]),
      "OrganizationUser": object(
        ["id": id, "created_at": dateTime, "email": string, "role": roleEnum, "source": string, "status": ["type": "string", "enum": ["active", "disabled"]], "updated_at": dateTime, "permissions": ref("Permissions")],
        required: ["id", "created_at", "role", "source", "status", "updated_at"]),
      "UserList": list("OrganizationUser"),
      "UserUpdate": object(["role": roleEnum, "status": ["type": "string", "enum": ["active", "disabled"]]]),
      "Identity": object(
        ["id": id, "created_at": dateTime, "email": string, "role": roleEnum, "source": string,
         "status": ["type": "string", "enum": ["active", "disabled", "pending", "accepted", "expired", "revoked"]],
         "type": ["type": "string", "enum": ["user", "invitation"]], "updated_at": dateTime, "permissions": ref("Permissions")],
        required: ["id", "created_at", "email", "role", "source", "status", "type", "updated_at"]),
      "IdentityList": list("Identity", extra: ["pagination": object(["after_cursor": string, "before_cursor": string, "total_count": ["type": "integer", "minimum": 0]])], required: ["pagination"]),
      "Invitation": object(
        ["id": id, "created_at": dateTime, "created_by": id, "email": string, "expires_at": dateTime, "organization_id": id, "role": roleEnum,
         "status": ["type": "string", "enum": ["pending", "accepted", "expired", "revoked"]], "updated_at": dateTime, "permissions": ref("Permissions")],
        required: ["id", "created_at", "created_by", "email", "expires_at", "organization_id", "role", "status", "updated_at"]),
      "InvitationList": list("Invitation"),
      "InvitationCreate": object(["email": ["type": "string", "format": "email", "maxLength": 254], "role": roleEnum], required: ["email", "role"]),
      "InvitationPublic": object(
        ["created_by_name": string, "email": string, "expires_at": dateTime, "organization_name": string, "role": roleEnum,
         "status": ["type": "string", "enum": ["pending", "accepted", "expired", "revoked"]]],
        required: ["created_by_name", "email", "expires_at", "organization_name", "role", "status"]),
      "InvitationAccepted": object(["organization_id": string, "organization_name": string, "success": boolean, "user_id": string], required: ["organization_id", "organization_name", "success"]),
      "ServiceAccount": object(
        ["id": id, "created_at": dateTime, "name": string, "updated_at": dateTime, "description": string, "permissions": ref("Permissions")],
        required: ["id", "created_at", "name", "updated_at"]),
      "ServiceAccountList": list("ServiceAccount"),
      "ServiceAccountCreate": object(["name": name, "description": nullableString], required: ["name"]),
      "ServiceAccountUpdate": object(["name": name, "description": nullableString]),
      "ServiceAccountCredential": object(
        ["id": id, "client_id": string, "created_at": dateTime, "name": string, "description": string, "last_used_at": dateTime, "permissions": ref("Permissions")],
        required: ["id", "client_id", "created_at", "name"]),
      "CredentialCreated": object(
        ["id": id, "client_id": string, "client_secret": string, "created_at": dateTime, "name": string, "description": string],
        required: ["id", "client_id", "client_secret", "created_at", "name"]),
      "CredentialList": list("ServiceAccountCredential"),
      "CredentialCreate": object(["name": name, "description": nullableString], required: ["name"]),
      "CredentialUpdate": object(["name": name, "description": nullableString]),
      "SSOProtocols": object(["oauth2": oauth2, "openid": openid], nullable: true),
      "SSOConnection": object(
        ["id": string, "client_id": string, "client_secret_set": boolean, "created_at": dateTime, "identifier": ["type": "string", "minLength": 1, "maxLength": 2048],
         "updated_at": dateTime, "protocols": ref("SSOProtocols"), "permissions": ref("Permissions")],
        required: ["id", "client_id", "client_secret_set", "created_at", "identifier", "updated_at"]),
      "SSOEnable": object(
        ["identifier": ["type": "string", "minLength": 1, "maxLength": 2048], "client_id": ["type": "string", "minLength": 1, "maxLength": 2048],
         "client_secret": ["type": "string", "minLength": 1, "maxLength": 4096], "protocols": ref("SSOProtocols")],
        required: ["identifier", "client_id"]),
      "SSOUpdate": object(
        ["identifier": ["type": "string", "minLength": 1, "maxLength": 2048], "client_id": ["type": "string", "minLength": 1, "maxLength": 2048],
         "client_secret": ["type": "string", "minLength": 1, "maxLength": 4096, "nullable": true], "protocols": ref("SSOProtocols")]),
      "FaultSettings": object(["spec": ["type": "string", "description": "e.g. 429=0.1,503=0.05,reset=0.02,latency=20ms"], "seed": ["type": "integer", "minimum": 0]]),
      "RequestLog": object(["items": ["type": "array", "items": object(
        ["seq": ["type": "integer"], "method": string, "path": string, "query": string, "request_id": ["type": "string", "nullable": true],
         "status": ["type": "integer"], "fault": ["type": "string", "nullable": true], "received_at": dateTime])]], required: ["items"]),
      "Outbox": object(["items": ["type": "array", "items": object(
        ["id": string, "to": string, "subject": string, "body": string, "token": string, "invitation_id": string, "organization_id": string, "sent_at": dateTime])]], required: ["items"]),
    ]
    return [
      "openapi": "3.0.3",
      "info": [
        "title": "Keycard API (kcsh sandbox)", "version": "1.0.0",
        "description": "The part of the Keycard API that the kcsh sandbox implements: organizations, users, invitations, service accounts, credentials and SSO. Errors are {message, code, status}.",
      ],
      "servers": [["url": "/"]],
      "security": [["bearerAuth": []]],
      "paths": .object(paths),
      "components": [
        "securitySchemes": [
          "bearerAuth": ["type": "http", "scheme": "bearer", "description": "An API key or an access token"],
          "basicAuth": ["type": "http", "scheme": "basic", "description": "client_id:client_secret of a credential"],
        ],
        "schemas": .object(schemas),
      ],
    ]
  }()
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
  public init(stringLiteral v: String) { self = .string(v) }
  public init(integerLiteral v: Int) { self = .number(Double(v)) }
  public init(booleanLiteral v: Bool) { self = .bool(v) }
  public init(arrayLiteral v: JSON...) { self = .array(v) }
  public init(dictionaryLiteral v: (String, JSON)...) { self = .object(Dictionary(v, uniquingKeysWith: { $1 })) }
}
