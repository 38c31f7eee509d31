"""The REPL sessions shown in README.md and docs/guide.md are run, and kcsh
must print what they show (docs/cookbook.md's recipes: test_cookbook.py).

How to write a session in the docs: a fenced block marked ```console.
- `$ kcsh ARGS` (or `$ scripts/kcsh ARGS`) starts the REPL on a machine with
  no credentials; the lines after it, up to the first prompt, are what kcsh
  prints first. A block without a `$` line goes on with the session of the
  block before it.
- `> ` starts a chunk as typed, `>> ` continues it (where kcsh shows its
  continuation prompt); the lines after it, up to the next prompt, are what
  kcsh prints, output and errors together.
- In what kcsh prints, `...` on a line of its own stands for any number of
  lines, and elsewhere for any text. IDs, request IDs and loopback ports
  change from run to run: any one matches another.
Shell commands that are not a kcsh session go in ```sh blocks: not run.

Each session is one `kcsh ARGS -i` with the chunks on a pipe (lua.c's REPL
without line editing, which prints the same, without colour), its prompts
set to control characters no output has, so that what it prints can be cut
at them."""
import re
import shlex

import pytest

from treelib import ROOT, kcsh

DOCS = ["README.md", "docs/guide.md"]
BLOCK = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
PROMPT, PROMPT2 = "\x1e", "\x1f"
VARIES = [(re.compile(r"(?<![\w-])[\w-]{26}(?![\w-])"), "<id>"),
          (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<request id>"),
          (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>")]


def sessions(doc):
    """The sessions of `doc`: (kcsh's arguments, steps), a step being the
    lines typed (none for the first) and the lines kcsh prints after them."""
    found = []
    for block in BLOCK.findall((ROOT / doc).read_text()):
        for line in block.splitlines():
            if line.startswith("$ "):
                command = shlex.split(line[2:], comments=True)
                assert command[0] in ("kcsh", "scripts/kcsh"), f"{doc}: not a kcsh session: {line}"
                found.append((command[1:], [([], [])]))
                continue
            assert found, f"{doc}: a console block before any `$ kcsh` line"
            steps = found[-1][1]
            if line.startswith("> "):
                steps.append(([line[2:]], []))
            elif line.startswith(">> "):
                assert steps[-1][0] and not steps[-1][1], f"{doc}: `>>` not right after the chunk's lines: {line}"
                steps[-1][0].append(line[3:])
            else:
                steps[-1][1].append(line)
    return found


def normalise(text):
    for pattern, placeholder in VARIES:
        text = pattern.sub(placeholder, text)
    return text


def shown(lines):
    """A pattern for what the doc shows kcsh printing."""
    parts = [r"(?:.*\n)*" if line == "..." else
             ".*".join(re.escape(p) for p in normalise(line).split("...")) + r"\n" for line in lines]
    return re.compile("".join(parts))


CASES = [(doc, args, steps) for doc in DOCS for args, steps in sessions(doc)]


def test_the_docs_have_sessions():
    assert {doc for doc, _, _ in CASES} == set(DOCS)


@pytest.mark.parametrize("doc,args,steps", CASES, ids=[f"{doc}:{' '.join(['kcsh', *a])}" for doc, a, _ in CASES])
def test_session(doc, args, steps):
    typed = "".join(line + "\n" for chunk, _ in steps for line in chunk)
    r = kcsh(typed, args=[*args, "-e", "_PROMPT, _PROMPT2 = '\\30', '\\31'"], repl=True)
    assert r.rc == 0, r.out
    printed = r.out.split(PROMPT)
    assert printed[-1] == "\n", r.out  # lua.c's newline at the end of input
    assert len(printed) == len(steps) + 1, r.out
    for (chunk, want), got in zip(steps, printed):
        continued = len(chunk) - 1 if chunk else 0
        assert got[:continued] == PROMPT2 * continued and PROMPT2 not in got[continued:], (
            f"{doc}: `>>` lines do not match where kcsh continues the chunk:\n" + "\n".join(chunk))
        got = got[continued:]
        same = shown(want).fullmatch(normalise(got))
        assert same, (
            f"{doc}: after\n> " + "\n>> ".join(chunk) + "\nkcsh printed\n" + got + "\nbut the doc shows\n"
            + "\n".join(want))
