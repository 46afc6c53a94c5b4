"""A hostile class: every attack on `ninja grade` from issue 10, graded in one batch beside an
honest and a wrong submission, through the CLI, inside a PID namespace of the test's own (so a
daemon an attacker starts cannot outlive the test). The honest and wrong results must equal what
they get alone, every file outside the attackers' folders must be unchanged, the output file must
stay what ninja wrote, and no attack may score."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ninja.grade import audit, confine
from ninja.registry import EXERCISES, find

SOLUTION = find("exercise1").solution.read_text()
TEMPLATE = find("exercise1").template.read_text()
WRONG = SOLUTION.replace("db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)")
SECRET = "s3cr3t-token-for-the-test"
TRY = "try:\n{}\nexcept BaseException as e:\n    print('blocked', type(e).__name__)\n"


def tried(code: str) -> str:
    """`code` wrapped so the file goes on after it fails: the honest part runs regardless."""
    return TRY.format("\n".join("    " + line for line in code.strip().splitlines()))


# name -> source; {root!r}, {out!r}, {sock!r}, {solution!r} are filled in; each is graded with --audit warn (the
# runtime must stop it) and with the audit on (it must flag it)
ATTACKS = {
    "signals": tried(
        "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\nos.kill(-1, signal.SIGKILL)\n"
        "[os.kill(p, signal.SIGSTOP) for p in range(2, 5000) if p != os.getpid()]"
    ) + TEMPLATE,
    "daemon": tried(
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(2)\n"
        "    open({out!r}, 'w').write('forged')\n    open({root!r} + '/honest/exercise1.py', 'w').write('x = 1')\n"
        "    os._exit(0)"
    ) + TEMPLATE,
    "proc_fds": tried(
        "import os\nfor p in os.listdir('/proc'):\n    try:\n"
        "        os.write(os.open(f'/proc/{p}/fd/3', os.O_WRONLY), b'x')\n    except OSError:\n        pass"
    ) + TEMPLATE,
    "classmates": tried("open({root!r} + '/honest/exercise1.py', 'w').write('dC = 0')") + TEMPLATE,
    "plant_module": tried(
        "import sysconfig\nfolder = sysconfig.get_paths()['purelib']\n"
        "open(folder + '/gmpy2.py', 'w').write('import os; os._exit(3)')"
    ) + TEMPLATE,
    "leak": tried(
        "import os\ntexts = [open({root!r} + '/honest/exercise1.py').read()]\n"
        "for p in os.listdir('/proc'):\n    for f in ('environ', 'cmdline'):\n        try:\n"
        "            texts.append(open(f'/proc/{p}/{f}').read())\n        except OSError:\n            pass\n"
        "texts.append(str(dict(os.environ)))\nraise RuntimeError(' '.join(texts))"
    ) + "\nimport os\nraise RuntimeError(str(dict(os.environ)) + open('/proc/self/cmdline').read())\n",
    "unix_socket": tried("import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({sock!r})") + TEMPLATE,
    "bundled_solution": "from ninja.exercise import bundled\n"
    "exec(open(bundled('solutions') / 'exercise1.py').read())\n",
    "solution_path": "exec(open({solution!r}).read())\n",
    "reference": TEMPLATE.split("# backward pass")[0]
    + "from ninja import makemore\nfrom ninja.settings import Settings\n"
    "_, g = makemore.reference_gradients(Settings(), tuple(EXERCISE_NAMES))\n"
    "globals().update({'d' + k: v for k, v in g.items()})\n",
    "flood_payload": "import os\nos.write(3, (64 * 2**20).to_bytes(8, 'little') + b'x' * (9 * 2**20))\n" + SOLUTION,
    "forged_header": "import os, json\nh = json.dumps([{}] * 2).encode()\n"
    "os.write(3, len(h).to_bytes(8, 'little') + h)\nos._exit(0)\n",
    "markup": "raise RuntimeError('[bold red]FULL MARKS[/] \\x1b[2J\\x1b[31m \\x01 \\x07')\n",
}
AUDIT_ONLY = {  # tricks on autograd itself: the audit flags them; the runtime refusal is a second layer
    "fresh_engine": "import torch\ntorch.autograd.Variable._execution_engine = torch._C._ImperativeEngine()\n"
    + SOLUTION,
    "unfreeze": "import gc\ngc.unfreeze()\n" + SOLUTION,
    "grad_fn": SOLUTION + "\nnode = loss.grad_fn\n",
    "forward_ad": "import torch.autograd.forward_ad as fwAD\n" + SOLUTION,
    "finite_differences": SOLUTION
    + "\nfor i in range(3):\n    C[0, 0] += 1e-3\n    loss2 = F.cross_entropy(logits, Yb)\n",
    "dunder": SOLUTION + "\nx = ().__class__.__base__.__subclasses__()\n",
}


def digest(folder: Path, skip: set[str]) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] not in skip
    }


def ninja(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`ninja grade ...` as its own PID namespace's init's child: whatever it leaves dies with it."""
    command = [sys.executable, "-m", "ninja", *args]
    if confine.Policy.build([]).as_root:
        command = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", *command]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    out = root / "grades.json"
    sock_path = str(root / "host.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(sock_path)
    listener.listen(8)
    listener.setblocking(False)
    fill = {"root": str(root), "out": str(out), "sock": sock_path, "solution": str(find("exercise1").solution)}
    names = []
    for name, text in {"honest": SOLUTION, "wrong": WRONG, **ATTACKS, **AUDIT_ONLY}.items():
        (root / name).mkdir()
        body = text
        for key, value in fill.items():
            body = body.replace("{" + key + "!r}", repr(value))
        (root / name / "exercise1.py").write_text(body.replace("EXERCISE_NAMES", repr(find("exercise1").checked)))
        names.append(name)
    before = digest(root, set(ATTACKS) | set(AUDIT_ONLY))
    env = os.environ | {"NINJA_TEST_SECRET": SECRET}
    common = ["grade", "--seed", "5", "--jobs", "2", "--timeout", "20", "--memory", "768"]
    done = ninja(*common, "--audit", "warn", "--format", "json", "--out", str(out),
                 *[str(root / n) for n in names], env=env)  # fmt: skip
    written = out.read_text()
    time.sleep(3)  # a daemon's write would land now
    alone = ninja(*common, "--format", "json", str(root / "honest"), str(root / "wrong"))
    audited = ninja(*common, "--format", "junit", *[str(root / n) for n in names])
    try:
        listener.accept()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    return {
        "root": root, "done": done, "written": written, "out": out, "before": before, "connected": connected,
        "results": {Path(r["submission"]).name: r for r in json.loads(written)}, "alone": alone, "audited": audited,
        "after": digest(root, set(ATTACKS) | set(AUDIT_ONLY) | {"grades.json"}),
    }  # fmt: skip


def test_the_batch_completes_and_says_what_protects_it(attacked):
    done = attacked["done"]
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("isolation: "))
    policy = confine.Policy.build([])
    if policy.landlock_abi:
        assert f"landlock {policy.landlock_abi}" in line
    assert ("seccomp" in line) == (policy.seccomp is not None)
    assert ("uid 60100+slot" in line) == policy.as_root
    assert len(attacked["results"]) == 2 + len(ATTACKS) + len(AUDIT_ONLY)


