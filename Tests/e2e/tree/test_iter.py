"""The iterator stages and terminals on plain lists (kc.iter), without a
server: filter, map (nil drops), take, collect, count, first, generic for."""
from treelib import ok


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
