"""`kcsh-sandbox --rate-limit N`: a token bucket per credential that answers 429
with the wait the bucket needs, so clients that honour Retry-After can be told
from ones that hammer."""
import threading
import time

import requests

from sandboxlib import assert_error


def burst(s, n, headers=None):
    """n GETs at once from n threads; their statuses and 429 answers."""
    out = []
    lock = threading.Lock()

    def one():
        r = requests.get(s.url("/organizations"), headers=headers or dict(s.http.headers), timeout=30)
        with lock:
            out.append(r)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_a_burst_beyond_the_bucket_is_answered_429_with_the_wait(start_sandbox):
    s = start_sandbox("--rate-limit", "10")
    answers = burst(s, 30)
    ok = [r for r in answers if r.status_code == 200]
    limited = [r for r in answers if r.status_code == 429]
    # the bucket holds 10; a few more may refill while the burst goes out
    assert 10 <= len(ok) <= 14 and len(ok) + len(limited) == 30, [r.status_code for r in answers]
    r = limited[0]
    assert_error(r, 429, "rate_limited")
    assert "10 requests a second" in r.json()["message"]
    # whole seconds in Retry-After; the exact wait, at most one token's time, in ms
    assert r.headers["Retry-After"] == "1"
    assert 0 < int(r.headers["retry-after-ms"]) <= 100
    # the request log shows them as rate-limit answers
    log = s.get("/_sandbox/requests").json()["items"]
    assert sum(1 for e in log if e.get("fault") == "rate-limit") == len(limited)
    # the test endpoints are never limited
    assert all(requests.get(s.url("/_sandbox/requests")).status_code == 200 for _ in range(20))


def test_the_limit_is_per_credential_and_refills(start_sandbox):
    s = start_sandbox("--rate-limit", "5")
    assert sum(r.status_code == 200 for r in burst(s, 10)) <= 7
    # an access token has a bucket of its own
    org = None
    for _ in range(50):
        r = s.post("/organizations", json={"name": "Rate"})
        if r.status_code == 201:
            org = r.json()
            break
        time.sleep(int(r.headers["retry-after-ms"]) / 1000)
    assert org
    time.sleep(1.1)
    tok = s.post(f"/organizations/{org['id']}/token").json()["access_token"]
    other = burst(s, 5, headers={"Authorization": f"Bearer {tok}"})
    assert all(r.status_code == 200 for r in other), [r.status_code for r in other]
    # a client that waits as told is not refused, and gets about N a second
    start = time.monotonic()
    done = refused = 0
    while done < 15:
        r = s.get("/organizations")
        if r.status_code == 429:
            refused += 1
            time.sleep(int(r.headers["retry-after-ms"]) / 1000)
        else:
            assert r.status_code == 200
            done += 1
    elapsed = time.monotonic() - start
    # 15 requests at 5 a second from an empty bucket: about 3 s (margins for a loaded machine)
    assert 1.5 <= elapsed <= 8, elapsed
    assert refused <= done + 2, (refused, done)