def test_honest_and_wrong_get_what_they_get_alone(attacked):
    alone = {Path(r["submission"]).name: r for r in json.loads(attacked["alone"].stdout)}
    for name in ("honest", "wrong"):
        mine, theirs = attacked["results"][name], alone[name]
        assert (mine["score"], mine["status"], mine["tests"]) == (theirs["score"], theirs["status"], theirs["tests"])
    assert alone["honest"]["score"] == 26 and alone["wrong"]["score"] == 25


def test_no_attack_scores(attacked):
    scored = {name: r["score"] for name, r in attacked["results"].items() if name in ATTACKS and r["score"] > 0}
    # the attacks that go on to the template's TODO lines score 0 like the template; none gets more
    assert scored == {}, scored


def test_nothing_outside_the_attackers_folders_changed(attacked):
    assert attacked["after"] == {k: v for k, v in attacked["before"].items() if k != "grades.json"}
    assert attacked["out"].read_text() == attacked["written"]  # no daemon rewrote it after ninja exited
    purelib = Path(__import__("sysconfig").get_paths()["purelib"])
    assert not (purelib / "gmpy2.py").exists()
    assert not attacked["connected"]


def test_secrets_and_classmates_do_not_leak(attacked):
    text = attacked["written"]
    assert SECRET not in text
    assert str(attacked["out"]) not in attacked["results"]["leak"]["message"]
    assert "db2 = dlogits.sum(0)" not in attacked["results"]["leak"]["message"]


