"""help() and the completion data come from the description."""
from treelib import ok


def test_help_of_an_operation_by_function_and_by_name(demo):
    out = "\n".join(ok('''
      local org = kc.org("acme")
      help(org.users.update)
      print("--")
      help("users.update")
      print("--")
      help("org.users:update")
    ''', demo))
    a, b, c = out.split("\n--\n")
    assert a == b == c
    lines = a.splitlines()
    assert lines[0] == "user:update{...}"
    assert lines[1] == "org.users:update(user_id, {...})"
    assert "  Change a user's role or membership status." in lines
    assert "  PATCH /organizations/{organization_id}/users/{user_id}" in lines
    assert "    role    one of org_admin, org_member, org_viewer" in lines
    assert "    status  one of active, disabled" in lines
    assert "  Example:" in lines
    assert '    org.users:get(id):update{role = "org_viewer"}' in lines


def test_help_of_invitations_create_shows_required_fields(demo):
    lines = ok('help("invitations.create")', demo)
    assert lines[0] == "org.invitations:create{...}"
    assert "    email  string, required" in lines
    assert "    role   one of org_admin, org_member, org_viewer, required" in lines
    assert '    org.invitations:create{email = "ana@acme.com", role = "org_member"}' in lines


def test_help_of_kc_collections_records_and_shortcuts(demo):
    out = "\n".join(ok('''
      help(kc)
      print("--")
      local org = kc.org("acme")
      help(org.users)
      print("--")
      help(org.users:list{limit = 1}.items[1])
      print("--")
      help(kc.org)
      print("--")
      help(org.users.each)
      print("--")
      help("nonsense.op")
    ''', demo))
    overview, users, user, kcorg, each, nonsense = out.split("\n--\n")
    assert overview.startswith("kc -- The Keycard organization tree")
    assert "  org.users              list, each, get, update, delete, reload" in overview
    assert "  sa.credentials         list, each, get, create, update, delete, reload" in overview
    # every other name on kc, from api.functions
    assert "  kc.org(id_or_label)    The organization with this ID or label." in overview
    assert "  kc.csv                 CSV files (RFC 4180), streaming: read, write, writer." in overview
    assert users.startswith("org.users -- The users (members) of an organization.")
    assert "    user:update{...}" in users
    assert user == users
    assert kcorg.startswith("kc.org(id_or_label)")
    assert each.startswith("org.users:each{...}\n  Every item of every page")
    assert nonsense == "no help for 'nonsense.op'; try help(kc)"


def test_completion_data(demo):
    """Collections complete through their __index table; records, whose
    __index is a function, carry the names in their metatable's __complete;
    _params / __params give the field names of each method's argument table."""
    lines = ok('''
      local org = kc.org("acme")
      print(table.concat(getmetatable(org).__complete, " "))
      local names = {}
      for k, v in pairs(getmetatable(org.users).__index) do
        if type(v) == "function" and not k:find("^_") then names[#names + 1] = k end
      end
      table.sort(names)
      print(table.concat(names, " "))
      local sa = org.service_accounts:list{limit = 1}.items[1]
      print(table.concat(getmetatable(sa).__complete, " "))
      print(table.concat(getmetatable(org.users).__index._params.update, " "),
        table.concat(getmetatable(sa).__params.update, " "),
        table.concat(getmetatable(org).__params.identities, " "))
    ''', demo)
    assert lines[0] == "identities invitations reload roles service_accounts sso token update users"
    assert lines[1] == "delete each get list update"
    assert lines[2] == "credentials delete reload update"
    assert lines[3] == "role status\tdescription name\tafter before expand limit query role"


def test_every_name_on_kc_has_its_help():
    """pairs(kc) lists nothing that api.lua does not describe (a collection,
    or an entry of api.functions), and api.lua describes nothing kc lacks;
    help(kc) lists every name, and help(kc.x) explains it."""
    lines = ok('''
      local described = {}
      for _, r in ipairs(kc.api.resources) do
        if not r.parent then described[#described + 1] = r.name end
      end
      for _, f in ipairs(kc.api.functions) do described[#described + 1] = f.name end
      local names = {}
      for k in pairs(kc) do names[#names + 1] = k end
      table.sort(names)
      table.sort(described)
      print(table.concat(names, " "))
      print(table.concat(described, " "))
      local overview = require("kc.help").text(kc)
      for _, k in ipairs(names) do
        local text = require("kc.help").text(kc[k])
        local listed = overview:find("\\n  kc%." .. k .. "[%s{(]") or overview:find("\\n  " .. k .. "%(")
        print(k, text:find("^no help") and "NO HELP" or "help", listed and "listed" or "NOT LISTED")
      end
    ''')
    names, described = lines[0].split(), lines[1].split()
    assert names == described
    for line in lines[2:]:
        assert line.endswith("\thelp\tlisted"), line
