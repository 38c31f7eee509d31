"""docs/reference.md and stdlib/types/kc.lua are generated from
stdlib/kc/api.lua; these fail when the committed files are stale."""
import subprocess

import pytest

from e2epaths import clean_env
from treelib import KCSH, ROOT

GENERATED = [
    ("scripts/gen-reference.lua", "docs/reference.md"),
    ("scripts/gen-types.lua", "stdlib/types/kc.lua"),
]


@pytest.mark.parametrize("script,target", GENERATED)
def test_generated_file_is_current(script, target):
    proc = subprocess.run([str(KCSH), script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr
    committed = (ROOT / target).read_text()
    assert proc.stdout == committed, (
        f"{target} is stale: run `kcsh {script} > {target}` (with kcsh from your build) and commit it")


def test_reference_covers_every_operation():
    """Every operation of the description has a section, and every endpoint
    of the API reference text appears in the generated reference."""
    text = (ROOT / "docs/reference.md").read_text()
    for verb, path in [
        ("POST", "/organizations"), ("GET", "/organizations"), ("GET", "/organizations/{organization_id}"),
        ("PATCH", "/organizations/{organization_id}"), ("POST", "/organizations/{organization_id}/token"),
        ("GET", "/organizations/{organization_id}/roles"), ("GET", "/organizations/{organization_id}/identities"),
        ("GET", "/organizations/{organization_id}/users"),
        ("GET", "/organizations/{organization_id}/users/{user_id}"),
        ("PATCH", "/organizations/{organization_id}/users/{user_id}"),
        ("DELETE", "/organizations/{organization_id}/users/{user_id}"),
        ("POST", "/organizations/{organization_id}/invitations"),
        ("GET", "/organizations/{organization_id}/invitations"),
        ("DELETE", "/organizations/{organization_id}/invitations/{invitation_id}"),
        ("POST", "/organizations/{organization_id}/service-accounts"),
        ("GET", "/organizations/{organization_id}/service-accounts"),
        ("GET", "/organizations/{organization_id}/service-accounts/{service_account_id}"),
        ("PATCH", "/organizations/{organization_id}/service-accounts/{service_account_id}"),
        ("DELETE", "/organizations/{organization_id}/service-accounts/{service_account_id}"),
        ("POST", "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials"),
        ("GET", "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials"),
        ("GET", "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}"),
        ("PATCH", "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}"),
        ("DELETE", "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}"),
        ("POST", "/organizations/{organization_id}/sso-connection"),
        ("GET", "/organizations/{organization_id}/sso-connection"),
        ("PATCH", "/organizations/{organization_id}/sso-connection"),
        ("DELETE", "/organizations/{organization_id}/sso-connection"),
    ]:
        assert f"`{verb} {path}`" in text, (verb, path)


def test_emit_types_prints_the_annotations():
    proc = subprocess.run([str(KCSH), "--emit-types"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (ROOT / "stdlib/types/kc.lua").read_text()
