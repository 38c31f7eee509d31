"""kc.request_async, which the tree's prefetch uses: the handle's wait()
answers (or raises) as kc.request would; cancel() stops the request."""
from treelib import ok


def test_request_async_wait_error_cancel(demo):
    demo.clear_requests()
    lines = ok('''
      local a = kc.request_async{path = "/organizations/acme"}
      local b = kc.request_async{path = "/organizations/no-such-org"}
      local c = kc.request_async{path = "/organizations/globex"}
      print(a:wait().label, a:wait().label)
      local ok, err = pcall(b.wait, b)
      print(ok, err.status, err.code, getmetatable(err) == kc.Error)
      c:cancel()
      print(pcall(c.wait, c))
      print(pcall(kc.request_async, "x"))
      collectgarbage()
      print(kc.request{path = "/organizations/initech"}.label)
    ''', demo)
    assert lines[0] == "acme\tacme"
    assert lines[1] == "false\t404\tnot_found\ttrue"
    assert lines[2] == "false\tkc.request_async: the request was cancelled"
    assert lines[3] == "false\tbad argument #1 to 'request_async' (table expected, got string)"
    assert lines[4] == "initech"
    paths = set(r["path"] for r in demo.requests())
    # the cancelled one may have reached the server before it was stopped
    assert paths - {"/organizations/globex"} == {
        "/organizations/acme", "/organizations/no-such-org", "/organizations/initech"}
