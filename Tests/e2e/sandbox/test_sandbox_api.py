"""Every endpoint's happy path and every error class, over real HTTP."""
import random
import re
import urllib.parse

import requests

from sandboxlib import assert_error, unique

ID = re.compile(r"^[A-Za-z0-9_-]{26}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_organizations_create_list_get_update(sandbox):
    name = unique("Acme Test ")
    r = sandbox.post("/organizations", json={"name": name})
    assert r.status_code == 201
    o = r.json()
    assert ID.match(o["id"]) and TS.match(o["created_at"]) and TS.match(o["updated_at"])
    assert o["name"] == name and o["sso_enabled"] is False and isinstance(o["zone_id"], str)
    assert re.match(r"^[a-z0-9-]{1,63}$", o["label"])
    assert "permissions" not in o
    # by ID and by label
    assert sandbox.get(f"/organizations/{o['id']}").json() == o
    assert sandbox.get(f"/organizations/{o['label']}").json() == o
    # update
    r = sandbox.patch(f"/organizations/{o['label']}", json={"name": "Renamed"})
    assert r.status_code == 200 and r.json()["name"] == "Renamed" and r.json()["label"] == o["label"]
    # expand permissions, both spellings
    for q in ("expand=permissions", "expand[]=permissions", "expand%5B%5D=permissions&expand=total_count"):
        p = sandbox.get(f"/organizations/{o['id']}?{q}").json()["permissions"]
        assert p["organizations"]["read"] is True
    # the list holds it
    seen = []
    after = None
    while True:
        params = {"limit": 2}
        if after:
            params["after"] = after
        page = sandbox.get("/organizations", params=params).json()
        seen += [x["id"] for x in page["items"]]
        if not page["page_info"]["has_next_page"]:
            break
        after = page["page_info"]["end_cursor"]
    assert o["id"] in seen and len(seen) == len(set(seen))


def test_labels_are_unique(sandbox):
    a = sandbox.post("/organizations", json={"name": "Same Name"}).json()
    b = sandbox.post("/organizations", json={"name": "Same Name"}).json()
    assert a["label"] != b["label"]


def test_token_exchange_and_roles(sandbox, org):
    r = sandbox.post(f"/organizations/{org['id']}/token")
    assert r.status_code == 200
    t = r.json()
    assert t["token_type"] == "Bearer" and t["expires_in"] > 0 and t["access_token"]
    # the token works for its organization and only for it
    h = {"Authorization": f"Bearer {t['access_token']}"}
    assert requests.get(sandbox.url(f"/organizations/{org['id']}"), headers=h).status_code == 200
    assert_error(requests.get(sandbox.url("/organizations/acme"), headers=h), 403, "forbidden")
    listed = requests.get(sandbox.url("/organizations"), headers=h).json()["items"]
    assert [x["id"] for x in listed] == [org["id"]]
    roles = sandbox.get(f"/organizations/{org['id']}/roles").json()["items"]
    assert {r["name"] for r in roles} >= {"org_admin", "org_member", "org_viewer"}
    assert all(set(r) == {"name", "label", "description", "scope"} for r in roles)
    zone = sandbox.get(f"/organizations/{org['id']}/roles", params={"scope": "zone"}).json()["items"]
    assert zone and all(r["scope"] == "zone" for r in zone)
    assert_error(sandbox.get(f"/organizations/{org['id']}/roles", params={"scope": "galaxy"}), 400)


def invite_and_accept(sandbox, org, email, role="org_member"):
    r = sandbox.post(f"/organizations/{org['id']}/invitations", json={"email": email, "role": role})
    assert r.status_code == 201, r.text
    inv = r.json()
    mail = sandbox.get("/_sandbox/outbox", params={"to": email}).json()["items"][-1]
    assert mail["invitation_id"] == inv["id"]
    r = sandbox.post(f"/invitations/{mail['token']}/accept")
    assert r.status_code == 200, r.text
    return inv, mail, r.json()


def test_invitations_and_users(sandbox, org):
    oid = org["id"]
    # the API key stands for a user: the organization's creator, its first admin
    (admin,) = sandbox.get(f"/organizations/{oid}/users").json()["items"]
    assert (admin["email"], admin["role"], admin["status"]) == ("admin@sandbox.keycard.local", "org_admin", "active")
    email = unique("ana") + "@example.com"
    r = sandbox.post(f"/organizations/{oid}/invitations", json={"email": email, "role": "org_admin"})
    assert r.status_code == 201
    inv = r.json()
    assert inv["status"] == "pending" and inv["organization_id"] == oid and inv["email"] == email
    assert TS.match(inv["expires_at"]) and inv["created_by"] == admin["id"]
    # a second pending invitation to the same email (any case) is a conflict
    assert_error(sandbox.post(f"/organizations/{oid}/invitations", json={"email": email.upper(), "role": "org_member"}), 409, "invitation_pending")
    listed = sandbox.get(f"/organizations/{oid}/invitations").json()
    assert [i["id"] for i in listed["items"]] == [inv["id"]]
    # the invitee's view, by token, without credentials
    mail = sandbox.get("/_sandbox/outbox", params={"to": email}).json()["items"][-1]
    assert mail["token"] != inv["id"]
    pub = requests.get(sandbox.url(f"/invitations/{mail['token']}"))
    assert pub.status_code == 200
    assert pub.json()["organization_name"] == org["name"] and pub.json()["status"] == "pending"
    assert_error(requests.get(sandbox.url("/invitations/nope")), 404)
    acc = requests.post(sandbox.url(f"/invitations/{mail['token']}/accept"))
    assert acc.status_code == 200
    a = acc.json()
    assert a == {"organization_id": oid, "organization_name": org["name"], "success": True, "user_id": a["user_id"]}
    assert_error(requests.post(sandbox.url(f"/invitations/{mail['token']}/accept")), 409)
    assert requests.get(sandbox.url(f"/invitations/{mail['token']}")).json()["status"] == "accepted"
    # now a user
    u = sandbox.get(f"/organizations/{oid}/users/{a['user_id']}").json()
    assert u["email"] == email and u["role"] == "org_admin" and u["status"] == "active" and u["source"]
    assert_error(sandbox.post(f"/organizations/{oid}/invitations", json={"email": email, "role": "org_member"}), 409, "already_member")
    users = sandbox.get(f"/organizations/{org['label']}/users").json()["items"]
    assert [x["id"] for x in users] == [admin["id"], a["user_id"]]
    assert sandbox.get(f"/organizations/{oid}/users", params={"role": "org_viewer"}).json()["items"] == []
    r = sandbox.patch(f"/organizations/{oid}/users/{a['user_id']}", json={"role": "org_viewer", "status": "disabled"})
    assert r.status_code == 200 and r.json()["role"] == "org_viewer" and r.json()["status"] == "disabled"
    assert_error(sandbox.patch(f"/organizations/{oid}/users/{a['user_id']}", json={"role": "king"}), 422, "validation_error")
    assert_error(sandbox.patch(f"/organizations/{oid}/users/{a['user_id']}", json={"status": "asleep"}), 422)
    assert_error(sandbox.patch(f"/organizations/{oid}/users/{a['user_id']}", json={"status": 1}), 422)
    # identities: users and invitations together
    email2 = unique("bo") + "@example.com"
    inv2 = sandbox.post(f"/organizations/{oid}/invitations", json={"email": email2, "role": "org_member"}).json()
    ids = sandbox.get(f"/organizations/{oid}/identities", params={"expand": "total_count"}).json()
    assert ids["pagination"]["total_count"] == 4
    kinds = {(i["type"], i["status"]) for i in ids["items"]}
    assert kinds == {("user", "active"), ("invitation", "accepted"), ("user", "disabled"), ("invitation", "pending")}
    q = sandbox.get(f"/organizations/{oid}/identities", params={"query[email]": email2[:6].upper(), "expand[]": "total_count"}).json()
    assert [i["id"] for i in q["items"]] == [inv2["id"]] and q["pagination"]["total_count"] == 1
    assert "total_count" not in sandbox.get(f"/organizations/{oid}/identities").json()["pagination"]
    role_f = sandbox.get(f"/organizations/{oid}/identities", params={"role": "org_viewer"}).json()["items"]
    assert [i["id"] for i in role_f] == [a["user_id"]]
    # deleting an invitation revokes it: still listed, no longer acceptable, and
    # no longer in the way of a new one; revoking it again is a 404
    assert sandbox.delete(f"/organizations/{oid}/invitations/{inv2['id']}").status_code == 204
    assert_error(sandbox.delete(f"/organizations/{oid}/invitations/{inv2['id']}"), 404)
    listed = {i["id"]: i["status"] for i in sandbox.get(f"/organizations/{oid}/invitations").json()["items"]}
    assert listed == {inv["id"]: "accepted", inv2["id"]: "revoked"}
    token2 = sandbox.get("/_sandbox/outbox", params={"to": email2}).json()["items"][-1]["token"]
    assert requests.get(sandbox.url(f"/invitations/{token2}")).json()["status"] == "revoked"
    assert_error(requests.post(sandbox.url(f"/invitations/{token2}/accept")), 409, "invitation_not_pending")
    assert_error(sandbox.delete(f"/organizations/{oid}/invitations/{inv['id']}"), 409, "invitation_not_pending")
    again = sandbox.post(f"/organizations/{oid}/invitations", json={"email": email2, "role": "org_member"})
    assert again.status_code == 201 and again.json()["status"] == "pending"
    r = sandbox.delete(f"/organizations/{oid}/users/{a['user_id']}", headers={"Content-Type": "application/json"})
    assert r.status_code == 204 and r.content == b""
    assert_error(sandbox.get(f"/organizations/{oid}/users/{a['user_id']}"), 404)


def test_service_accounts_and_credentials(sandbox, org):
    base = f"/organizations/{org['id']}/service-accounts"
    r = sandbox.post(base, json={"name": "ci", "description": "builds"})
    assert r.status_code == 201
    sa = r.json()
    assert sa["name"] == "ci" and sa["description"] == "builds" and ID.match(sa["id"])
    assert sandbox.get(f"{base}/{sa['id']}").json() == sa
    assert sandbox.patch(f"{base}/{sa['id']}", json={"name": "ci2"}).json()["description"] == "builds"
    cleared = sandbox.patch(f"{base}/{sa['id']}", json={"description": None}).json()
    assert cleared["name"] == "ci2" and "description" not in cleared
    assert [x["id"] for x in sandbox.get(base).json()["items"]] == [sa["id"]]
    cbase = f"{base}/{sa['id']}/credentials"
    r = sandbox.post(cbase, json={"name": "deploy"})
    assert r.status_code == 201
    cred = r.json()
    assert set(cred) == {"id", "client_id", "client_secret", "created_at", "name"}
    got = sandbox.get(f"{cbase}/{cred['id']}").json()
    assert "client_secret" not in got and got["client_id"] == cred["client_id"]
    assert all("client_secret" not in c for c in sandbox.get(cbase).json()["items"])
    assert sandbox.patch(f"{cbase}/{cred['id']}", json={"description": "prod"}).json()["description"] == "prod"
    # the credential works for the client credentials grant
    tok = requests.post(sandbox.url("/service-account-token"), data={"grant_type": "client_credentials"},
                        auth=(cred["client_id"], cred["client_secret"]))
    assert tok.status_code == 200, tok.text
    assert "last_used_at" in sandbox.get(f"{cbase}/{cred['id']}").json()
    assert sandbox.delete(f"{cbase}/{cred['id']}").status_code == 204
    assert_error(sandbox.get(f"{cbase}/{cred['id']}"), 404)
    # another organization's service account is not found (nor deleted) through this one
    other = sandbox.post("/organizations", json={"name": unique("Org ")}).json()
    theirs = sandbox.post(f"/organizations/{other['id']}/service-accounts", json={"name": "theirs"}).json()
    gone = assert_error(sandbox.delete(f"{base}/{theirs['id']}"), 404, "not_found")
    assert gone["message"] == f"service account '{theirs['id']}' not found"
    assert sandbox.get(f"/organizations/{other['id']}/service-accounts/{theirs['id']}").status_code == 200
    assert sandbox.delete(f"{base}/{sa['id']}").status_code == 204
    assert_error(sandbox.get(f"{base}/{sa['id']}"), 404)
    again = assert_error(sandbox.delete(f"{base}/{sa['id']}"), 404, "not_found")
    assert again["message"] == f"service account '{sa['id']}' not found"
    assert_error(sandbox.get(f"{cbase}"), 404)
    assert_error(sandbox.post(base, json={}), 422)
    assert_error(sandbox.post(base, json={"name": ""}), 422)
    assert_error(sandbox.post(base, json={"name": ["x"]}), 422)


def test_sso_connection(sandbox, org):
    p = f"/organizations/{org['id']}/sso-connection"
    assert_error(sandbox.get(p), 404)
    assert_error(sandbox.patch(p, json={"client_id": "x"}), 404)
    assert_error(sandbox.delete(p), 404)
    assert_error(sandbox.post(p, json={"client_id": "kc"}), 422)
    r = sandbox.post(p, json={
        "identifier": "https://idp.example.com", "client_id": "kc", "client_secret": "s3cret",
        "protocols": {"oauth2": {"scopes_supported": ["openid"], "token_endpoint": "https://idp.example.com/token"}}})
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["client_secret_set"] is True and "client_secret" not in s and s["identifier"] == "https://idp.example.com"
    assert s["protocols"]["oauth2"]["scopes_supported"] == ["openid"]
    assert sandbox.get(f"/organizations/{org['id']}").json()["sso_enabled"] is True
    assert_error(sandbox.post(p, json={"identifier": "https://x", "client_id": "kc"}), 409, "sso_already_enabled")
    u = sandbox.patch(p, json={"client_secret": None, "protocols": {"oauth2": {"token_endpoint": None}, "openid": {"scopes": ["groups"]}}}).json()
    assert u["client_secret_set"] is False
    assert u["protocols"] == {"oauth2": {"scopes_supported": ["openid"]}, "openid": {"scopes": ["groups"]}}
    assert_error(sandbox.patch(p, json={"protocols": {"oauth2": {"scopes_supported": "openid"}}}), 422)
    # client_id is always there (SSOConnection.ClientID is not optional): no null
    assert_error(sandbox.patch(p, json={"client_id": None}), 422)
    assert sandbox.patch(p, json={"client_id": "kc2"}).json()["client_id"] == "kc2"
    assert sandbox.get(p).json()["id"] == s["id"]
    assert sandbox.delete(p).status_code == 204
    assert sandbox.get(f"/organizations/{org['id']}").json()["sso_enabled"] is False
    assert_error(sandbox.get(p), 404)
    # No protocols reads the same after an enable as after an update: absent.
    r = sandbox.post(p, json={"identifier": "https://idp.example.com", "client_id": "kc", "protocols": {"oauth2": None}})
    assert r.status_code == 201 and "protocols" not in r.json(), r.text
    assert sandbox.delete(p).status_code == 204


def test_error_classes(sandbox, org):
    oid = org["id"]
    inv = f"/organizations/{oid}/invitations"
    # malformed JSON and wrong body types
    for body in (b"{", b"[1,2]", b'{"email": "a@b.co", "role": "org_member",}', b"\xff\xfe", b"null"):
        assert_error(sandbox.http.post(sandbox.url(inv), data=body, headers={"Content-Type": "application/json"}), 400, "invalid_json")
    assert_error(sandbox.post(inv, json={"email": "not-an-email", "role": "org_member"}), 422, "validation_error")
    assert_error(sandbox.post(inv, json={"email": "a@b.co", "role": "owner"}), 422)
    assert_error(sandbox.post(inv, json={"role": "org_member"}), 422)
    assert_error(sandbox.post(inv, json={"email": 7, "role": "org_member"}), 422)
    assert_error(sandbox.post("/organizations", json={"name": None}), 422)
    # paging parameters
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"after": "garbage!"}, {"before": "b3JnOjE"},
                   {"expand": "everything"}, {"role": "king"}):
        assert_error(sandbox.get(f"/organizations/{oid}/users", params=params), 400)
    assert sandbox.get(f"/organizations/{oid}/users", params={"limit": 1000}).status_code == 200
    # unknown things
    for path in ("/organizations/nope", f"/organizations/{oid}/users/nope", f"/organizations/{oid}/nothing",
                 "/nothing", "/", f"/organizations/{oid}/service-accounts/x/credentials", "/organizations/%zz"):
        assert_error(sandbox.get(path), 404)
    assert_error(sandbox.delete(f"/organizations/{oid}/invitations/nope"), 404)
    r = sandbox.http.put(sandbox.url(f"/organizations/{oid}"))
    assert_error(r, 405)
    assert "PATCH" in r.headers["Allow"]
    # credentials
    assert_error(requests.get(sandbox.url("/organizations")), 401, "unauthorized")
    assert_error(requests.get(sandbox.url("/organizations"), headers={"Authorization": "Bearer wrong"}), 401)
    assert_error(requests.get(sandbox.url("/organizations"), headers={"Authorization": "Basic abc"}), 401)
    # a body over 1 MiB
    assert_error(sandbox.post("/organizations", data=b"x" * (2 << 20)), 413)


