"""The iterator stages and terminals on plain lists (kc.iter), without a
server: filter, map (nil drops), take, collect, count, first, generic for;
then the new stages and terminals over the sandbox's pages."""
from treelib import SCALE_USERS, ok


def test_iter_combinators():
    lines = ok('''
      local it = kc.iter{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
      print(table.concat(it:filter(function(x) return x % 2 == 0 end)
        :map(function(x) if x ~= 4 then return x * 10 end end):collect(), ","))
      print(kc.iter{1, 2, 3}:take(0):count(), kc.iter{1, 2, 3}:take(2):count(), kc.iter{}:first())
      print(kc.iter{"a", "b"}:first(), kc.iter{1, 2, 3}:map(function() return nil end):count())
      local n = 0
      for x in kc.iter{5, 6, 7} do n = n + x end
      print(n)
      local i = 0
      print(kc.iter(function() i = i + 1; if i <= 3 then return i end end):collect()[3])
      print(pcall(kc.iter{1}.filter, kc.iter{1}, 3))
      print(pcall(kc.iter{1}.take, kc.iter{1}, -1))
      print(pcall(kc.iter, 3))
      -- a stage closes its source once done: take stops pulling
      local pulled = 0
      local src = kc.iter(function() pulled = pulled + 1; return pulled end)
      print(#src:take(4):collect(), pulled)
    ''')
    assert lines[0] == "20,60,80,100"
    assert lines[1] == "0\t2\tnil"
    assert lines[2] == "a\t0"
    assert lines[3] == "18"
    assert lines[4] == "3"
    assert lines[5] == "false\tbad argument #1 to 'filter' (function expected, got number)"
    assert lines[6] == "false\tbad argument #1 to 'take' (non-negative integer expected, got -1)"
    assert lines[7] == "false\tbad argument #1 to 'kc.iter' (table or function expected, got number)"
    assert lines[8] == "4\t4"


def test_iter_takes_what_a_for_loop_takes():
    """kc.iter(pairs(t)), kc.iter(ipairs(t)) and io.lines: state and control
    values are passed, items carry every value, the end is final and the
    closing value is closed."""
    lines = ok('''
      local t = {a = 1, b = 2, c = 3}
      local kv = kc.iter(pairs(t)):map(function(k, v) return k .. "=" .. v end):collect()
      table.sort(kv)
      print(table.concat(kv, ","))
      for i, v in kc.iter(ipairs{"x", "y"}) do io.write(i, v, " ") end
      print()
      -- ipairs stops at the hole, as in a for loop
      print(kc.iter(ipairs{1, 2, nil, 4}):count())
      -- past the end, pairs is not restarted
      local p = kc.iter(pairs{x = 1})
      local k1 = p()
      print(k1, p(), p())
      -- the state-free form: next, t
      print(kc.iter(next, {z = 26}):first())
      local path = os.tmpname()
      local f = assert(io.open(path, "w")); f:write("a\\nb\\nc\\n"); f:close()
      local fn, s, c, file = io.lines(path)
      print(kc.iter(fn, s, c, file):first(), io.type(file))
      fn, s, c, file = io.lines(path)
      print(#kc.iter(fn, s, c, file):collect(), io.type(file))
      os.remove(path)
      -- an iterator is kept as it is; a callable table is a function source
      local it = kc.iter{1}
      print(kc.iter(it) == it)
      local n = 0
      print(kc.iter(setmetatable({}, {__call = function() n = n + 1; if n < 3 then return n end end})):count())
    ''')
    assert lines[0] == "a=1,b=2,c=3"
    assert lines[1] == "1x 2y "
    assert lines[2] == "2"
    assert lines[3] == "x\tnil\tnil"
    assert lines[4] == "z\t26"
    assert lines[5] == "a\tclosed file"
    assert lines[6] == "3\tclosed file"
    assert lines[7] == "true"
    assert lines[8] == "2"


