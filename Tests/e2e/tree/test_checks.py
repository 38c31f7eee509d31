"""Arguments are checked against the description before any request: the
message names the function and the field, and the sandbox sees nothing."""
import re

import pytest

from treelib import ok, kcsh

# Each case: a Lua expression (with `org`, `user`, `sa`, `cred` at hand) and
# the exact message it must raise.
CASES = [
    # unknown fields, with and without a suggestion
    ('org.users:list{lmit = 5}', "unknown field 'lmit' for org.users:list; did you mean 'limit'?"),
    ('sa:update{nmae = "x"}', "unknown field 'nmae' for sa:update; did you mean 'name'?"),
    ('org.service_accounts:update(sa.id, {nmae = "x"})',
     "unknown field 'nmae' for org.service_accounts:update; did you mean 'name'?"),
    ('user:update{colour = "red"}', "unknown field 'colour' for user:update; fields are role, status"),
    ('org:token{x = 1}', "unknown field 'x' for org:token; it takes no fields"),
    ('org.sso:update{protocols = {openid = {userinfo = "x"}}}',
     "unknown field 'protocols.openid.userinfo' for org.sso:update; fields are userinfo_endpoint"),
    ('org:identities{query = {mail = "@acme"}}',
     "unknown field 'query.mail' for org:identities; did you mean 'email'?"),
    # wrong types
    ('org.service_accounts:create{name = 42}', "field 'name' for org.service_accounts:create: string expected, got integer"),
    ('org.users:list{limit = "ten"}', "field 'limit' for org.users:list: integer expected, got string"),
    ('sa.credentials:create{name = "x", description = {}}',
     "field 'description' for sa.credentials:create: string expected, got table"),
    ('org.users:update(user.id, {role = kc.null})', "field 'role' for org.users:update: string expected, got kc.null"),
    ('org.sso:update{protocols = {oauth2 = {scopes_supported = {"a", 2}}}}',
     "field 'protocols.oauth2.scopes_supported[2]' for org.sso:update: string expected, got integer"),
    # missing required fields
    ('org.invitations:create{email = "a@example.com"}', "missing required field 'role' for org.invitations:create"),
    ('sa.credentials:create{}', "missing required field 'name' for sa.credentials:create"),
    ('sa.credentials:create()', "missing required field 'name' for sa.credentials:create"),
    ('org.sso:enable{identifier = "https://idp"}', "missing required field 'client_id' for org.sso:enable"),
    # values outside an enum or a range
    ('user:update{role = "admin"}', "field 'role' for user:update: 'admin' is not one of org_admin, org_member, org_viewer"),
    ('org.users:update(user.id, {status = "gone"})',
     "field 'status' for org.users:update: 'gone' is not one of active, disabled"),
    ('org:roles{scope = "team"}', "field 'scope' for org:roles: 'team' is not one of organization, zone"),
    ('org.users:list{expand = {"permissions", "bogus"}}',
     "field 'expand[2]' for org.users:list: 'bogus' is not one of permissions"),
    ('org.users:list{limit = 0}', "field 'limit' for org.users:list: 0 is out of range 1..1000"),
    ('org.users:each{limit = 1001}', "field 'limit' for org.users:each: 1001 is out of range 1..1000"),
    ('org.users:each{before = "x"}',
     "field 'before' for org.users:each: iterators walk forward; use list{before = ...} and :prev()"),
    # bad calls
    ('org.users:get(nil)', "bad argument #1 to 'org.users:get' (user_id expected, got nil)"),
    ('org.users:delete("")', "bad argument #1 to 'org.users:delete' (user_id expected, got empty string)"),
    ('org.users:update(user.id, "org_admin")', "bad argument to 'org.users:update' (table of fields expected, got string)"),
    ('org.users.list{limit = 1}', "bad self for 'org.users:list' (call it with a colon: org.users:list)"),
    ('kc.org()', "bad argument #1 to 'kc.org' (organization ID or label expected, got nil)"),
]

SETUP = '''
local org = kc.org("acme")
local user = org.users:list{limit = 1}.items[1]
local sa = org.service_accounts:list{limit = 1}.items[1]
local cred = sa.credentials:list{limit = 1}.items[1]
'''


def test_bad_arguments_send_nothing(demo):
    body = [SETUP, "local ok, err"]
    for i, (expr, _) in enumerate(CASES):
        # One line per case, so the position in the message is checkable.
        body.append(f"ok, err = pcall(function() local _ = {expr} end) print(ok, err)")
    demo.clear_requests()
    lines = ok("\n".join(body) + "\n", demo)
    seen = [(r["method"], r["path"]) for r in demo.requests()]
    # Only the setup's four GETs reached the server.
    assert len(seen) == 4 and all(m == "GET" for m, _ in seen), seen
    first_line = len(SETUP.splitlines()) + 3  # the first pcall's line in stdin
    assert len(lines) == len(CASES)
    for i, ((expr, message), line) in enumerate(zip(CASES, lines)):
        m = re.match(r"^false\tstdin:(\d+): (.*)$", line)
        assert m, (expr, line)
        assert m.group(2) == message, expr
        assert int(m.group(1)) == first_line + i, (expr, line)


def test_record_methods_need_a_record(demo):
    lines = ok('''
      local org = kc.org("acme")
      local user = org.users:list{limit = 1}.items[1]
      print(pcall(user.update, {role = "org_admin"}))
      print(pcall(org.identities, {role = "org_admin"}))
      print(pcall(user.reload, {}))
    ''', demo)
    assert lines == ["false\tbad self for 'user:update' (call it with a colon on a record)",
                     "false\tbad self for 'org:identities' (call it with a colon on a record)",
                     "false\tbad self for 'user:reload' (call it with a colon on a record)"]
