"""The official Python SDK (keycardai-api) drives every endpoint it has against the
sandbox, with strict response validation, so every answer parses into its models.

0.18 (pinned in requirements.txt) has organizations, invitations, service accounts,
credentials and SSO, and wants `zone_id`; its client-credentials flow always posts to
api.keycard.ai, so a transport sends that request to the sandbox instead. Users,
identities, roles and the token exchange went away in 0.15: they are driven through
0.14 in a child Python, installed on the side by scripts/bootstrap --test
(requirements-old-sdk.txt; that release authenticates with client credentials only)."""
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

keycardai_api = pytest.importorskip("keycardai_api")
import httpx  # noqa: E402 (one of the SDK's dependencies)
from keycardai_api import KeycardAPI, NotFoundError, ConflictError, UnprocessableEntityError  # noqa: E402

from sandboxlib import ROOT, unique  # noqa: E402


def client(s, **kw):
    return KeycardAPI(api_key=s.key, base_url=s.base, max_retries=0, _strict_response_validation=True, **kw)


def test_sdk_organizations_invitations_service_accounts_credentials_sso(sandbox):
    kc = client(sandbox)
    org = kc.organizations.create(name=unique("SDK "))
    assert org.zone_id and org.sso_enabled is False
    assert kc.organizations.retrieve(org.label).id == org.id
    assert kc.organizations.retrieve(org.id, expand=["permissions"]).permissions["organizations"]["read"]
    assert kc.organizations.update(org.id, name="SDK renamed").name == "SDK renamed"
    page = kc.organizations.list(limit=2)
    assert page.page_info.has_next_page and len(page.items) == 2
    nxt = kc.organizations.list(limit=2, after=page.page_info.end_cursor)
    assert nxt.page_info.has_prev_page and {o.id for o in nxt.items}.isdisjoint({o.id for o in page.items})

    inv = kc.organizations.invitations.create(org.id, email="sdk@example.com", role="org_member")
    assert inv.status == "pending" and inv.organization_id == org.id
    with pytest.raises(ConflictError):
        kc.organizations.invitations.create(org.id, email="sdk@example.com", role="org_member")
    with pytest.raises(UnprocessableEntityError):
        kc.organizations.invitations.create(org.id, email="nope", role="org_member")
    assert [i.id for i in kc.organizations.invitations.list(org.id, expand=["permissions"]).items] == [inv.id]
    token = sandbox.get("/_sandbox/outbox", params={"to": "sdk@example.com"}).json()["items"][-1]["token"]
    public = kc.invitations.retrieve(token)
    assert public.organization_name == "SDK renamed" and public.role == "org_member"
    accepted = kc.invitations.accept(token)
    assert accepted.success and accepted.organization_id == org.id and accepted.user_id
    inv2 = kc.organizations.invitations.create(org.id, email="sdk2@example.com", role="org_viewer")
    kc.organizations.invitations.delete(inv2.id, organization_id=org.id)
    with pytest.raises(NotFoundError):
        kc.organizations.invitations.delete(inv2.id, organization_id=org.id)

    sa = kc.organizations.service_accounts.create(org.id, name="ci", description="builds")
    assert kc.organizations.service_accounts.retrieve(sa.id, organization_id=org.id, expand=["permissions"]).permissions
    assert kc.organizations.service_accounts.update(sa.id, organization_id=org.id, name="ci2").name == "ci2"
    assert [x.id for x in kc.organizations.service_accounts.list(org.id).items] == [sa.id]
    cred = kc.organizations.service_accounts.credentials.create(sa.id, organization_id=org.id, name="deploy")
    assert cred.client_secret
    got = kc.organizations.service_accounts.credentials.retrieve(cred.id, organization_id=org.id, service_account_id=sa.id)
    assert got.client_id == cred.client_id
    upd = kc.organizations.service_accounts.credentials.update(cred.id, organization_id=org.id, service_account_id=sa.id, description="d")
    assert upd.description == "d"
    assert [c.id for c in kc.organizations.service_accounts.credentials.list(sa.id, organization_id=org.id).items] == [cred.id]

    # the client credentials flow, with its token request sent to the sandbox
    sandbox_url = httpx.URL(sandbox.base)

    class ToSandbox(httpx.HTTPTransport):
        def handle_request(self, request):
            request.url = request.url.copy_with(scheme=sandbox_url.scheme, host=sandbox_url.host, port=sandbox_url.port)
            return super().handle_request(request)

    sa_client = KeycardAPI(client_id=cred.client_id, client_secret=cred.client_secret, base_url=sandbox.base, max_retries=0,
                           _strict_response_validation=True, http_client=httpx.Client(transport=ToSandbox()))
    assert sa_client.organizations.retrieve(org.id).id == org.id
    assert [o.id for o in sa_client.organizations.list().items] == [org.id]

    sso = kc.organizations.sso_connection.enable(org.id, identifier="https://idp.example.com", client_id="kc", client_secret="s",
                                                 protocols={"openid": {"scopes": ["groups"]}})
    assert sso.client_secret_set and sso.protocols.openid.scopes == ["groups"]
    with pytest.raises(ConflictError):
        kc.organizations.sso_connection.enable(org.id, identifier="https://x", client_id="kc")
    assert kc.organizations.sso_connection.retrieve(org.id).id == sso.id
    upd = kc.organizations.sso_connection.update(org.id, client_id="kc2", protocols={"oauth2": {"scopes_supported": ["a"]}})
    assert upd.client_id == "kc2" and upd.protocols.oauth2.scopes_supported == ["a"] and upd.protocols.openid.scopes == ["groups"]
    kc.organizations.sso_connection.disable(org.id)
    with pytest.raises(NotFoundError):
        kc.organizations.sso_connection.retrieve(org.id)

    kc.organizations.service_accounts.credentials.delete(cred.id, organization_id=org.id, service_account_id=sa.id)
    kc.organizations.service_accounts.delete(sa.id, organization_id=org.id)
    with pytest.raises(NotFoundError):
        kc.organizations.service_accounts.retrieve(sa.id, organization_id=org.id)