def test_stages_carry_every_value():
    lines = ok('''
      local function show(t)
        local out = {}
        for i, v in ipairs(t) do
          out[i] = type(v) == "table" and ("(" .. table.concat(v, " ") .. ")") or tostring(v)
        end
        return table.concat(out, ",")
      end
      local kv = kc.iter(ipairs{10, 20, 30, 40, 50})
      print(show(kv:filter(function(i, v) return i % 2 == 1 end):skip(1):take(1):collect()))
      -- map returning several values makes a multi-value item
      print(show(kc.iter{1, 2}:map(function(x) return x, x * x end):collect()))
      -- a map result whose first value is nil drops the item
      print(show(kc.iter{1, 2, 3}:map(function(x) if x ~= 2 then return x, "!" end end):collect()))
      print(show(kc.iter{"a", "b"}:enumerate():collect()))
      print(show(kc.iter(ipairs{"a", "b"}):enumerate():collect()))
      for i, k, v in kc.iter(ipairs{"p"}):enumerate() do print(i, k, v) end
      -- skip(pred) drops while pred holds; the first kept item stays
      print(show(kc.iter{1, 5, 2, 7}:skip(function(x) return x < 3 end):collect()))
      print(show(kc.iter(ipairs{1, 5, 2}):skip(function(i, v) return v < 3 end):collect()))
      print(show(kc.iter{1, 2, 3}:skip(5):collect()), kc.iter{1, 2, 3}:skip(0):count(), kc.iter{1, 2, 3}:skip(2):count())
      -- single-value items stay plain values in collect (unchanged)
      print(show(kc.iter{1, 2}:collect()), kc.iter(ipairs{"q"}):first())
    ''')
    assert lines[0] == "(3 30)"
    assert lines[1] == "(1 1),(2 4)"
    assert lines[2] == "(1 !),(3 !)"
    assert lines[3] == "(1 a),(2 b)"
    assert lines[4] == "(1 1 a),(2 2 b)"
    assert lines[5] == "1\t1\tp"
    assert lines[6] == "5,2,7"
    assert lines[7] == "(2 5),(3 2)"
    assert lines[8] == "\t3\t1"
    assert lines[9] == "1,2\t1\tq"


def test_terminals_fold_any_all_find_stop_early():
    """fold gets every value; any, all, find and first stop at their answer:
    the source raises if pulled past it, and is closed."""
    lines = ok('''
      print(kc.iter(ipairs{10, 20, 30}):fold(0, function(acc, i, v) return acc + i * v end))
      local t = kc.iter(pairs{a = 1, b = 2}):fold({}, function(acc, k, v) acc[v] = k; return acc end)
      print(t[1], t[2], kc.iter{}:fold("init", function() error("called") end))
      -- a source of 1..limit that raises when pulled past it, and says when closed
      local function upto(limit)
        local i = 0
        local it = kc.iter(function()
          i = i + 1
          if i > limit then error("pulled past " .. limit) end
          return i, i * 10
        end)
        return it
      end
      print(upto(3):any(function(x) return x == 3 end), upto(2):any(function(x, y) return y == 20 end))
      print(upto(1):all(function(x) return x > 1 end), upto(2):all(function(x, y) return y < 20 end))
      print(upto(4):find(function(x, y) return y == 40 end))
      print(upto(2):find(2))
      print(upto(2):enumerate():find(function(i, x, y) return y == 20 end))
      print(upto(1):first())
      print(upto(3):skip(2):first(), upto(3):take(3):count())
      -- exhausted: false, true, nil
      print(kc.iter{1, 2}:any(function(x) return x > 5 end), kc.iter{1, 2}:all(function(x) return x > 0 end),
        kc.iter{1, 2}:find(9))
      -- closed once answered
      local closed = 0
      local function src() return require("kc.iter").new(function() return 1 end, function() closed = closed + 1 end) end
      src():any(function() return true end); src():all(function() return false end); src():find(1)
      src():take(1):fold(0, function(a) return a end)
      print(closed)
    ''')
    assert lines[0] == "140"
    assert lines[1] == "a\tb\tinit"
    assert lines[2] == "true\ttrue"
    assert lines[3] == "false\tfalse"
    assert lines[4] == "4\t40"
    assert lines[5] == "2\t20"
    assert lines[6] == "2\t2\t20"
    assert lines[7] == "1\t10"
    assert lines[8] == "3\t3"
    assert lines[9] == "false\ttrue\tnil"
    assert lines[10] == "4"


