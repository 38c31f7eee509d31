"""Keyset paging: forward and backward over thousands of rows while other clients
insert and delete, with no item lost or repeated."""
import threading

from sandboxlib import assert_error


def last_page_start(s, path, limit, params):
    """The start_cursor of the last page, found by paging forward (the API has no
    "last N": a client reaches the end, then goes back with `before`)."""
    q = dict(params or {}, limit=limit)
    while True:
        page = s.get(path, params=q).json()
        if not page["page_info"]["has_next_page"]:
            return page["page_info"].get("end_cursor")
        q["after"] = page["page_info"]["end_cursor"]


def fetch(s, path, q):
    r = s.get(path, params=q)
    assert r.status_code == 200, r.text
    page = r.json()
    info = page["page_info"]
    if page["items"]:
        assert info["start_cursor"] and info["end_cursor"]
    else:
        assert "start_cursor" not in info and "end_cursor" not in info
    return page


def walk(s, path, direction, limit, params=None):
    """All items of a list. Forward follows end_cursor from the first page; backward
    reaches the last page (the API has no "last N") and follows start_cursor back."""
    q = dict(params or {}, limit=limit)
    page = fetch(s, path, q)
    if direction == "backward":
        while page["page_info"]["has_next_page"]:
            page = fetch(s, path, dict(q, after=page["page_info"]["end_cursor"]))
    items = list(page["items"])
    while True:
        info = page["page_info"]
        more = info["has_next_page"] if direction == "forward" else info["has_prev_page"]
        if not more:
            return items
        key, cursor = ("after", info["end_cursor"]) if direction == "forward" else ("before", info["start_cursor"])
        page = fetch(s, path, dict(q, **{key: cursor}))
        got = page["items"]
        assert len(got) <= limit
        if got:
            # we came from a neighbouring page, so there is one behind us
            assert page["page_info"]["has_prev_page" if direction == "forward" else "has_next_page"]
        items = items + got if direction == "forward" else got + items


def test_walk_both_ways_with_concurrent_writes(start_sandbox):
    s = start_sandbox("--scale", "3000")
    path = "/organizations/scale/users"
    before = walk(s, path, "forward", 1000)
    assert len(before) == 3000
    original = [u["id"] for u in before]
    ident_path = "/organizations/scale/identities"
    stop = threading.Event()
    deleted, added = set(), set()
    errors = []

    def writer():
        # deletes every 7th original user, and adds users through invitations
        i = 0
        try:
            while not stop.is_set() and i < 400:
                victim = original[(i * 7) % len(original)]
                if s.delete(f"/organizations/scale/users/{victim}").status_code == 204:
                    deleted.add(victim)
                email = f"new{i}@scale.example"
                r = s.post("/organizations/scale/invitations", json={"email": email, "role": "org_member"})
                mail = s.get("/_sandbox/outbox", params={"to": email}).json()["items"][-1]
                a = s.post(f"/invitations/{mail['token']}/accept")
                assert r.status_code == 201 and a.status_code == 200
                added.add(a.json()["user_id"])
                i += 1
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    try:
        for direction in ("forward", "backward"):
            for limit in (37, 100):
                snapshot_deleted = set(deleted)
                users = walk(s, path, direction, limit)
                ids = [u["id"] for u in users]
                assert len(ids) == len(set(ids)), "an item was repeated"
                got = set(ids)
                # every original user not deleted before the walk ended is there
                missing = [x for x in original if x not in got and x not in deleted]
                assert not missing, f"{len(missing)} items lost ({direction}, limit {limit})"
                assert not (got & snapshot_deleted), "a user deleted before the walk began was listed"
                # order is creation order in both directions
                pos = {x: i for i, x in enumerate(original)}
                seen_orig = [pos[x] for x in ids if x in pos]
                assert seen_orig == sorted(seen_orig)
                # anything else is a user the writer added (by email: the writer
                # records the id only after the accept has answered, and the
                # walk can see the user before that)
                others = {u["email"] for u in users if u["id"] not in pos}
                assert all(e.startswith("new") and e.endswith("@scale.example") for e in others), others
        # identities merge two tables (users and invitations) under one cursor
        for direction in ("forward", "backward"):
            ids = [i["id"] for i in walk(s, ident_path, direction, 64)]
            assert len(ids) == len(set(ids)), "an identity was repeated"
            missing = [x for x in original if x not in set(ids) and x not in deleted]
            assert not missing, f"{len(missing)} identities lost ({direction})"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert deleted and added
    # at rest, both directions agree exactly
    fwd = [u["id"] for u in walk(s, path, "forward", 250)]
    bwd = [u["id"] for u in walk(s, path, "backward", 333)]
    assert fwd == bwd and len(fwd) == 3000 - len(deleted) + len(added)