OLD_SDK = re.search(r"^keycardai-api==(\S+)$", (ROOT / "Tests" / "e2e" / "requirements-old-sdk.txt").read_text(),
                    re.M).group(1)
OLD_SDK_SCRIPT = textwrap.dedent("""
    import sys
    import httpx
    from keycardai_api import KeycardAPI
    base, client_id, client_secret = sys.argv[1:4]
    sandbox_url = httpx.URL(base)

    class ToSandbox(httpx.HTTPTransport):
        # this release sends no API key, and takes tokens from api.keycard.ai only
        def handle_request(self, request):
            request.url = request.url.copy_with(scheme=sandbox_url.scheme, host=sandbox_url.host, port=sandbox_url.port)
            return super().handle_request(request)

    kc = KeycardAPI(client_id=client_id, client_secret=client_secret, base_url=base, max_retries=0,
                    _strict_response_validation=True, http_client=httpx.Client(transport=ToSandbox()))
    org = "acme"
    users = kc.organizations.users.list(org, limit=5, expand=["permissions"])
    assert len(users.items) == 5 and users.page_info.has_next_page and users.items[0].permissions
    more = kc.organizations.users.list(org, limit=5, after=users.page_info.end_cursor, role="org_member")
    assert all(u.role == "org_member" for u in more.items)
    u = kc.organizations.users.retrieve(users.items[1].id, organization_id=org)
    assert u.email == users.items[1].email
    u = kc.organizations.users.update(u.id, organization_id=org, role="org_viewer", status="disabled")
    assert (u.role, u.status) == ("org_viewer", "disabled")
    kc.organizations.users.delete(u.id, organization_id=org)
    ids = kc.organizations.list_identities(org, expand=["total_count"], query_email="acme.com", limit=3)
    assert ids.pagination.total_count and len(ids.items) == 3 and {i.type for i in ids.items} <= {"user", "invitation"}
    roles = kc.organizations.list_roles(org, scope="organization")
    assert {r.name for r in roles.items} == {"org_admin", "org_member", "org_viewer"}
    tok = kc.organizations.exchange_token(org)
    assert tok.token_type == "Bearer" and tok.access_token
    print("old sdk ok")
""")


def test_old_sdk_users_identities_roles_token(start_sandbox):
    target = ROOT / ".build-e2e" / f"keycardai-api-{OLD_SDK}"
    if not (target / "keycardai_api").exists():
        pytest.skip(f"keycardai-api {OLD_SDK} is not in {target} (scripts/bootstrap --test)")
    s = start_sandbox("--demo")
    sa = s.post("/organizations/acme/service-accounts", json={"name": "old-sdk"}).json()
    cred = s.post(f"/organizations/acme/service-accounts/{sa['id']}/credentials", json={"name": "k"}).json()
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", OLD_SDK_SCRIPT, s.base, cred["client_id"], cred["client_secret"]],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "old sdk ok" in out.stdout, out.stderr