def test_bad_arguments_name_the_function():
    lines = ok('''
      local it = kc.iter{1}
      print(pcall(it.fold, it, 0))
      print(pcall(it.fold, it, 0, 5))
      print(pcall(it.any, it))
      print(pcall(it.all, it, "x"))
      print(pcall(it.skip, it, -2))
      print(pcall(it.skip, it, 1.5))
      print(pcall(it.map, it, {}))
      print(pcall(kc.iter, true))
    ''')
    assert lines == [
        "false\tbad argument #2 to 'fold' (function expected, got nil)",
        "false\tbad argument #2 to 'fold' (function expected, got number)",
        "false\tbad argument #1 to 'any' (function expected, got nil)",
        "false\tbad argument #1 to 'all' (function expected, got string)",
        "false\tbad argument #1 to 'skip' (non-negative integer or function expected, got -2)",
        "false\tbad argument #1 to 'skip' (non-negative integer or function expected, got 1.5)",
        "false\tbad argument #1 to 'map' (function expected, got table)",
        "false\tbad argument #1 to 'kc.iter' (table or function expected, got boolean)",
    ]


def test_new_stages_and_terminals_page_lazily(scale):
    """Over pages of 7: skip crosses pages, enumerate numbers records, find,
    any and all stop fetching at their answer, fold sees every user, and
    skip keeps count() on the server's total."""
    scale.clear_requests()
    lines = ok('''
      local org = kc.org("scale")
      local u = org.users:each{limit = 7}:skip(10):first()
      print(u.email, getmetatable(u) ~= nil)
      local i, v = org.users:each{limit = 8}:enumerate():skip(3):first()
      print(i, v.email)
      print(org.users:each{limit = 9}:find(function(u) return u.email == "user12@scale.example" end).email)
      print(org.users:each{limit = 4}:any(function(u) return u.email == "user6@scale.example" end))
      print(org.users:each{limit = 6}:all(function(u) return u.email ~= "user3@scale.example" end))
      print(org.users:each{limit = 1000}:fold(0, function(n, u) return n + 1 end))
      print(org:identities():skip(5):count())
    ''', scale)
    assert lines[0] == "user11@scale.example\ttrue"
    assert lines[1] == "4\tuser4@scale.example"
    assert lines[2] == "user12@scale.example"
    assert lines[3] == "true"
    assert lines[4] == "false"
    assert lines[5] == str(SCALE_USERS)
    assert lines[6] == str(SCALE_USERS - 5)
    users = [r for r in scale.requests() if r["path"].endswith("/users")]

    def fetched(limit):
        return len([r for r in users if f"limit={limit}&" in r["query"] + "&"])
    # the page in use and at most one prefetched after it
    assert 2 <= fetched(7) <= 3  # user11 is on page 2
    assert 1 <= fetched(8) <= 2
    assert 2 <= fetched(9) <= 3
    assert 2 <= fetched(4) <= 3
    assert 1 <= fetched(6) <= 2
    idn = [r for r in scale.requests() if r["path"].endswith("/identities")]
    assert len(idn) == 1 and "total_count" in idn[0]["query"]


def test_pairs_of_kc_lists_its_fields_without_a_read_first():
    # kc fills itself on first use; pairs() is a first use too
    lines = ok('''
      local names = {}
      for k, v in pairs(kc) do names[#names + 1] = k .. ":" .. type(v) end
      table.sort(names)
      print(table.concat(names, " "))
      local again = 0
      for _ in pairs(kc) do again = again + 1 end
      print(again == #names)
    ''')
    names = lines[0].split()
    for want in ("org:function", "request:function", "iter:function", "organizations:table", "csv:table", "json:table"):
        assert want in names, names
    assert lines[1] == "true"
