"""Fault injection and the request journal that client tests rely on."""
import socket
import uuid

import requests

from sandboxlib import assert_error


def statuses(s, n):
    out = []
    for _ in range(n):
        try:
            out.append(requests.get(s.url("/organizations"), headers={"Authorization": f"Bearer {s.key}"}, timeout=10).status_code)
        except requests.ConnectionError:
            out.append("reset")
    return out


def test_faults_are_deterministic_given_a_seed(start_sandbox):
    spec = "429=0.2,503=0.1,reset=0.05"
    a = statuses(start_sandbox("--faults", spec, "--seed", "42"), 200)
    b = statuses(start_sandbox("--faults", spec, "--seed", "42"), 200)
    c = statuses(start_sandbox("--faults", spec, "--seed", "43"), 200)
    assert a == b and a != c
    assert {200, 429, 503, "reset"} <= set(a)
    assert 20 <= a.count(429) <= 60


def test_fault_answers(start_sandbox):
    s = start_sandbox("--faults", "429=1")
    r = requests.get(s.url("/organizations"), headers={"Authorization": f"Bearer {s.key}"})
    assert_error(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == "1" and r.headers["retry-after-ms"] == "1000"
    requests.put(s.url("/_sandbox/faults"), json={"spec": "503=1,retry-after=0s"})
    r = requests.get(s.url("/organizations"), headers={"Authorization": f"Bearer {s.key}"})
    assert_error(r, 503, "injected_fault")
    assert r.headers["Retry-After"] == "0" and r.headers["retry-after-ms"] == "0"
    # /_sandbox/* is never faulted
    assert requests.get(s.url("/_sandbox/faults")).json()["spec"] == "503=1,retry-after=0s"
    # switch faults at run time
    r = requests.put(s.url("/_sandbox/faults"), json={"spec": "reset=1", "seed": 5})
    assert r.status_code == 200 and r.json() == {"spec": "reset=1", "seed": 5}
    # a reset closes the socket without any answer
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(f"GET /organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {s.key}\r\n\r\n".encode())
        try:
            data = c.recv(100)
        except ConnectionResetError:
            data = b""
        assert data == b""
    # lost: the write happens, the answer does not arrive
    requests.put(s.url("/_sandbox/faults"), json={"spec": "lost=1"})
    try:
        requests.post(s.url("/organizations"), headers={"Authorization": f"Bearer {s.key}"}, json={"name": "Lost Reply"})
        raise AssertionError("expected a dropped connection")
    except requests.ConnectionError:
        pass
    requests.put(s.url("/_sandbox/faults"), json={"spec": ""})
    names = [o["name"] for o in s.get("/organizations").json()["items"]]
    assert names.count("Lost Reply") == 1
    journal = requests.get(s.url("/_sandbox/requests")).json()["items"]
    assert [(j["method"], j["status"], j["fault"]) for j in journal if j["fault"] == "lost"] == [("POST", 201, "lost")]
    requests.put(s.url("/_sandbox/faults"), json={"spec": "latency=150ms"})
    r = requests.get(s.url("/organizations"), headers={"Authorization": f"Bearer {s.key}"})
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.14
    assert_error(requests.put(s.url("/_sandbox/faults"), json={"spec": "429=3"}), 400, "invalid_fault_spec")
    assert_error(requests.put(s.url("/_sandbox/faults"), json={"spec": 5}), 422)
    requests.put(s.url("/_sandbox/faults"), json={"spec": ""})
    assert statuses(s, 20) == [200] * 20


def test_request_journal(start_sandbox):
    s = start_sandbox()
    assert requests.delete(s.url("/_sandbox/requests")).status_code == 204
    rid = str(uuid.uuid4())
    s.get("/organizations?limit=5", headers={"X-Client-Request-ID": rid})
    s.post("/organizations", json={"name": "J"})
    requests.get(s.url("/_sandbox/outbox"))
    items = requests.get(s.url("/_sandbox/requests")).json()["items"]
    assert [(i["method"], i["path"], i["query"], i["request_id"], i["status"]) for i in items] == [
        ("GET", "/organizations", "limit=5", rid, 200), ("POST", "/organizations", "", None, 201)]
    assert requests.get(s.url("/_sandbox/requests"), params={"limit": 1}).json()["items"][0]["method"] == "POST"
    requests.put(s.url("/_sandbox/faults"), json={"spec": "503=1"})
    s.get("/organizations", headers={"X-Client-Request-ID": rid})
    last = requests.get(s.url("/_sandbox/requests")).json()["items"][-1]
    assert last["status"] == 503 and last["fault"] == "503" and last["request_id"] == rid
    requests.delete(s.url("/_sandbox/requests"))
    assert requests.get(s.url("/_sandbox/requests")).json()["items"] == []