def test_page_info_edges(start_sandbox):
    s = start_sandbox("--scale", "10")
    path = "/organizations/scale/users"
    first = s.get(path, params={"limit": 4}).json()
    assert first["page_info"]["has_next_page"] and not first["page_info"]["has_prev_page"]
    mid = s.get(path, params={"limit": 4, "after": first["page_info"]["end_cursor"]}).json()
    assert mid["page_info"]["has_next_page"] and mid["page_info"]["has_prev_page"]
    last = s.get(path, params={"limit": 4, "after": mid["page_info"]["end_cursor"]}).json()
    assert len(last["items"]) == 2 and not last["page_info"]["has_next_page"] and last["page_info"]["has_prev_page"]
    # back from the last page gives the middle page again
    back = s.get(path, params={"limit": 4, "before": last["page_info"]["start_cursor"]}).json()
    assert back["items"] == mid["items"] and back["page_info"]["has_next_page"] and back["page_info"]["has_prev_page"]
    # past the end: an empty page with no cursors
    empty = s.get(path, params={"limit": 4, "after": last["page_info"]["end_cursor"]}).json()
    assert empty["items"] == [] and empty["page_info"] == {"has_next_page": False, "has_prev_page": True}
    # a cursor keeps its place when its own item is deleted
    edge = mid["items"][-1]["id"]
    assert s.delete(f"/organizations/scale/users/{edge}").status_code == 204
    again = s.get(path, params={"limit": 4, "after": mid["page_info"]["end_cursor"]}).json()
    assert again["items"] == last["items"]
    # both after and before: the rows between
    between = s.get(path, params={"limit": 100, "after": first["page_info"]["end_cursor"],
                                  "before": last["page_info"]["start_cursor"]}).json()
    assert [u["id"] for u in between["items"]] == [u["id"] for u in mid["items"][:-1]]
    assert between["page_info"]["has_next_page"] and between["page_info"]["has_prev_page"]
    # filters page too, and cursors from another list are refused
    admins = walk(s, path, "forward", 1, params={"role": "org_admin"})
    assert admins and all(u["role"] == "org_admin" for u in admins)
    assert_error(s.get("/organizations/scale/invitations", params={"after": first["page_info"]["end_cursor"]}), 400, "invalid_cursor")


def test_every_list_pages(sandbox):
    acme = "/organizations/acme"
    for path in ("/organizations", f"{acme}/users", f"{acme}/invitations", f"{acme}/service-accounts", f"{acme}/identities"):
        full = sandbox.get(path, params={"limit": 1000}).json()["items"]
        assert walk(sandbox, path, "forward", 1) == full
        assert walk(sandbox, path, "backward", 2) == full
    sa = sandbox.get(f"{acme}/service-accounts").json()["items"][-1]["id"]
    creds = f"{acme}/service-accounts/{sa}/credentials"
    assert walk(sandbox, creds, "backward", 1) == sandbox.get(creds).json()["items"]
    ids = sandbox.get(f"{acme}/identities", params={"limit": 3}).json()
    assert ids["pagination"]["after_cursor"] == ids["page_info"]["end_cursor"]
    assert ids["pagination"]["before_cursor"] == ids["page_info"]["start_cursor"]