def test_free_marks_are_refused_at_run_time(attacked):
    r = attacked["results"]
    assert "Permission denied" in r["bundled_solution"]["message"] or "PermissionError" in r["bundled_solution"][
        "message"]  # fmt: skip
    assert "PermissionError" in r["solution_path"]["message"]
    assert "autograd is not available" in r["reference"]["message"]
    assert "far too much data" in r["flood_payload"]["message"]
    assert "malformed result" in r["forged_header"]["message"]


def test_student_text_reaches_no_terminal_or_parser_raw(attacked):
    message = attacked["results"]["markup"]["message"]
    assert "\x1b" not in message and "\x01" not in message and "\\x1b[2J" in message
    assert "[bold red]FULL MARKS[/]" in message  # shown as text, not styled
    ET.fromstring(attacked["audited"].stdout.encode())  # JUnit parses


def test_the_audit_flags_every_attack_on_autograd(attacked):
    suites = ET.fromstring(attacked["audited"].stdout.encode())
    by_name = {Path(s.get("name").split()[0]).name: s for s in suites}
    for name in AUDIT_ONLY:
        text = "".join(by_name[name].itertext())
        assert "audit: scored 0" in text, name
    assert by_name["honest"].get("failures") == "0" and by_name["honest"].get("errors") == "0"


def test_the_audit_passes_every_template_solution_and_fixture():
    files = [ex.template for ex in EXERCISES.values()] + [ex.solution for ex in EXERCISES.values()]
    files.append(Path(__file__).parent / "karpathy_notebook.py")
    for path in files:
        assert audit.audit(path.read_text()) == [], path
    for name, text in AUDIT_ONLY.items():
        assert audit.audit(text), name


def test_links_fifos_and_deep_notebooks_fail_alone(tmp_path):
    (tmp_path / "honest").mkdir()
    (tmp_path / "honest" / "exercise1.py").write_text(SOLUTION)
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "exercise1.py").symlink_to(find("exercise1").solution)
    (tmp_path / "zero").mkdir()
    (tmp_path / "zero" / "exercise1.py").symlink_to("/dev/zero")
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "exercise1.py")
    (tmp_path / "deep.ipynb").write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    done = ninja("grade", "--exercise", "exercise1", "--format", "json", "--timeout", "20",
                 *[str(tmp_path / n) for n in ("honest", "link", "zero", "fifo", "deep.ipynb")])  # fmt: skip
    results = {Path(r["submission"]).name: r for r in json.loads(done.stdout)}
    assert results["honest"]["score"] == 26
    assert "symbolic link" in results["link"]["message"] and results["link"]["score"] == 0
    assert "symbolic link" in results["zero"]["message"]
    assert "not a regular file" in results["fifo"]["message"]
    assert results["deep.ipynb"]["score"] == 0 and results["deep.ipynb"]["status"] == "error"
