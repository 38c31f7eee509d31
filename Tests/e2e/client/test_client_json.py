"""kc.json through kcsh: no server needed, so these also run under ASan."""
import pytest

from clientlib import kcsh, clean_env

pytestmark = pytest.mark.asan

ENV = clean_env(XDG_CONFIG_HOME="/nonexistent")


def lua(code):
    r = kcsh("-e", code, env=ENV)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_round_trips():
    out = lua(r"""
        local j = kc.json
        local doc = '{"a":[1,2.5,"x\\u00e9\\n",true,false,null,{}],"b":{},"c":[],"d":-9223372036854775808,"e":1e400}'
        local v = j.decode(doc)
        print(#v.a, v.a[6] == kc.null, j.encode(v.b), j.encode(v.c), math.type(v.d), v.e == math.huge)
        print(j.encode(v.a))
        print(j.encode({n = kc.null}), j.encode(j.array{}), j.encode({}))
        print(j.decode('"\\ud83d\\ude00"') == "😀", j.decode("18446744073709551616") == 2^64)
    """)
    assert out.splitlines() == [
        "7\ttrue\t{}\t[]\tinteger\ttrue",
        '[1,2.5,"xé\\n",true,false,null,{}]',
        '{"n":null}\t[]\t{}',
        "true\ttrue",
    ]


def test_big_page_round_trip():
    out = lua("""
        local items = {}
        for i = 1, 5000 do
          items[i] = {id = ("u%025d"):format(i), email = "user" .. i .. "@acme.com", role = "org_member",
                      n = i, f = i / 7, tags = kc.json.array{}, meta = {}}
        end
        local s = kc.json.encode({items = items, page_info = {has_next_page = true, end_cursor = "abc"}})
        local back = kc.json.decode(s)
        for i, it in ipairs(back.items) do
          assert(it.n == i and math.type(it.n) == "integer" and it.f == items[i].f and it.id == items[i].id)
        end
        print(#back.items, back.items[5000].email, back.items[7].f == 1.0, kc.json.encode(back.items[1].tags))
    """)
    assert out.strip() == "5000\tuser5000@acme.com\ttrue\t[]"


def test_malformed_gives_clean_errors():
    out = lua(r"""
        for _, s in ipairs{'{"a":', '[1,2', '"\255"', '{"a" 1}', 'nul', '', '[' .. ('['):rep(2000)} do
          local ok, e = pcall(kc.json.decode, s)
          print(ok, (e:gsub("\n", " ")))
        end
    """)
    lines = out.splitlines()
    assert len(lines) == 7
    assert all(l.startswith("false\tinvalid JSON: ") for l in lines), lines
    assert "UTF-8" in lines[2] and "expected ':'" in lines[3] and "nesting deeper" in lines[6]
