"""--db keeps data in SQLite (WAL): concurrent writers, and nothing acknowledged is
lost when the process is killed."""
import concurrent.futures
import signal



def test_killed_sandbox_loses_no_acknowledged_write(start_sandbox, tmp_path):
    db = str(tmp_path / "kc.db")
    s = start_sandbox("--db", db, "--api-key", "k")
    org = s.post("/organizations", json={"name": "Durable"}).json()

    def create(i):
        r = s.post(f"/organizations/{org['id']}/service-accounts", json={"name": f"sa{i}"})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        acknowledged = set(pool.map(create, range(300)))
    s.stop(signal.SIGKILL)
    t = start_sandbox("--db", db, "--api-key", "k")
    listed = {x["id"] for x in t.get(f"/organizations/{org['id']}/service-accounts", params={"limit": 1000}).json()["items"]}
    assert listed == acknowledged
    assert t.get("/organizations/durable").json()["id"] == org["id"]
    # new rows still sort after the old ones (the row sequence survived the restart)
    new = t.post(f"/organizations/{org['id']}/service-accounts", json={"name": "after"}).json()
    last = t.get(f"/organizations/{org['id']}/service-accounts", params={"limit": 1000}).json()["items"][-1]
    assert last["id"] == new["id"]


def test_demo_and_scale_are_not_loaded_twice(start_sandbox, tmp_path):
    db = str(tmp_path / "kc.db")
    s = start_sandbox("--db", db, "--demo", "--scale", "50")
    first = s.get("/organizations").json()["items"]
    s.stop()
    t = start_sandbox("--db", db, "--demo", "--scale", "50")
    assert t.get("/organizations").json()["items"] == first


def test_memory_is_the_default(start_sandbox):
    s = start_sandbox()
    s.post("/organizations", json={"name": "Gone"})
    s.stop()
    t = start_sandbox()
    assert t.get("/organizations").json()["items"] == []
