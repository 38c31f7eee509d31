"""Every operation of the reference through the Lua surface, against the
sandbox; the server's failures surface as error values."""
from treelib import ok, kcsh


def test_organizations(demo):
    lines = ok('''
      local org = kc.organizations:create{name = "Tree Test Org"}
      print(org.name, type(org.id), org.sso_enabled)
      print(tostring(org):match("^org [%w_-]+: ") ~= nil)
      local same = kc.org(org.label)
      print(same.id == org.id, kc.organizations:get(org.id).label == org.label)
      local before = org.updated_at
      print(org:update{name = "Tree Test Renamed"} == org, org.name)
      print(kc.organizations:update(org.id, {name = "Tree Test 3"}).name)
      print(org:reload().name)
      local seen = 0
      for o in kc.organizations:each{limit = 2} do if o.id == org.id then seen = seen + 1 end end
      print("seen", seen)
      local page = kc.organizations:list{limit = 1}
      print(#page.items, page.page_info.has_next_page, tostring(page))
    ''', demo)
    assert lines[0] == "Tree Test Org\tstring\tfalse"
    assert lines[1] == "true"
    assert lines[2] == "true\ttrue"
    assert lines[3] == "true\tTree Test Renamed"
    assert lines[4] == "Tree Test 3"
    assert lines[5] == "Tree Test 3"
    assert lines[6] == "seen\t1"
    assert lines[7] == "1\ttrue\tpage of 1, more after"


def test_org_token_roles_identities(demo):
    lines = ok('''
      local org = kc.org("acme")
      local t = org:token()
      print(t.token_type, type(t.access_token), math.type(t.expires_in))
      local roles = org:roles{scope = "organization"}
      local names = {}
      for _, r in ipairs(roles) do names[#names + 1] = r.name end
      table.sort(names)
      print(table.concat(names, ","))
      print(#kc.organizations:roles("acme") >= #roles)
      -- identities: users and invitations together; count from total_count
      local n = 0
      for i in org:identities{limit = 5} do n = n + 1 end
      print(n, org:identities():count())
      print(org:identities{role = "org_admin"}:count(), org:identities{role = "org_admin"}:filter(function() return true end):count())
      print(org:identities{query = {email = "ANA@"}}:first().email)
      local types = {}
      for i in org:identities() do types[i.type] = (types[i.type] or 0) + 1 end
      print(types.user, types.invitation)
    ''', demo)
    assert lines[0] == "Bearer\tstring\tinteger"
    assert lines[1] == "org_admin,org_member,org_viewer"
    assert lines[2] == "true"
    assert lines[3] == "27\t27"
    # acme's admins (Store.loadDemo): user 0 and every user i with i % 4 == 3
    # of 24; its invitations are all org_member. By total_count and by walking.
    assert lines[4] == "7\t7"
    assert lines[5] == "ana@acme.com"
    assert lines[6] == "24\t3"


def test_org_token_shortcut_escapes_its_argument(demo):
    demo.clear_requests()
    lines = ok('''
      local t = kc.org_token("acme")
      print(t.token_type, math.type(t.expires_in))
      local ok, e = pcall(kc.org_token, "a/b?c")
      print(ok, e.status)
      print(select(2, pcall(kc.org_token, {})))
    ''', demo)
    assert lines[0] == "Bearer\tinteger"
    assert lines[1] == "false\t404"
    assert "bad argument #1 to 'kc.org_token' (organization ID or label expected, got table)" in lines[2]
    assert [(r["method"], r["path"]) for r in demo.requests()] == [
        ("POST", "/organizations/acme/token"), ("POST", "/organizations/a%2Fb%3Fc/token")]


def test_users(demo):
    lines = ok('''
      local org = kc.org("globex")
      local page = org.users:list{limit = 3}
      local u = page.items[1]
      print(#page.items, tostring(u):match("^user ") ~= nil)
      local got = org.users:get(u.id)
      print(got.email == u.email, getmetatable(got) ~= nil)
      print(u:update{role = "org_viewer"} == u, u.role)
      print(org.users:update(u.id, {status = "disabled"}).status)
      print(u:reload().status)
      local v = page.items[2]
      print(v:delete(), org.users:delete(page.items[3].id))
      local ok, err = pcall(org.users.get, org.users, v.id)
      print(ok, err.status, err.code, err.method, err.path:match("/users/") ~= nil, type(err.request_id))
      print(getmetatable(err) == kc.Error, tostring(err):match("^404 not_found: ") ~= nil)
      local admins = org.users:each{role = "org_admin"}:map(function(x) return x.role end):collect()
      print(#admins > 0, admins[1])
    ''', demo)
    assert lines[0] == "3\ttrue"
    assert lines[1] == "true\ttrue"
    assert lines[2] == "true\torg_viewer"
    assert lines[3] == "disabled"
    assert lines[4] == "disabled"
    assert lines[5] == "true\ttrue"
    assert lines[6] == "false\t404\tnot_found\tGET\ttrue\tstring"
    assert lines[7] == "true\ttrue"
    assert lines[8] == "true\torg_admin"


