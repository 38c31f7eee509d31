"""docs/reference.md and stdlib/types/kc.lua are generated from
stdlib/kc/api.lua; these fail when the committed files are stale."""
import subprocess

import pytest

from e2epaths import clean_env
from treelib import KCSH, ROOT, api_operations

GENERATED = [
    ("scripts/gen-reference.lua", "docs/reference.md"),
    ("scripts/gen-types.lua", "stdlib/types/kc.lua"),
]


@pytest.mark.parametrize("script,target", GENERATED)
def test_generated_file_is_current(script, target):
    proc = subprocess.run([str(KCSH), script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr
    committed = (ROOT / target).read_text()
    assert proc.stdout == committed, (
        f"{target} is stale: run `kcsh {script} > {target}` (with kcsh from your build) and commit it")


def test_reference_covers_every_operation():
    """Every operation of the description has its endpoint in the generated
    reference (test_openapi.py checks the operations against the sandbox)."""
    text = (ROOT / "docs/reference.md").read_text()
    ops = api_operations()
    assert ops
    for op in ops:
        assert f"`{op['verb']} {op['path']}`" in text, op


def test_emit_types_prints_the_annotations():
    proc = subprocess.run([str(KCSH), "--emit-types"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (ROOT / "stdlib/types/kc.lua").read_text()
