"""Every recipe of docs/cookbook.md runs against a demo sandbox of its own (the
recipes change data the other tree tests rely on), so the cookbook stays true."""
import re

import pytest

from sandboxproc import start
from treelib import ROOT, kcsh

RECIPES = re.findall(r"^## (.+?)\n.*?^```lua\n(.*?)^```", (ROOT / "docs" / "cookbook.md").read_text(),
                     re.S | re.M)

# What each recipe must print, beyond running cleanly.
EXPECT = {
    "Export an organization's users as CSV": ["email,role,status", "ana@acme.com,org_admin,active"],
    "Disable every active user of one email domain": ["users disabled"],
    "List pending invitations": ["@acme.com\torg_", "\texpires 20"],
    "Invite a list of people, skipping those already invited":
        ["invited\tnew1@acme.com", "invited\tnew2@acme.com", "already invited\tnew1@acme.com"],
    "Invite many people at once, with an outcome file": ["50\t1\n", "51,failed,422,validation_error,"],
    "Count users by role": ["org_admin 7\norg_member 11\norg_viewer 6\n"],
    "Rotate a service account's credential": ["deleted\t", "secret saved in "],
    "Handle errors as values": ["404\tnot_found"],
    "See what a migration would change before it changes anything": ["created\tdeploy\ton\tci-migrated"],
    "A migration you can stop and resume":
        ["invitations: 40 ok, 0 failed", "service account\tci-infra\tkcc_", "secrets written to "],
    "Call an endpoint directly": ["org_admin\norg_member\norg_viewer\n", '"tags":[]', '"note":null'],
}


@pytest.fixture(scope="module")
def cook():
    s = start("--demo")
    yield s
    s.stop()


def test_every_recipe_is_checked():
    assert sorted(title for title, _ in RECIPES) == sorted(EXPECT)


@pytest.mark.parametrize("title,code", RECIPES, ids=[t for t, _ in RECIPES])
def test_recipe(cook, title, code):
    r = kcsh(code, cook)
    assert r.rc == 0, f"{title} failed:\n{r.err}"
    for text in EXPECT[title]:
        assert text in r.out, f"{title}: {text!r} not in\n{r.out}"
