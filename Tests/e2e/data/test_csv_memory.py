"""kc.csv.read streams: memory stays flat however big the file. Not in the
AddressSanitizer pass, whose allocator keeps freed memory in quarantine."""
import csv
import json

from test_csv import lua


def test_constant_memory_on_a_big_file(tmp_path):
    """The peak RSS reading a file 40 times bigger grows by far less than the file."""
    def peak(rows):
        p = tmp_path / f"m{rows}.csv"
        with open(p, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["email", "role", "note"])
            for i in range(rows):
                w.writerow([f"user{i}@example.com", "org_member", "x" * 60])
        r = lua(f'''
          local n = 0
          for row in kc.csv.read({json.dumps(str(p))}) do n = n + 1 end
          local hwm = io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)")
          print(n, hwm)
        ''')
        assert r.returncode == 0, r.stderr
        n, hwm = r.stdout.split()
        assert int(n) == rows
        return int(hwm) * 1024, p.stat().st_size

    small, _ = peak(5_000)
    big, size = peak(200_000)
    assert size > 15_000_000
    assert big - small < size / 4, (small, big, size)