def test_invitations(demo):
    lines = ok('''
      local org = kc.organizations:create{name = "Invitations Org"}
      local inv = org.invitations:create{email = "ana@example.com", role = "org_member"}
      print(inv.email, inv.role, inv.status, inv.organization_id == org.id)
      local inv2 = org.invitations:create{email = "ben@example.com", role = "org_admin"}
      print(org.invitations:each():count())
      print(inv:delete())
      print(org.invitations:delete(inv2.id))
      local statuses = {}
      for i in org.invitations:each() do statuses[#statuses + 1] = i.status end
      print(table.concat(statuses, ","))
      local ok, err = pcall(function() return org.invitations:create{email = "not an email", role = "org_member"} end)
      print(ok, err.status, err.code)
    ''', demo)
    assert lines[0] == "ana@example.com\torg_member\tpending\ttrue"
    assert lines[1] == "2"
    assert lines[2] == "true"
    assert lines[3] == "true"
    # deleting an invitation revokes it: it stays listed, as in Keycard
    assert lines[4] == "revoked,revoked"
    assert lines[5] == "false\t422\tvalidation_error"


def test_service_accounts_and_credentials(demo):
    lines = ok('''
      local org = kc.organizations:create{name = "SA Org"}
      local sa = org.service_accounts:create{name = "ci", description = "CI pipeline"}
      print(sa.name, sa.description, tostring(sa):match("^sa [%w_-]+: ci$") ~= nil)
      print(org.service_accounts:get(sa.id).name, org.service_accounts:each():count())
      print(sa:update{description = kc.null} == sa, sa.description)
      print(org.service_accounts:update(sa.id, {name = "ci-2"}).name, sa:reload().name)
      local cred = sa.credentials:create{name = "deploy"}
      print(type(cred.client_secret), type(cred.client_id))
      print(sa.credentials:get(cred.id).client_secret)
      print(cred:update{description = "d"}.description, sa.credentials:update(cred.id, {name = "deploy-2"}).name)
      print(cred:reload().name, cred.client_secret)
      local c2 = sa.credentials:create{name = "other"}
      print(sa.credentials:each():count(), #sa.credentials:list().items)
      print(cred:delete(), sa.credentials:delete(c2.id), sa.credentials:each():count())
      print(sa:delete())
      local sa2 = org.service_accounts:create{name = "gone"}
      print(org.service_accounts:delete(sa2.id), org.service_accounts:each():count())
      local ok, err = pcall(sa.reload, sa)
      print(ok, err.status)
    ''', demo)
    assert lines[0] == "ci\tCI pipeline\ttrue"
    assert lines[1] == "ci\t1"
    assert lines[2] == "true\tnil"
    assert lines[3] == "ci-2\tci-2"
    assert lines[4] == "string\tstring"
    assert lines[5] == "nil"
    assert lines[6] == "d\tdeploy-2"
    assert lines[7] == "deploy-2\tnil"
    assert lines[8] == "2\t2"
    assert lines[9] == "true\ttrue\t0"
    assert lines[10] == "true"
    assert lines[11] == "true\t0"
    assert lines[12] == "false\t404"


def test_sso(demo):
    lines = ok('''
      local org = kc.organizations:create{name = "SSO Org"}
      local ok, err = pcall(org.sso.get, org.sso)
      print(ok, err.status)
      local sso = org.sso:enable{identifier = "https://idp.example.com", client_id = "kc", client_secret = "s3cret"}
      print(sso.identifier, sso.client_id, sso.client_secret_set, sso.client_secret)
      print(kc.org(org.id).sso_enabled)
      ok, err = pcall(org.sso.enable, org.sso, {identifier = "https://x", client_id = "y"})
      print(ok, err.status, err.code)
      print(org.sso:get().client_id)
      print(sso:update{client_id = "kc2"} == sso, sso.client_id)
      print(org.sso:update{client_secret = kc.null}.client_secret_set)
      print(org.sso:update{protocols = {openid = {userinfo_endpoint = "https://idp.example.com/userinfo"}}}.protocols.openid.userinfo_endpoint)
      print(sso:reload().client_id)
      print(org.sso:disable())
      ok, err = pcall(org.sso.disable, org.sso)
      print(ok, err.status)
      sso = org.sso:enable{identifier = "https://idp2.example.com", client_id = "b"}
      print(sso:disable())
    ''', demo)
    assert lines[0] == "false\t404"
    assert lines[1] == "https://idp.example.com\tkc\ttrue\tnil"
    assert lines[2] == "true"
    assert lines[3] == "false\t409\tsso_already_enabled"
    assert lines[4] == "kc"
    assert lines[5] == "true\tkc2"
    assert lines[6] == "false"
    assert lines[7] == "https://idp.example.com/userinfo"
    assert lines[8] == "kc2"
    assert lines[9] == "true"
    assert lines[10] == "false\t404"
    assert lines[11] == "true"


def test_requests_are_what_the_description_says(demo):
    """The verbs, paths and query strings sent are those of the reference."""
    demo.clear_requests()
    ok('''
      local org = kc.org("initech")
      org.users:list{limit = 2, role = "org_member", expand = {"permissions"}}
      org:identities{query = {email = "x"}, role = "org_admin"}:first()
      org:roles{scope = "zone"}
    ''', demo)
    seen = [(r["method"], r["path"], r["query"]) for r in demo.requests()]
    assert seen[0] == ("GET", "/organizations/initech", "")
    users = [s for s in seen if s[1].endswith("/users")]
    assert users and "limit=2" in users[0][2] and "role=org_member" in users[0][2] and "expand=permissions" in users[0][2]
    idn = [s for s in seen if s[1].endswith("/identities")][0]
    assert "query%5Bemail%5D=x" in idn[2] and "role=org_admin" in idn[2]
    roles = [s for s in seen if s[1].endswith("/roles")][0]
    assert roles[2] == "scope=zone"