def test_hostile_inputs_never_500(sandbox, org):
    oid = org["id"]
    bodies = [b"", b" ", b"{}", b'{"a":' * 5000, b"[" * 100000, b'"\\ud800"', b"1e999", b'{"name": "\x00"}',
              "{\"name\": \"\U0001F600\"}".encode(), b'{"name": {"x": 1}}', b'{"email": "a@b.co", "role": null}']
    paths = ["/organizations", f"/organizations/{oid}", f"/organizations/{oid}/invitations", f"/organizations/{oid}/service-accounts",
             f"/organizations/{oid}/sso-connection", f"/organizations/{oid}/token", "/service-account-token", "/invitations/x/accept"]
    for p in paths:
        for b in bodies:
            for m in ("POST", "PATCH"):
                r = sandbox.http.request(m, sandbox.url(p), data=b, headers={"Content-Type": "application/json"})
                assert r.status_code < 500, (m, p, b[:40], r.status_code, r.text)
                if r.status_code >= 400:
                    assert_error(r, r.status_code)
    for q in ("limit=%", "after=%ff", "expand=%00", "limit=99999999999999999999", "query%5Bemail%5D=%25_"):
        r = sandbox.get(f"/organizations/{oid}/identities?{q}")
        assert r.status_code < 500, (q, r.text)
    # random bytes as bodies, path segments and query strings
    rng = random.Random(7)
    for i in range(300):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
        seg = urllib.parse.quote(junk, safe="")
        method = rng.choice(["GET", "POST", "PATCH", "DELETE", "PUT"])
        path = rng.choice([f"/organizations/{seg}", f"/organizations/{oid}/users/{seg}", f"/invitations/{seg}/accept",
                           f"/organizations/{oid}/service-accounts/{seg}/credentials", f"/organizations/{oid}/users?{seg}"])
        r = sandbox.http.request(method, sandbox.url(path), data=junk)
        assert r.status_code < 500, (method, path, r.status_code, r.text)
