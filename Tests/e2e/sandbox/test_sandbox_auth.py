"""Credentials: API key, client credentials grant, organization tokens, expiry, and
secrets kept only as hashes."""
import base64
import sqlite3
import time

import requests

from sandboxlib import assert_error


def make_credential(s, org="acme"):
    sa = s.post(f"/organizations/{org}/service-accounts", json={"name": "auth-test"}).json()
    cred = s.post(f"/organizations/{org}/service-accounts/{sa['id']}/credentials", json={"name": "k"}).json()
    return sa, cred


def test_client_credentials_basic_and_form(sandbox):
    _, cred = make_credential(sandbox)
    url = sandbox.url("/service-account-token")
    basic = requests.post(url, data={"grant_type": "client_credentials"}, auth=(cred["client_id"], cred["client_secret"]))
    form = requests.post(url, data={"grant_type": "client_credentials", "client_id": cred["client_id"],
                                    "client_secret": cred["client_secret"]})
    for r in (basic, form):
        assert r.status_code == 200, r.text
        t = r.json()
        assert t["token_type"] == "Bearer" and t["expires_in"] == 3600
        h = {"Authorization": f"Bearer {t['access_token']}"}
        assert requests.get(sandbox.url("/organizations/acme/users"), headers=h).status_code == 200
        assert_error(requests.get(sandbox.url("/organizations/globex/users"), headers=h), 403)
        assert_error(requests.post(sandbox.url("/organizations"), headers=h, json={"name": "x"}), 403)
    assert_error(requests.post(url, data={"grant_type": "client_credentials"}, auth=(cred["client_id"], "wrong")), 401, "invalid_client")
    assert_error(requests.post(url, data={"grant_type": "client_credentials"}, auth=("nobody", "x")), 401, "invalid_client")
    assert_error(requests.post(url, data={"grant_type": "client_credentials"}), 401, "invalid_client")
    assert_error(requests.post(url, data={"grant_type": "password"}, auth=(cred["client_id"], cred["client_secret"])), 400, "unsupported_grant_type")
    assert_error(requests.post(url, data={}), 400)
    # a deleted credential stops working, and so do its tokens
    token = basic.json()["access_token"]
    sa_id = [x for x in sandbox.get("/organizations/acme/service-accounts", params={"limit": 1000}).json()["items"]][-1]["id"]
    creds = sandbox.get(f"/organizations/acme/service-accounts/{sa_id}/credentials").json()["items"]
    for c in creds:
        sandbox.delete(f"/organizations/acme/service-accounts/{sa_id}/credentials/{c['id']}")
    assert_error(requests.post(url, data={"grant_type": "client_credentials"}, auth=(cred["client_id"], cred["client_secret"])), 401)
    assert_error(requests.get(sandbox.url("/organizations/acme"), headers={"Authorization": f"Bearer {token}"}), 401)


def test_tokens_expire(start_sandbox):
    s = start_sandbox("--token-ttl", "1")
    org = s.post("/organizations", json={"name": "Expiry"}).json()
    t = s.post(f"/organizations/{org['id']}/token").json()
    assert t["expires_in"] == 1
    h = {"Authorization": f"Bearer {t['access_token']}"}
    assert requests.get(s.url(f"/organizations/{org['id']}"), headers=h).status_code == 200
    time.sleep(1.3)
    assert_error(requests.get(s.url(f"/organizations/{org['id']}"), headers=h), 401, "token_expired")


def test_secrets_are_stored_hashed(start_sandbox, tmp_path):
    db = tmp_path / "kc.db"
    s = start_sandbox("--db", str(db), "--api-key", "key-never-stored")
    org = s.post("/organizations", json={"name": "Hashes"}).json()
    _, cred = make_credential(s, org["id"])
    s.post(f"/organizations/{org['id']}/sso-connection", json={"identifier": "https://idp", "client_id": "c", "client_secret": "sso-secret-xyz"})
    tok = s.post(f"/organizations/{org['id']}/token").json()["access_token"]
    s.post(f"/organizations/{org['id']}/invitations", json={"email": "hash@example.com", "role": "org_member"})
    inv_token = s.get("/_sandbox/outbox", params={"to": "hash@example.com"}).json()["items"][-1]["token"]
    s.stop()
    raw = b""
    for f in tmp_path.iterdir():
        raw += f.read_bytes()
    for secret in (cred["client_secret"], "sso-secret-xyz", tok, inv_token, "key-never-stored"):
        assert secret.encode() not in raw, secret
    con = sqlite3.connect(db)
    hashes = [r[0] for r in con.execute("SELECT secret_hash FROM credentials")]
    assert hashes and all(len(h) == 64 for h in hashes)
    con.close()


def test_bearer_forms(sandbox):
    for h in ({"Authorization": f"bearer {sandbox.key}"}, {"Authorization": f"Bearer  {sandbox.key}"}):
        assert requests.get(sandbox.url("/organizations"), headers=h).status_code == 200
    basic = base64.b64encode(f"x:{sandbox.key}".encode()).decode()
    assert_error(requests.get(sandbox.url("/organizations"), headers={"Authorization": f"Basic {basic}"}), 401)
