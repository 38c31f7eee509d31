-- The Keycard API as data: the one description that the bindings (tree.lua),
-- argument checks (check.lua), help(), completion data, LuaLS annotations
-- (stdlib/types/kc.lua) and docs/reference.md are derived from.
-- Doc text is taken from the API reference (shared/api/organizations-reference.txt)
-- and the facts of the official SDKs. Adding an endpoint is one entry of
-- api.resources below (Tests/e2e/tree/test_openapi.py checks them against
-- the sandbox's /openapi.json); adding a function to kc is one entry of
-- api.functions (a test checks that every name on kc has one).
--
-- Resource fields: name (the key a parent's record reaches it by: org.users),
-- record (one record's name in help and messages), type (its type name),
-- parent (a resource name), segment (its path segment below the parent's
-- record), id (the path parameter naming one record; none for a singleton),
-- singleton, doc, show (the fields tostring(record) shows), columns (the
-- fields a table of records shows, in order: the REPL and kc.table), fields
-- (of a record), operations; noun (its name in a plan's lines: "service
-- account") and natural_key (the field that names a record among its
-- siblings: a dry run's plan names records by it, a journal finds a create
-- that was in flight at a crash by it), find_by (the create's body field the
-- journal matches instead, when the server derives the natural key: an
-- organization's label comes from its name) and live (the field values a
-- found record must have: a pending invitation, not a revoked one).
--
-- Operation fields: name, verb, on = "collection" | "record" (where the Lua
-- method lives: org.users:list{}, user:update{}; a record operation is also
-- a collection method taking the ID: org.users:update(id, {})), segment (a
-- path segment after the record's: /token), paged, total_count (count() asks
-- the server), returns ({type = "Role", list = true}: the answer, when it is
-- not a record of the resource), doc, params, example.
--
-- Parameter fields: name, ["in"] = "path"|"query"|"body", type = "string" |
-- "integer" | "boolean" | "object" (with `fields`) | "array" (with `items`),
-- enum (allowed values), required, nullable (kc.null accepted), min/max
-- (integers), multi (a query parameter that may be given as a list:
-- expand = {"permissions", "total_count"}), secret (a value never shown or
-- kept: not in a plan, a trace, or the REPL's history, which has
-- <redacted>), doc.
--
-- Derived below, never written: each resource's lua (kc.organizations,
-- org.users), path and item_path, children and ops (by name); each
-- operation's resource, item and path; each shortcut's op.

---@class kc.api.Param
---@field name string
---@field ["in"]? "path"|"query"|"body" (nested fields have none)
---@field type "string"|"integer"|"boolean"|"object"|"array"|"table"
---@field enum? string[]
---@field required? boolean
---@field nullable? boolean
---@field optional? boolean a record field that may be absent
---@field min? integer
---@field max? integer
---@field multi? boolean
---@field secret? boolean a value never shown or kept (plans, history: <redacted>)
---@field items? string the type of an array's items
---@field fields? kc.api.Param[]
---@field doc? string

---@class kc.api.Operation
---@field name string
---@field verb "GET"|"POST"|"PATCH"|"DELETE"
---@field on "collection"|"record"
---@field segment? string
---@field paged? boolean
---@field total_count? boolean
---@field returns? {type: string, list?: boolean}
---@field doc string
---@field params kc.api.Param[]
---@field example string
---@field resource kc.api.Resource derived
---@field item boolean derived: it addresses one record
---@field path string derived

---@class kc.api.Resource
---@field name string
---@field record string
---@field type string
---@field parent? string
---@field segment string
---@field id? string
---@field singleton? boolean
---@field doc string
---@field show string[]
---@field columns string[] the fields a table of these records shows
---@field noun? string its name in a plan's lines
---@field natural_key? string the field naming a record among its siblings
---@field find_by? string the create's body field a journal finds the record by, when not natural_key
---@field live? table<string, any> field values a record found by a journal must have
---@field fields kc.api.Param[]
---@field operations kc.api.Operation[]
---@field lua string derived
---@field path string derived: the collection's path
---@field item_path string derived: one record's path (the collection's, for a singleton)
---@field children? string[] derived
---@field ops table<string, kc.api.Operation> derived

---@class kc.api.Function
---@field name string
---@field call string
---@field type string
---@field doc string
---@field example string
---@field of? string "resource.operation"
---@field arg? string what a shortcut's argument is, in messages
---@field op? kc.api.Operation derived from `of`

local ROLES = { "org_admin", "org_member", "org_viewer" }

-- The same parameter on many operations: written once.
local P = {
  after = { name = "after", ["in"] = "query", type = "string",
    doc = "Cursor: return the page after this item (page_info.end_cursor of the previous page)." },
  before = { name = "before", ["in"] = "query", type = "string",
    doc = "Cursor: return the page before this item (page_info.start_cursor of the next page)." },
  limit = { name = "limit", ["in"] = "query", type = "integer", min = 1, max = 1000,
    doc = "Items per page, 1 to 1000 (default 100)." },
  expand = { name = "expand", ["in"] = "query", type = "string", multi = true, enum = { "permissions" },
    doc = "Expand the answer: 'permissions' fills the permissions map of each returned entity." },
  description = { name = "description", ["in"] = "body", type = "string", nullable = true },
}

local function with(base, extra)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return t
end

local PAGING = { P.after, P.before, P.limit, P.expand }

local function paged(extra)
  local t = {}
  for _, p in ipairs(extra or {}) do t[#t + 1] = p end
  for _, p in ipairs(PAGING) do t[#t + 1] = p end
  return t
end

-- Record fields shared by every entity.
local F = {
  created_at = { name = "created_at", type = "string", doc = "The time the entity was created in UTC (RFC 3339)." },
  updated_at = { name = "updated_at", type = "string", doc = "The time the entity was most recently updated in UTC (RFC 3339)." },
  id = { name = "id", type = "string", doc = "Identifier for API resources. A 26-char nanoid (URL/DNS safe)." },
  permissions = { name = "permissions", type = "table", optional = true,
    doc = "Permissions granted to the caller for this resource (only with expand = 'permissions'): resource type -> permission -> boolean." },
  name = { name = "name", type = "string", doc = "A name for the entity to be displayed in UI." },
}

local SSO_PROTOCOLS = {
  name = "protocols", ["in"] = "body", type = "object",
  doc = "Protocol configuration for the SSO connection.",
  fields = {
    { name = "oauth2", type = "object", doc = "OAuth 2.0 protocol configuration.", fields = {
      { name = "authorization_endpoint", type = "string", doc = "OAuth 2.0 authorization endpoint (URI)." },
      { name = "code_challenge_methods_supported", type = "array", items = "string", doc = "Supported PKCE code challenge methods." },
      { name = "jwks_uri", type = "string", doc = "JSON Web Key Set endpoint (URI)." },
      { name = "registration_endpoint", type = "string", doc = "OAuth 2.0 registration endpoint (URI)." },
      { name = "scopes_supported", type = "array", items = "string", doc = "Supported OAuth 2.0 scopes." },
      { name = "token_endpoint", type = "string", doc = "OAuth 2.0 token endpoint (URI)." },
    } },
    { name = "openid", type = "object", doc = "OpenID Connect protocol configuration.", fields = {
      { name = "userinfo_endpoint", type = "string", doc = "OpenID Connect UserInfo endpoint (URI)." },
    } },
  },
}

local api = {}

api.summary = "The Keycard organization tree: organizations, their users, invitations, service accounts " ..
  "(with credentials) and SSO connection."

-- Resources, in the order help() and the reference list them; a parent
-- before its children.
---@type kc.api.Resource[]
api.resources = {
  {
    name = "organizations", record = "org", type = "Organization",
    segment = "organizations", id = "organization_id",
    noun = "organization", natural_key = "label", find_by = "name",
    doc = "Organizations: the top of the tree. `{organization_id}` accepts an organization's ID or its label.",
    show = { "label", "name" },
    columns = { "label", "name", "id" },
    fields = {
      F.id, F.created_at,
      { name = "label", type = "string", doc = "A domain name segment for the entity, often derived from the name (at most 63 characters)." },
      F.name,
      { name = "sso_enabled", type = "boolean", doc = "Whether SSO is enabled for this organization." },
      F.updated_at,
      { name = "zone_id", type = "string", doc = "The zone holding the organization's users, roles and permissions." },
      F.permissions,
    },
    operations = {
      { name = "list", verb = "GET", on = "collection", paged = true,
        doc = "List the organizations the caller can see, one page at a time.",
        params = paged(),
        example = 'local page = kc.organizations:list{limit = 20}\nfor _, org in ipairs(page.items) do print(org.label) end' },
      { name = "get", verb = "GET", on = "collection",
        doc = "Retrieve an organization by ID or label.",
        params = { P.expand },
        example = 'local org = kc.organizations:get("acme")   -- or kc.org("acme")' },
      { name = "create", verb = "POST", on = "collection",
        doc = "Create an organization; its label is derived from the name.",
        params = { with(F.name, { ["in"] = "body" }) },
        example = 'local org = kc.organizations:create{name = "Acme Corp"}' },
      { name = "update", verb = "PATCH", on = "record",
        doc = "Update an organization's name.",
        params = { with(F.name, { ["in"] = "body" }) },
        example = 'kc.org("acme"):update{name = "Acme Corporation"}' },
      { name = "token", verb = "POST", on = "record", segment = "token",
        returns = { type = "TokenResponse" },
        doc = "Exchange the caller's credentials for an organization access token " ..
          "(OAuth2-style M2M token: access_token, token_type \"Bearer\", expires_in seconds).",
        params = {},
        example = 'local t = kc.org("acme"):token()\nprint(t.token_type, t.expires_in)' },
      { name = "roles", verb = "GET", on = "record", segment = "roles",
        returns = { type = "Role", list = true },
        doc = "List the roles available in the organization (items: name, label, description, scope).",
        params = {
          { name = "scope", ["in"] = "query", type = "string", enum = { "organization", "zone" },
            doc = "The scope at which a role can be assigned: organization (e.g. org_admin) or zone (e.g. zone_manager)." },
          P.expand,
        },
        example = 'for _, role in ipairs(kc.org("acme"):roles{scope = "organization"}) do print(role.name) end' },
      { name = "identities", verb = "GET", on = "record", segment = "identities",
        paged = true, total_count = true, returns = { type = "Identity" },
        doc = "Iterate the organization's identities: its users and pending invitations, in creation order. " ..
          "count() asks the server for total_count instead of walking the pages.",
        params = {
          { name = "role", ["in"] = "query", type = "string", enum = ROLES, doc = "Only identities with this role." },
          { name = "query", ["in"] = "query", type = "object", doc = "Search filters.", fields = {
            { name = "email", type = "string", doc = "Case-insensitive substring of the email address." },
          } },
          P.after, P.before, P.limit,
          with(P.expand, { enum = { "permissions", "total_count" },
            doc = "Expand the answer: 'permissions' fills each entity's permissions, 'total_count' the pagination's total_count." }),
        },
        example = 'kc.org("acme"):identities{role = "org_admin", query = {email = "@acme.com"}}:count()' },
    },
  },
  {
    name = "users", record = "user", type = "OrganizationUser", parent = "organizations",
    segment = "users", id = "user_id",
    noun = "user", natural_key = "email",
    doc = "The users (members) of an organization. Users join by accepting an invitation.",
    show = { "email", "role", "status" },
    columns = { "email", "role", "status", "id" },
    fields = {
      { name = "id", type = "string", doc = "The Keycard account ID." },
      F.created_at,
      { name = "email", type = "string", optional = true, doc = "User email address." },
      { name = "role", type = "string", enum = ROLES, doc = "User's role in the organization." },
      { name = "source", type = "string", doc = "Identity provider issuer (URI)." },
      { name = "status", type = "string", enum = { "active", "disabled" }, doc = "Status of organization membership." },
      F.updated_at, F.permissions,
    },
    operations = {
      { name = "list", verb = "GET", on = "collection", paged = true,
        doc = "List the organization's users, one page at a time.",
        params = paged { { name = "role", ["in"] = "query", type = "string", enum = ROLES, doc = "Only users with this role." } },
        example = 'for user in org.users:each{role = "org_admin"} do print(user.email) end' },
      { name = "get", verb = "GET", on = "collection",
        doc = "Retrieve a user of the organization.",
        params = { P.expand },
        example = 'local user = org.users:get(id)' },
      { name = "update", verb = "PATCH", on = "record",
        doc = "Change a user's role or membership status.",
        params = {
          { name = "role", ["in"] = "body", type = "string", enum = ROLES, doc = "User's role in the organization." },
          { name = "status", ["in"] = "body", type = "string", enum = { "active", "disabled" }, doc = "Status of organization membership." },
        },
        example = 'org.users:get(id):update{role = "org_viewer"}\norg.users:update(id, {status = "disabled"})' },
      { name = "delete", verb = "DELETE", on = "record",
        doc = "Remove a user from the organization.",
        params = {},
        example = 'org.users:delete(id)   -- or user:delete()' },
    },
  },
  {
    name = "invitations", record = "invitation", type = "Invitation", parent = "organizations",
    segment = "invitations", id = "invitation_id",
    noun = "invitation", natural_key = "email", live = { status = "pending" },
    doc = "Invitations to join an organization, sent by email.",
    show = { "email", "role", "status" },
    columns = { "email", "role", "status", "expires_at", "id" },
    fields = {
      F.id, F.created_at,
      { name = "created_by", type = "string", doc = "ID of the user who created the invitation." },
      { name = "email", type = "string", doc = "Email address for the invitation." },
      { name = "expires_at", type = "string", doc = "When the invitation expires (RFC 3339)." },
      { name = "organization_id", type = "string", doc = "The organization the invitation is for." },
      { name = "role", type = "string", enum = ROLES, doc = "Role that will be assigned when the invitation is accepted." },
      { name = "status", type = "string", enum = { "pending", "accepted", "expired", "revoked" }, doc = "Status of the invitation." },
      F.updated_at, F.permissions,
    },
    operations = {
      { name = "list", verb = "GET", on = "collection", paged = true,
        doc = "List the organization's invitations, one page at a time.",
        params = paged(),
        example = 'for inv in org.invitations:each() do print(inv) end' },
      { name = "create", verb = "POST", on = "collection",
        doc = "Invite someone to the organization by email.",
        params = {
          { name = "email", ["in"] = "body", type = "string", required = true, doc = "Email address to invite." },
          { name = "role", ["in"] = "body", type = "string", enum = ROLES, required = true,
            doc = "Role that will be assigned when the invitation is accepted." },
        },
        example = 'org.invitations:create{email = "ana@acme.com", role = "org_member"}' },
      { name = "delete", verb = "DELETE", on = "record",
        doc = "Revoke an invitation.",
        params = {},
        example = 'org.invitations:delete(id)   -- or invitation:delete()' },
    },
  },
  {
    name = "service_accounts", record = "sa", type = "ServiceAccount", parent = "organizations",
    segment = "service-accounts", id = "service_account_id",
    noun = "service account", natural_key = "name",
    doc = "Service accounts: non-human principals of an organization, authenticated by their credentials.",
    show = { "name" },
    columns = { "name", "description", "id" },
    fields = {
      F.id, F.created_at, F.name, F.updated_at,
      { name = "description", type = "string", optional = true, doc = "Optional description of the service account." },
      F.permissions,
    },
    operations = {
      { name = "list", verb = "GET", on = "collection", paged = true,
        doc = "List the organization's service accounts, one page at a time.",
        params = paged(),
        example = 'for sa in org.service_accounts:each() do print(sa.name) end' },
      { name = "get", verb = "GET", on = "collection",
        doc = "Retrieve a service account.",
        params = { P.expand },
        example = 'local sa = org.service_accounts:get(id)' },
      { name = "create", verb = "POST", on = "collection",
        doc = "Create a service account.",
        params = {
          with(F.name, { ["in"] = "body", required = true }),
          with(P.description, { doc = "Optional description of the service account." }),
        },
        example = 'local sa = org.service_accounts:create{name = "ci", description = "CI pipeline"}' },
      { name = "update", verb = "PATCH", on = "record",
        doc = "Rename a service account or change its description (kc.null clears it).",
        params = {
          with(F.name, { ["in"] = "body" }),
          with(P.description, { doc = "Optional description of the service account." }),
        },
        example = 'sa:update{description = "deploys from CI"}' },
      { name = "delete", verb = "DELETE", on = "record",
        doc = "Delete a service account and its credentials.",
        params = {},
        example = 'sa:delete()   -- or org.service_accounts:delete(id)' },
    },
  },
  {
    name = "credentials", record = "cred", type = "ServiceAccountCredential", parent = "service_accounts",
    segment = "credentials", id = "credential_id",
    noun = "credential", natural_key = "name",
    doc = "Credentials of a service account (client ID and secret). The secret is returned once, by create.",
    show = { "name", "client_id" },
    columns = { "name", "client_id", "last_used_at", "id" },
    fields = {
      F.id,
      { name = "client_id", type = "string", doc = "The client ID for authentication." },
      { name = "client_secret", type = "string", optional = true, secret = true,
        doc = "The client secret: only in the answer of create, never again." },
      F.created_at, F.name,
      { name = "description", type = "string", optional = true, doc = "Optional description of the credential." },
      { name = "last_used_at", type = "string", optional = true, doc = "When the credential was last used (RFC 3339)." },
      F.permissions,
    },
    operations = {
      { name = "list", verb = "GET", on = "collection", paged = true,
        doc = "List a service account's credentials (without secrets), one page at a time.",
        params = paged(),
        example = 'for cred in sa.credentials:each() do print(cred.client_id) end' },
      { name = "get", verb = "GET", on = "collection",
        doc = "Retrieve a credential (without its secret).",
        params = { P.expand },
        example = 'local cred = sa.credentials:get(id)' },
      { name = "create", verb = "POST", on = "collection",
        doc = "Create a credential. The answer holds client_secret, shown this once.",
        params = {
          with(F.name, { ["in"] = "body", required = true }),
          with(P.description, { doc = "Optional description of the credential." }),
        },
        example = 'local cred = sa.credentials:create{name = "deploy"}\nprint(cred.client_id, cred.client_secret)' },
      { name = "update", verb = "PATCH", on = "record",
        doc = "Rename a credential or change its description.",
        params = {
          with(F.name, { ["in"] = "body" }),
          with(P.description, { doc = "Optional description of the credential." }),
        },
        example = 'cred:update{name = "deploy-2025"}' },
      { name = "delete", verb = "DELETE", on = "record",
        doc = "Delete (revoke) a credential.",
        params = {},
        example = 'cred:delete()   -- or sa.credentials:delete(id)' },
    },
  },
  {
    name = "sso", record = "sso", type = "SSOConnection", parent = "organizations",
    segment = "sso-connection", singleton = true,
    noun = "sso connection", natural_key = "identifier",
    doc = "The organization's SSO connection (one at most). Answers never contain the secret, only client_secret_set.",
    show = { "identifier", "client_id" },
    columns = { "identifier", "client_id", "client_secret_set", "id" },
    fields = {
      { name = "id", type = "string", doc = "Unique identifier for the SSO connection." },
      { name = "client_id", type = "string", doc = "OAuth 2.0 client ID." },
      { name = "client_secret_set", type = "boolean", doc = "Whether a client secret is configured." },
      F.created_at,
      { name = "identifier", type = "string", doc = "SSO provider identifier (e.g. issuer URL), 1 to 2048 characters." },
      F.updated_at, F.permissions,
      { name = "protocols", type = "table", optional = true, doc = "Protocol configuration (oauth2, openid)." },
    },
    operations = {
      { name = "enable", verb = "POST", on = "collection",
        doc = "Enable SSO for the organization (a 409 error when it is already enabled).",
        params = {
          { name = "identifier", ["in"] = "body", type = "string", required = true, doc = "SSO provider identifier (e.g. issuer URL)." },
          { name = "client_id", ["in"] = "body", type = "string", required = true, doc = "OAuth 2.0 client ID." },
          { name = "client_secret", ["in"] = "body", type = "string", nullable = true, secret = true, doc = "OAuth 2.0 client secret (never shown again)." },
          SSO_PROTOCOLS,
        },
        example = 'org.sso:enable{identifier = "https://idp.acme.com", client_id = "kc"}' },
      { name = "get", verb = "GET", on = "collection",
        doc = "Retrieve the SSO connection (a 404 error when SSO is not enabled).",
        params = { P.expand },
        example = 'local sso = org.sso:get()\nprint(sso.identifier, sso.client_secret_set)' },
      { name = "update", verb = "PATCH", on = "record",
        doc = "Update the SSO connection; every field is optional (a 404 error when SSO is not enabled).",
        params = {
          { name = "identifier", ["in"] = "body", type = "string", doc = "SSO provider identifier (e.g. issuer URL)." },
          { name = "client_id", ["in"] = "body", type = "string", doc = "OAuth 2.0 client ID." },
          { name = "client_secret", ["in"] = "body", type = "string", nullable = true, secret = true, doc = "OAuth 2.0 client secret (kc.null removes it)." },
          SSO_PROTOCOLS,
        },
        example = 'org.sso:update{client_secret = os.getenv("IDP_SECRET")}' },
      { name = "disable", verb = "DELETE", on = "record",
        doc = "Disable SSO for the organization (a 404 error when it is not enabled).",
        params = {},
        example = 'org.sso:disable()' },
    },
  },
}

-- Shapes that are answers but not records of a collection.
api.types = {
  {
    name = "TokenResponse", doc = "OAuth2-style token response for M2M tokens.",
    fields = {
      { name = "access_token", type = "string", secret = true, doc = "The M2M access token." },
      { name = "token_type", type = "string", doc = 'Token type (always "Bearer").' },
      { name = "expires_in", type = "integer", optional = true, doc = "Token expiration time in seconds." },
    },
  },
  {
    name = "Role", doc = "A role that can be assigned in the organization.",
    fields = {
      { name = "name", type = "string", doc = "The role's name (org_admin, ...)." },
      { name = "label", type = "string", doc = "A human-readable label." },
      { name = "description", type = "string", doc = "What the role allows." },
      { name = "scope", type = "string", enum = { "organization", "zone" }, doc = "The scope at which the role can be assigned." },
    },
  },
  {
    name = "Identity", doc = "A user or a pending invitation of the organization (org:identities).",
    fields = {
      F.id, F.created_at,
      { name = "email", type = "string", doc = "Email address." },
      { name = "role", type = "string", enum = ROLES, doc = "Role in the organization." },
      { name = "source", type = "string", doc = "Identity provider issuer (empty for invitations)." },
      { name = "status", type = "string", doc = "Membership or invitation status." },
      { name = "type", type = "string", enum = { "user", "invitation" }, doc = "What the identity is." },
      F.updated_at, F.permissions,
    },
  },
  {
    name = "PageInfo", doc = "Pagination information using cursor-based pagination.",
    fields = {
      { name = "has_next_page", type = "boolean", doc = "Whether there are more items after the current page." },
      { name = "has_prev_page", type = "boolean", doc = "Whether there are more items before the current page." },
      { name = "start_cursor", type = "string", optional = true, doc = "Cursor pointing to the first item in the current page." },
      { name = "end_cursor", type = "string", optional = true, doc = "Cursor pointing to the last item in the current page." },
    },
  },
}

-- Everything else on kc, in the order help(kc) lists it (the resources
-- without a parent are on kc too: kc.organizations). help(), the types and
-- the reference know each name from here; a test checks that every name of
-- pairs(kc) has its entry. `call` is how a script calls (or reaches) it,
-- `type` its LuaLS type. A shortcut names the operation it makes (`of`, on a
-- collection of kc, taking an ID) and what its argument is (`arg`).
---@type kc.api.Function[]
api.functions = {
  { name = "org", call = "kc.org(id_or_label)", of = "organizations.get", arg = "organization ID or label",
    type = "fun(id_or_label: string): kc.Organization",
    doc = "The organization with this ID or label. A GET; the record has the child collections.",
    example = 'local org = kc.org("acme")\nprint(org.name, #org.users:list().items)' },
  { name = "org_token", call = "kc.org_token(id_or_label)", of = "organizations.token", arg = "organization ID or label",
    type = "fun(id_or_label: string): kc.TokenResponse",
    doc = "An organization access token (the token exchange). Unlike kc.org(id):token(), it does not " ..
      "fetch the organization first.",
    example = 'local t = kc.org_token("acme")\nkc.request{path = "/organizations/acme", token = t.access_token}' },
  { name = "request", call = "kc.request{method=, path=, ...}",
    type = "fun(t: kc.RequestArgs): any, kc.Meta",
    doc = "Any endpoint, decoded (docs/client.md). It returns the answer (true when it is empty) and " ..
      "{status, request_id, attempts}; a failure raises a kc.Error. Fields: method (default GET), path, " ..
      "query, body, retries, token, auth, headers, raw, request_id, once.",
    example = 'local page = kc.request{path = "/organizations/acme/users", query = {limit = 5}}\nprint(#page.items)' },
  { name = "request_async", call = "kc.request_async{...}",
    type = "fun(t: kc.RequestArgs): kc.Pending",
    doc = "kc.request without waiting: a handle at once. handle:wait() returns (or raises) what " ..
      "kc.request would; handle:cancel() stops it. The transfer runs on the I/O thread meanwhile.",
    example = 'local a = kc.request_async{path = "/organizations/acme"}\n' ..
      'local b = kc.request_async{path = "/organizations/globex"}\nprint(a:wait().name, b:wait().name)' },
  { name = "parallel", call = "kc.parallel(source, fn, opts)",
    type = "fun(source: table|kc.Iter<any>|function, fn: fun(item: any, index: integer): any, " ..
      "opts?: {concurrency?: integer, rate?: number, on_error?: \"stop\"|\"continue\", results?: boolean, " ..
      "progress?: boolean|string, adaptive?: boolean}): kc.ParallelReport",
    doc = "fn(item, index) for every item of source (a list, a kc iterator, any iterator function), each in " ..
      "its own coroutine, with up to opts.concurrency (default 8) requests in flight. Returns a report: ok, " ..
      "failed, errors ({index, item, error}), results (fn's first value by index), elapsed, requests, " ..
      "throttled. Options: concurrency, rate (requests a second), on_error (\"stop\" raises the first " ..
      "failure), results = false, progress (false, or a label), adaptive = false (no AIMD on 429/503).",
    example = 'local r = kc.parallel(kc.csv.read("people.csv"), function(row)\n' ..
      '  return org.invitations:create{email = row.email, role = "org_member"}\nend, {concurrency = 16})\nprint(r)' },
  { name = "planned", call = "kc.planned(record)", type = "fun(x: any): boolean",
    doc = "True when x is a planned record: under --dry-run, writes are not sent and answer with records " ..
      "built from the request (ids like planned.sa.3, never real ones). False for anything else.",
    example = 'local sa = org.service_accounts:create{name = "ci"}\nif kc.planned(sa) then print("dry run") end' },
  { name = "null", call = "kc.null", type = "kc.Null",
    doc = "An explicit JSON null in a request body (fields marked \"or kc.null\").",
    example = 'sa:update{description = kc.null}' },
  { name = "iter", call = "kc.iter(list)",
    type = "fun(x: any[]|kc.Iter<any>|fun(s?: any, c?: any): any, s?: any, c?: any, closing?: any): kc.Iter<any>",
    doc = "The iterators of each() for a list or kc.iter(pairs(t)). Any list, or what a generic for " ..
      "takes; stages and terminals: filter, map, take, skip, enumerate, collect, count, first, fold, any, all, find.",
    example = 'kc.iter{1, 2, 3}:map(function(x) return x * 10 end):collect()   -- {10, 20, 30}' },
  { name = "json", call = "kc.json",
    type = "{decode: fun(s: string): any, encode: fun(v: any, opts?: {pretty?: boolean, sorted?: boolean}): string, " ..
      "array: fun(t: table): table, null: kc.Null, read: fun(where: string|file*): any, " ..
      "lines: fun(where: string|file*): kc.Iter<any>, write: fun(where: string|file*, v: any, opts?: {pretty?: boolean})}",
    doc = "JSON values and files: decode, encode, array, null, read, lines, write. encode takes " ..
      "{pretty = true} (indented, keys sorted) or {sorted = true} (compact, keys sorted: the same text " ..
      "on every run); array marks a table as a JSON array (an empty one encodes as []); lines iterates " ..
      "over a JSON Lines file.",
    example = 'print(kc.json.encode{tags = kc.json.array{}, note = kc.null})\n' ..
      'for row in kc.json.lines("events.jsonl") do print(row.id) end' },
  { name = "csv", call = "kc.csv",
    type = "{read: fun(where: string|file*, opts?: table): kc.Iter<table>, " ..
      "write: fun(where: string|file*, rows: table|function, opts?: table): integer, " ..
      "writer: fun(where: string|file*, opts?: table): table}",
    doc = "CSV files (RFC 4180), streaming: read, write, writer. read(where, {header, sep}) gives the rows " ..
      "as an iterator, write(where, rows, {columns, header, sep, crlf}) writes them, writer(where, opts) " ..
      "writes one row at a time.",
    example = 'kc.csv.read("people.csv"):filter(function(r) return r.role ~= "" end):count()' },
  { name = "args", call = "kc.args{...}",
    type = "table|fun(spec: table, argv?: string[]): table",
    doc = "A script's options, declared once. It parses arg, prints a --help made from the declaration, " ..
      "and stops with a usage error (exit 2) that names a bad option. kc.args.parse(spec, argv) returns " ..
      "the options or the problem instead; kc.args.help(spec) is the help text.",
    example = 'local opts = kc.args{description = "Invite people.", {"org", required = true}, ' ..
      '{"file", positional = true}}' },
  { name = "config", call = "kc.config()", type = "fun(): table",
    doc = "What the client uses (never the secrets). Fields: base_url, profile, auth, credentials_from, " ..
      "max_retries, timeout_ms.",
    example = 'print(kc.config().base_url)' },
  { name = "trace", call = "kc.trace(on)", type = "fun(on: boolean)",
    doc = "Prints each request to stderr, secrets redacted (as --trace does).",
    example = 'kc.trace(true)' },
  { name = "Error", call = "kc.Error", type = "table",
    doc = "The metatable of the error values API failures raise. Their fields: kind, status, code, message, " ..
      "method, path, request_id, attempts.",
    example = 'local ok, e = pcall(kc.org, "nope")\nif getmetatable(e) == kc.Error then print(e.status, e.code) end' },
  { name = "api", call = "kc.api", type = "table",
    doc = "The API description (stdlib/kc/api.lua) as data. Resources, operations, their parameters and " ..
      "docs: what help(), the checks, the types and docs/reference.md are made from.",
    example = 'for _, r in ipairs(kc.api.resources) do print(r.lua, r.path) end' },
  { name = "table", call = "kc.table(rows, opts)",
    type = "fun(rows: table|kc.Iter<any>, opts?: {columns?: string[], width?: integer, max_rows?: integer, color?: boolean}): string",
    doc = "An aligned table with a header, as the REPL prints pages and lists: rows are a page, a list of " ..
      "records or tables, or an iterator; one record gives field  value lines. Columns default to the " ..
      "resource's (api.lua) or the rows' keys; values wider than the width are cut with …; max_rows " ..
      "ends the table with '… N more'. No colour unless opts.color.",
    example = 'print(kc.table(org.users:list{limit = 5}, {columns = {"email", "role"}}))' },
  { name = "confirm_writes", call = "kc.confirm_writes(on)", type = "fun(on?: boolean)",
    doc = "Ask before every write is sent (`delete user ana@acme.com in acme? [y/N]`), as the REPL does on " ..
      "a profile with confirm_writes = true; false never asks, nil follows the profile (at the REPL only).",
    example = 'kc.confirm_writes(true)' },
  { name = "help", call = "help(x)", type = "fun(x?: any)",
    doc = "Prints what x does: help(org.users), help(org.users.update), help(\"invitations.create\"). " ..
      "x is kc, a collection, a record, a method or a name (\"kc.csv\", \"users.update\").",
    example = 'help(kc.org("acme").users)' },
}

-- Lookup tables and derived fields, so that nobody walks the lists above by
-- hand or writes a path twice.
---@type table<string, kc.api.Resource>
api.by_name = {}
for _, r in ipairs(api.resources) do
  local parent = r.parent and api.by_name[r.parent]
  if r.parent and not parent then
    error(("api.lua: resource '%s' has an unknown parent '%s' (or comes before it)"):format(r.name, r.parent))
  end
  api.by_name[r.name] = r
  if parent then
    -- Reached as parent_record.name (org.users), and listed in the parent's
    -- children in description order, so no child can be left out of the tree.
    r.lua = parent.record .. "." .. r.name
    r.path = parent.item_path .. "/" .. r.segment
    parent.children = parent.children or {}
    parent.children[#parent.children + 1] = r.name
  else
    r.lua = "kc." .. r.name
    r.path = "/" .. r.segment
  end
  r.item_path = r.id and (r.path .. "/{" .. r.id .. "}") or r.path
  r.ops = {}
  for _, op in ipairs(r.operations) do
    op.resource = r
    r.ops[op.name] = op
    -- item: the operation addresses one record. Record operations do, and so
    -- does get (a collection method that takes the ID); list, create and the
    -- like address the collection.
    op.item = op.on == "record" or op.name == "get"
    local base = op.item and r.item_path or r.path
    op.path = op.segment and (base .. "/" .. op.segment) or base
  end
end
-- A shortcut's operation (op), from its `of`.
for _, f in ipairs(api.functions) do
  if f.of then
    local rname, opname = f.of:match("^([%w_]+)%.([%w_]+)$")
    f.op = api.by_name[rname] and api.by_name[rname].ops[opname]
    if not f.op then error(("api.lua: kc.%s is a shortcut of an unknown operation '%s'"):format(f.name, f.of)) end
  end
end

-- Every operation by verb, its path as a pattern, for api.route.
local routes = {}
for _, r in ipairs(api.resources) do
  for _, op in ipairs(r.operations) do
    local names = {}
    local pattern = op.path:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
    pattern = pattern:gsub("{([%w_]+)}", function(n)
      names[#names + 1] = n
      return "([^/]+)"
    end)
    routes[#routes + 1] = { op = op, pattern = "^" .. pattern .. "$", names = names }
  end
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- The operation of a request (method, path as sent) and its path
--- parameters, unescaped: what a write made with kc.request rather than
--- through the tree is, for a plan or a journal. nil when none matches.
---@param method string
---@param path string
---@return kc.api.Operation?, table<string, string>?
function api.route(method, path)
  method = method:upper()
  for _, route in ipairs(routes) do
    if route.op.verb == method then
      local caps = { path:match(route.pattern) }
      if caps[1] ~= nil or #route.names == 0 and path:match(route.pattern) then
        local params = {}
        for i, n in ipairs(route.names) do params[n] = unescape(caps[i]) end
        return route.op, params
      end
    end
  end
end

--- Calls fn(field) for every field and parameter in the description
--- (records', operations' and types', nested ones too): how the completer
--- finds enums and the redactor finds secrets.
---@param fn fun(field: table)
function api.each_field(fn)
  local function walk(list)
    for _, p in ipairs(list or {}) do
      fn(p)
      walk(p.fields)
    end
  end
  for _, r in ipairs(api.resources) do
    walk(r.fields)
    for _, op in ipairs(r.operations) do walk(op.params) end
  end
  for _, t in ipairs(api.types or {}) do walk(t.fields) end
end

--- Names whose values are secrets wherever they appear: every field and
--- parameter marked `secret` above, and the client's own (an API key, the
--- tokens it is given). The REPL's history redactor keeps these out too.
---@type table<string, boolean>
api.secret_names = { api_key = true, access_token = true, refresh_token = true, password = true }
api.each_field(function(p)
  if p.secret then api.secret_names[p.name] = true end
end)

--- True when a field or body parameter named `name` holds a secret: one of
--- `secret_names`, marked `secret` among `params`, or named so
--- ("client_secret"). Plans, journals and traces never keep its value.
---@param name any
---@param params? kc.api.Param[]
function api.is_secret(name, params)
  if type(name) ~= "string" then return false end
  if api.secret_names[name] or name:lower():find("secret", 1, true) then return true end
  for _, p in ipairs(params or {}) do
    if p.name == name then return p.secret == true end
  end
  return false
end

return api
