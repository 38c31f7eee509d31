"""Paging over thousands of users: page sizes 1, 7 and 1000, early break,
chained combinators, backward paging, count()."""
import pytest

from treelib import SCALE_USERS, ok


def pages(n, size):
    return -(-n // size)


def users_with(rest):
    """How many scale users n have n % 5 == rest: the scale loader
    (Store.loadScale) makes user n an admin when n % 5 == 0 and a viewer
    when n % 5 == 4, every user active."""
    return sum(1 for n in range(1, SCALE_USERS + 1) if n % 5 == rest)


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_each_walks_every_user_once(scale, size):
    scale.clear_requests()
    lines = ok(f'''
      local org = kc.org("scale")
      local n, seen, last = 0, {{}}, nil
      for user in org.users:each{{limit = {size}}} do
        n = n + 1
        assert(not seen[user.id], "twice: " .. user.id)
        seen[user.id] = true
        -- records are in creation order: user1, user2, ...
        assert(user.email == "user" .. n .. "@scale.example", user.email)
        assert(getmetatable(user), "not a record")
      end
      print(n)
    ''', scale, timeout=600)
    assert lines == [str(SCALE_USERS)]
    users = [r for r in scale.requests() if r["path"].endswith("/users")]
    # The sandbox keeps the last 1000 requests.
    assert len(users) == min(pages(SCALE_USERS, size), 1000)
    assert all(f"limit={size}" in r["query"] for r in users)


def test_early_break_fetches_no_more(scale):
    scale.clear_requests()
    lines = ok('''
      local org = kc.org("scale")
      local n = 0
      for user in org.users:each{limit = 7} do
        n = n + 1
        if n == 10 then break end
      end
      print(n)
      -- the loop is over: nothing else is asked for, whatever is collected
      collectgarbage("collect")
      local t = org.users:each{limit = 5}:take(12):collect()
      print(#t, t[12].email)
      print(org.users:each{limit = 3}:first().email)
    ''', scale)
    assert lines == ["10", "12\tuser12@scale.example", "user1@scale.example"]
    users = [r for r in scale.requests() if r["path"].endswith("/users")]
    # break at item 10 of pages of 7: page 2 in use, page 3 prefetched at most.
    loop1 = [r for r in users if "limit=7" in r["query"]]
    assert 2 <= len(loop1) <= 3, loop1
    loop2 = [r for r in users if "limit=5" in r["query"]]
    assert 3 <= len(loop2) <= 4, loop2
    loop3 = [r for r in users if "limit=3" in r["query"]]
    assert 1 <= len(loop3) <= 2, loop3


def test_chained_combinators(scale):
    lines = ok('''
      local org = kc.org("scale")
      local admins = org.users:each{limit = 250}
        :filter(function(u) return u.role == "org_admin" end)
        :map(function(u) return tonumber(u.email:match("^user(%d+)@")) end)
        :filter(function(n) return n % 2 == 0 end)
        :take(5)
        :collect()
      print(table.concat(admins, ","))
      -- map returning nil drops the item
      print(org.users:each{limit = 100}:map(function(u) if u.email:find("^user1%d%d%d@") then return u end end):count())
      print(org.users:each{limit = 100}:filter(function(u) return u.status == "active" end):count())
      print(org.users:each{role = "org_viewer", limit = 1000}:count())
      local first = org.users:each{limit = 50}:filter(function(u) return u.email == "user120@scale.example" end):first()
      print(first.email, first:reload().email)
    ''', scale)
    # admins are users 5, 10, 15, ...: the first five even ones are 10..50
    assert lines[0] == "10,20,30,40,50"
    assert lines[1] == "1000"
    assert lines[2] == str(SCALE_USERS)
    assert lines[3] == str(users_with(4))
    assert lines[4] == "user120@scale.example\tuser120@scale.example"


def test_count_by_walking_and_by_total(scale):
    scale.clear_requests()
    lines = ok('''
      local org = kc.org("scale")
      print(org.users:each{limit = 1000}:count())
      print(org:identities():count())
      print(org:identities{role = "org_admin"}:count())
      print(org:identities{limit = 1000, role = "org_admin"}:filter(function() return true end):count())
      print(org:identities():take(5):count())
    ''', scale)
    assert lines[0] == str(SCALE_USERS)
    assert lines[1] == str(SCALE_USERS)
    # the admins, by total_count and by walking
    assert lines[2] == lines[3] == str(users_with(0))
    assert lines[4] == "5"
    idn = [r for r in scale.requests() if r["path"].endswith("/identities")]
    totals = [r for r in idn if "total_count" in r["query"]]
    # identities count() is one request with expand=total_count (three of them)
    assert len(totals) == 3 and all("limit=1" in r["query"] for r in totals)


def test_list_next_and_prev(scale):
    lines = ok('''
      local org = kc.org("scale")
      local page = org.users:list{limit = 7}
      print(#page.items, page.page_info.has_prev_page, page:prev())
      local forward = {}
      local n = 0
      while page do
        n = n + 1
        forward[n] = page.items[1].email
        last = page
        page = page:next()
      end
      print(n, #last.items, last.page_info.has_next_page)
      -- and back again
      page, n = last, 0
      local ok = true
      while page do
        ok = ok and page.items[1].email == forward[#forward - n]
        n = n + 1
        page = page:prev()
      end
      print(n, ok)
    ''', scale, timeout=600)
    full, rest = divmod(SCALE_USERS, 7)
    assert lines[0] == "7\tfalse\tnil"
    assert lines[1] == f"{pages(SCALE_USERS, 7)}\t{rest or 7}\tfalse"
    assert lines[2] == f"{pages(SCALE_USERS, 7)}\ttrue"


def test_each_from_a_cursor(scale):
    lines = ok('''
      local org = kc.org("scale")
      local p = org.users:list{limit = 10}
      local it = org.users:each{limit = 10, after = p.page_info.end_cursor}
      print(it:first().email)
    ''', scale)
    assert lines == ["user11@scale.example"]
