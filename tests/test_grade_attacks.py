"""A hostile class: every attack on `ninja grade` from issue 10, graded in one batch beside an
honest and a wrong submission, through the CLI, inside a PID namespace of the test's own (so a
daemon an attacker starts cannot outlive the test). The honest and wrong results must equal what
they get alone, every file outside the attackers' folders must be unchanged, the output file must
stay what ninja wrote, and no attack may score."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import needed

from ninja.grade import audit, cgroups, confine
from ninja.registry import EXERCISES, find

SOLUTION = find("exercise1").solution.read_text()
PACKAGE = Path(audit.__file__).resolve().parent.parent  # the ninja package graded with
TEMPLATE = find("exercise1").template.read_text()
WRONG = SOLUTION.replace("db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)")
SECRET = "s3cr3t-token-for-the-test"
TRY = "try:\n{}\nexcept BaseException as e:\n    print('blocked', type(e).__name__)\n"


def tried(code: str) -> str:
    """`code` wrapped so the file goes on after it fails: the honest part runs regardless."""
    return TRY.format("\n".join("    " + line for line in code.strip().splitlines()))


PROBE = """import ctypes, os, resource, socket
libc = ctypes.CDLL(None)
try:
    socket.socket()
    sock = "open"
except OSError as e:
    sock = type(e).__name__


def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def ipc():
    try:
        return os.readlink("/proc/self/ns/ipc")
    except OSError as e:
        return type(e).__name__


def listing(folder):
    try:
        return ",".join(os.listdir(folder)) or "none"
    except OSError as e:
        return type(e).__name__


folder = os.statvfs(".")
facts = dict(uid=os.getuid(), gid=os.getgid(), pid=os.getpid(), seccomp=libc.prctl(21, 0, 0, 0, 0),
             nnp=libc.prctl(39, 0, 0, 0, 0), nproc=resource.getrlimit(resource.RLIMIT_NPROC)[0], socket=sock,
             fds=",".join(str(fd) for fd in range(1024) if is_open(fd)), cwd=os.getcwd(),
             shm=libc.shmget(0x5EED, 1 << 20, 0o1666), ipc=ipc(), folder_mb=folder.f_blocks * folder.f_frsize >> 20,
             shm_files=listing("/dev/shm"))
raise RuntimeError(" ".join(f"{k}={v}" for k, v in facts.items()) + " end")
"""
# name -> source; {root!r}, {out!r}, {sock!r}, {solution!r} are filled in; each is graded with --audit warn (the
# runtime must stop it) and with the audit on (it must flag it)
ATTACKS = {
    "signals": tried(
        "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\nos.kill(-1, signal.SIGKILL)\n"
        "[os.kill(p, signal.SIGSTOP) for p in range(2, 5000) if p != os.getpid()]"
    )
    + TEMPLATE,
    "daemon": tried(
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(2)\n"
        "    open({out!r}, 'w').write('forged')\n    open({root!r} + '/honest/exercise1.py', 'w').write('x = 1')\n"
        "    os._exit(0)"
    )
    + TEMPLATE,
    "proc_fds": tried(
        "import os\nfor p in os.listdir('/proc'):\n    try:\n"
        "        os.write(os.open(f'/proc/{p}/fd/3', os.O_WRONLY), b'x')\n    except OSError:\n        pass"
    )
    + TEMPLATE,
    "classmates": tried("open({root!r} + '/honest/exercise1.py', 'w').write('dC = 0')") + TEMPLATE,
    "repository": tried("open({solution!r}, 'a').write('# planted')")
    + tried("open({package!r} + '/engine.py', 'a').write('\\ncompare = None\\n')")
    + TEMPLATE,
    "plant_module": tried(
        "import sysconfig\nfolder = sysconfig.get_paths()['purelib']\n"
        "open(folder + '/gmpy2.py', 'w').write('import os; os._exit(3)')"
    )
    + TEMPLATE,
    "leak": tried(
        "import os\ntexts = [open({root!r} + '/honest/exercise1.py').read()]\n"
        "for p in os.listdir('/proc'):\n    for f in ('environ', 'cmdline'):\n        try:\n"
        "            texts.append(open(f'/proc/{p}/{f}').read())\n        except OSError:\n            pass\n"
        "texts.append(str(dict(os.environ)))\nraise RuntimeError(' '.join(texts))"
    )
    + "\nimport os\nraise RuntimeError(str(dict(os.environ)) + open('/proc/self/cmdline').read())\n",
    "unix_socket": tried("import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({sock!r})") + TEMPLATE,
    "bundled_solution": "from ninja.exercise import bundled\n"
    "exec(open(bundled('solutions') / 'exercise1.py').read())\n",
    "solution_path": "exec(open({solution!r}).read())\n",
    "reference": TEMPLATE.split("# backward pass")[0]
    + "from ninja import makemore\nfrom ninja.settings import Settings\n"
    "_, g = makemore.reference_gradients(Settings(), tuple(EXERCISE_NAMES))\n"
    "globals().update({'d' + k: v for k, v in g.items()})\n",
    # over the 8 MiB a reply may hold, then waiting: stopped at once, not at the timeout
    "flood_payload": "import os, time\nos.write(3, (64 * 2**20).to_bytes(8, 'little') + b'x' * (9 * 2**20))\n"
    "time.sleep(60)\n" + SOLUTION,
    "forged_header": "import os, json\nh = json.dumps([{}] * 2).encode()\n"
    "os.write(3, len(h).to_bytes(8, 'little') + h)\nos._exit(0)\n",
    "probe": PROBE,
    # System V shared memory: 2 GB left for a classmate (or to outlive the grader)
    "sysv_shm": tried(
        "import ctypes\nlibc = ctypes.CDLL(None)\nkey = libc.shmget(0x5EED, 2 << 30, 0o1666)\n"
        "assert key >= 0, 'shmget refused'"
    )
    + TEMPLATE,
    # POSIX shared memory: a file in /dev/shm for a classmate to read
    "posix_shm": tried("open('/dev/shm/ninja-answers', 'w').write('dC = ...')") + TEMPLATE,
    # fill the private folder: 4 GiB in files of 32 MB (under RLIMIT_FSIZE each)
    "fill_folder": tried("for i in range(128):\n    open(f'blob{i}', 'wb').write(bytes(32 << 20))") + TEMPLATE,
    # a reply of its own: the grader's batch swapped for a huge float16 one, and a huge gradient
    "forged_reply": TEMPLATE + "\nimport numpy as np\nfrom ninja import collected\n_encode = collected.encode\n"
    "def forged(runs):\n    for run in runs:\n"
    "        run['own'] = {k: np.ones(v.shape, np.float16) for k, v in zip('C W1 b1 W2 b2 bngain bnbias'.split(),"
    " parameters())} | {'Xb': np.zeros((200000, 3), np.int64), 'Yb': np.zeros(200000, np.int64)}\n"
    "        run['answers']['C'] = np.ones(10**6, np.float16)\n    return _encode(runs)\n"
    "collected.encode = forged\n",
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
    "getattr_alias": SOLUTION + "\nimport torch\nga = getattr\nengine = ga(torch, '_C')._ImperativeEngine()\n",
    "attrgetter": SOLUTION + "\nimport operator, torch\nengine = operator.attrgetter('_C')(torch)\n",
    "private_functorch": SOLUTION + "\nimport torch\nj = torch._functorch.eager_transforms.jacfwd\n",
    "forward_mode": SOLUTION + "\nimport torch\nwith torch.autograd.forward_ad.dual_level():\n    pass\n",
    "func_transform": "from torch.func import jacrev\n" + SOLUTION,
    # a numerical gradient whose objective is not named like a loss
    "plain_differences": SOLUTION + "\ndef objective(W):\n    return (W ** 2).sum()\n"
    "g = torch.zeros_like(W2)\nfor i in range(3):\n    W2[0, i] += 1e-4\n    up = objective(W2)\n"
    "    W2[0, i] -= 2e-4\n    down = objective(W2)\n    W2[0, i] += 1e-4\n    g[0, i] = (up - down) * 5000.0\n",
}
# files whose bytes decode differently in another decoding than Python's: the audit must read what the child runs
ENCODED = {
    "utf7_comment": b"# coding: utf-7\n# only a comment +AAo-loss.backward()\n" + SOLUTION.encode("utf-7"),
    "latin1_name": b"# -*- coding: latin-1 -*-\ncaf\xe9 = 1\n" + SOLUTION.encode() + b"\nloss.backward()\n",
    "bom": b"\xef\xbb\xbf" + SOLUTION.encode() + b"\nimport torch.autograd as A\n",
}


def digest(folder: Path, skip: set[str]) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not set(p.relative_to(folder).parts) & skip
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
    fill = {
        "root": str(root),
        "out": str(out),
        "sock": sock_path,
        "solution": str(find("exercise1").solution),
        "package": str(PACKAGE),
    }
    names = []
    honest = {"honest": SOLUTION, "wrong": WRONG, "dynamo": "import torch._dynamo\n" + SOLUTION}
    for name, text in {**honest, **ATTACKS, **AUDIT_ONLY, **ENCODED}.items():
        (root / name).mkdir()
        body = text
        for key, value in fill.items():
            body = body if isinstance(body, bytes) else body.replace("{" + key + "!r}", repr(value))
        if isinstance(body, str):
            body = body.replace("EXERCISE_NAMES", repr(find("exercise1").checked)).encode()
        (root / name / "exercise1.py").write_bytes(body)
        names.append(name)
    before = digest(root, set(ATTACKS) | set(AUDIT_ONLY) | set(ENCODED))
    ours = {**digest(PACKAGE, {"__pycache__"}), **digest(find("exercise1").solution.parent, set())}
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
        "after": digest(root, set(ATTACKS) | set(AUDIT_ONLY) | set(ENCODED) | {"grades.json"}), "ours": ours,
        "ours_after": {**digest(PACKAGE, {"__pycache__"}), **digest(find("exercise1").solution.parent, set())},
    }  # fmt: skip


def test_the_batch_completes_and_says_what_protects_it(attacked):
    done = attacked["done"]
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("isolation: "))
    policy = confine.Policy.build([])
    if policy.landlock_abi:
        assert f"landlock {policy.landlock_abi}" in line
    assert ("seccomp" in line) == (policy.seccomp is not None)
    assert (re.search(r"uid \d+\+slot", line) is not None) == policy.as_root
    assert len(attacked["results"]) == 3 + len(ATTACKS) + len(AUDIT_ONLY) + len(ENCODED)


def test_the_runtime_refusal_leaves_torch_dynamo_importable(attacked):
    assert attacked["results"]["dynamo"]["score"] == 26, attacked["results"]["dynamo"]["message"]


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


def test_shared_memory_and_a_full_folder_reach_no_one(attacked):
    r = attacked["results"]
    assert "shmget refused" in r["sysv_shm"]["output"] or "blocked AssertionError" in r["sysv_shm"]["output"]
    assert not Path("/dev/shm/ninja-answers").exists()
    assert "blocked OSError" in r["fill_folder"]["output"]  # the folder's tmpfs is full at 64 MB
    assert r["honest"]["score"] == 26


def test_nothing_outside_the_attackers_folders_changed(attacked):
    assert attacked["after"] == {k: v for k, v in attacked["before"].items() if k != "grades.json"}
    assert attacked["out"].read_text() == attacked["written"]  # no daemon rewrote it after ninja exited
    assert attacked["ours_after"] == attacked["ours"]  # ninja's package and solutions untouched
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


def kernel_has_landlock() -> bool:
    """Asked of the kernel directly (x86-64's landlock_create_ruleset), not through ninja."""
    import ctypes
    import platform

    if platform.machine() != "x86_64":
        pytest.skip("the direct Landlock probe knows x86-64's syscall number only")
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(444, None, 0, 1) > 0


def namespaces_allowed() -> bool:
    import ctypes

    pid = os.fork()
    if pid == 0:
        os._exit(0 if ctypes.CDLL(None).unshare(0x20000000 | 0x40000000) == 0 else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def test_every_layer_this_machine_allows_is_on_inside_the_child(attacked):
    message = attacked["results"]["probe"]["message"]
    line = next(line for line in attacked["done"].stderr.splitlines() if line.startswith("isolation: "))
    facts = dict(part.split("=", 1) for part in message.split("RuntimeError: ", 1)[1].split(" end")[0].split(" "))
    assert facts["nnp"] == "1" and facts["seccomp"] == "2" and facts["socket"] == "PermissionError"
    assert "seccomp" in line
    if os.geteuid() == 0:
        base = int(re.search(r"uid (\d+)\+slot", line)[1])  # 60100, or the next free block beside other graders
        assert (base - 60100) % 1000 == 0 and base <= int(facts["uid"]) < base + 2 and facts["uid"] == facts["gid"]
    if namespaces_allowed():
        assert facts["pid"] == "1" and "net+pid+ipc namespaces" in line  # its PID namespace's init
        assert facts["ipc"] != os.readlink("/proc/self/ns/ipc")
        assert int(facts["folder_mb"]) <= 64 and "private tmpfs folder" in line
        assert facts["shm_files"] in ("none", "PermissionError")  # a /dev/shm of its own, or none at all
    assert facts["shm"] == "-1"  # System V shared memory refused
    if kernel_has_landlock():
        assert "landlock" in line
    made, _ = job_cgroups()
    assert ("per slot: cpu, memory, pids" in line) == (made is not None)
    assert facts["fds"] == "0,1,2,3"  # stdin, stdout, stderr on /dev/null, and its result pipe
    assert int(facts["nproc"]) <= 64
    assert not Path(facts["cwd"]).exists()  # its private folder is gone


def test_student_text_reaches_no_terminal_or_parser_raw(attacked):
    message = attacked["results"]["markup"]["message"]
    assert "\x1b" not in message and "\x01" not in message and "\\x1b[2J" in message
    assert "[bold red]FULL MARKS[/]" in message  # shown as text, not styled
    ET.fromstring(attacked["audited"].stdout.encode())  # JUnit parses


def test_the_audit_flags_every_attack_on_autograd(attacked):
    suites = ET.fromstring(attacked["audited"].stdout.encode())
    by_name = {Path(s.get("name").split()[0]).name: s for s in suites}
    for name in [*AUDIT_ONLY, *ENCODED]:
        text = "".join(by_name[name].itertext())
        assert "audit: scored 0" in text, name
    for name in ("honest",):  # honest code passes the audit (torch._dynamo is private: flagged, yet it imports)
        assert by_name[name].get("failures") == "0" and by_name[name].get("errors") == "0"


# honest shapes of code seen in real CS231n solutions (written afresh here): none is flagged
HONEST_CS231N = {
    "future imports": "from builtins import range\nfrom builtins import object\nimport numpy as np\n",
    "group norm by groups": "def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):\n    caches = []\n"
    "    for i in range(G):\n        out, cache = layernorm_forward(x[i], gamma[i], beta[i], gn_param)\n"
    "        caches.append(cache)\n    return out, caches\n",
    "layers in a loop": "def loss(self, X, y=None):\n    out = X\n    for i in range(1, self.num_layers):\n"
    "        out, self.cache[i] = affine_relu_forward(out, self.params[f'W{i}'], self.params[f'b{i}'])\n"
    "    return out\n",
    "naive softmax": "def softmax_loss_naive(W, X, y, reg):\n    loss = 0.0\n    for i in range(X.shape[0]):\n"
    "        scores = X[i].dot(W)\n        loss2 = np.sum(np.exp(scores))\n        loss += np.log(loss2)\n"
    "    return loss, None\n",
    "training loop": "def train(self, X, y, learning_rate=1e-3, num_iters=100):\n    for it in range(num_iters):\n"
    "        loss, grads = self.loss(X, y)\n        for k in self.params:\n"
    "            self.params[k] += -learning_rate * grads[k]\n",
}
NUMERICAL_CS231N = {
    "nudged forward": "def affine_backward(dout, cache):\n    x, w, b = cache\n    dx = np.zeros_like(x)\n"
    "    for i in range(x.size):\n        x.flat[i] += 1e-5\n        up = affine_forward(x, w, b)[0]\n"
    "        x.flat[i] -= 2e-5\n        down = affine_forward(x, w, b)[0]\n        x.flat[i] += 1e-5\n"
    "        dx.flat[i] = np.sum((up - down) * dout) / 2e-5\n    return dx, None, None\n",
    "course helper": "from cs231n.gradient_check import eval_numerical_gradient_array\n"
    "def relu_backward(dout, cache):\n"
    "    return eval_numerical_gradient_array(lambda x: relu_forward(x)[0], cache, dout)\n",
}


EXERCISE4 = find("exercise4").solution.read_text()
# honest code that the blocklist flagged: a learning rate, weight decay, an SGD helper, a check of one's own
# under the main guard (it never runs when graded)
HONEST_MAKEMORE = {
    "small learning rate": EXERCISE4.replace("lr = 0.1 if i < 100000 else 0.01", "lr = 1e-3"),
    "weight decay": EXERCISE4.replace("p.data += -lr * grad", "p.data += -lr * (grad + wd * p.data)").replace(
        "n_embd = 10", "wd = 5e-4\nn_embd = 10"
    ),
    "sgd helper": SOLUTION + "\ndef sgd(params, grads, step_size=1e-3):\n    for p, g in zip(params, grads):\n"
    "        p.data -= step_size * g\n\nfor step in range(2):\n    loss = F.cross_entropy(logits, Yb)\n"
    "    sgd([W2, b2], [dW2, db2])\n",
    "own check under the main guard": SOLUTION + "\nif __name__ == '__main__':\n    import sys\n"
    "    print(getattr(sys.modules[__name__], 'dC').shape)\n    for p in [C, W1]:\n        p.requires_grad = True\n"
    "    loss.backward()\n",
}


def test_the_audit_passes_every_template_solution_and_fixture():
    checked = 0
    for exercise in EXERCISES.values():
        allowed = audit.imported_modules(exercise.template.read_text())
        for path in (exercise.template, exercise.solution):
            assert audit.audit(path.read_text(), str(path), allowed) == [], path
            checked += 1
    assert checked == 2 * len(EXERCISES)
    allowed = audit.imported_modules(find("exercise4").template.read_text())
    for name, text in {**HONEST_CS231N, **HONEST_MAKEMORE}.items():
        assert audit.audit(text, name, allowed) == [], name
    for name, text in {**AUDIT_ONLY, **NUMERICAL_CS231N}.items():
        assert audit.audit(text), name


def test_a_notebooks_own_autograd_check_and_debugging_cells_are_not_graded(tmp_path):
    import karpathy_notebook as kn
    from nbformat.v4 import new_code_cell, new_notebook

    from ninja.grade import jobs

    debugging = "import sys\nprint(getattr(sys.modules['__main__'], 'dlogits').shape)\n"
    check = "for p in parameters:\n    p.requires_grad = True\nloss.backward()\ncmp('W2', dW2, W2)\n"
    cells = [kn.IMPORTS, kn.CMP, kn.SETUP, kn.FORWARD, kn.EXERCISE1, debugging, check]
    ours, karpathys = tmp_path / "nb.ipynb", tmp_path / "karpathy.ipynb"
    kn.write(ours, new_notebook(cells=[new_code_cell(c) for c in cells]))
    kn.write(karpathys)  # the lecture's notebook, filled in, training cell and all
    scratch = jobs.Scratch()
    try:
        for i, path in enumerate((ours, karpathys)):
            prepared = jobs.prepare(i, find("exercise1"), path, str(path), scratch, [])
            assert prepared.findings == [] and "dC" in prepared.source, (path, prepared.findings)
    finally:
        scratch.close()


def test_every_autograd_mode_is_refused_at_run_time():
    """Reverse, forward (dual tensors) and every functorch transform, by their public and private names."""
    probe = (
        "import torch\nfrom ninja.grade.child import disable_autograd\ndisable_autograd()\n"
        "import torch._functorch.eager_transforms as et, torch._functorch.apis as apis\n"
        "import torch.autograd.forward_ad as fa\nx = torch.randn(3, dtype=torch.float64)\n"
        "f = lambda t: (t ** 2).sum()\n"
        "tries = [lambda: et.jacfwd(f)(x), lambda: et.jacrev(f)(x), lambda: torch.func.grad(f)(x),"
        " lambda: apis.grad(f)(x), lambda: torch.func.jvp(f, (x,), (x,)), lambda: fa.make_dual(x, x),"
        " lambda: torch.func.hessian(f)(x), lambda: torch.autograd.functional.jacobian(f, x),"
        " lambda: torch.autograd.grad(f(x.requires_grad_()), x)]\n"
        "for t in tries:\n    try:\n        print('ran', t())\n    except Exception as e:\n"
        "        print(type(e).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["AutogradUnavailable"] * 9, done.stdout + done.stderr


def test_no_cache_of_the_warm_up_source_reaches_a_child():
    """The warm worker runs a bundled solution, then forgets it: every cache ninja keeps of a file's
    text (in the runner and the tracks' analyses) is empty before the first child is forked."""
    import functools
    import importlib

    from ninja.grade import child
    from ninja.settings import Settings

    exercise = find("exercise1").for_grading()
    child.collect(exercise, exercise.warm_up_file, Settings(), None)
    modules = [importlib.import_module(m) for m in ("ninja.runner", "ninja.tapped.exercise", "ninja.tapped.blame")]
    caches = [f for m in modules for f in vars(m).values() if isinstance(f, functools._lru_cache_wrapper)]
    assert any(f.cache_info().currsize for f in caches)  # the warm-up filled some
    child.forget_sources()
    assert {f.__qualname__: f.cache_info().currsize for f in caches} == {f.__qualname__: 0 for f in caches}


@pytest.mark.parametrize("name", list(ENCODED))
def test_the_child_compiles_exactly_the_text_the_parent_audited(tmp_path, name):
    from ninja import runner
    from ninja.grade import jobs

    (tmp_path / name).mkdir()
    path = tmp_path / name / "exercise1.py"
    path.write_bytes(ENCODED[name])
    scratch = jobs.Scratch()
    try:
        prepared = jobs.prepare(0, find("exercise1"), path, str(tmp_path / name), scratch, [])
        assert runner.read_source(Path(prepared.job["path"])) == prepared.source  # what the child compiles
        assert prepared.findings, name
        assert any("backward" in f.what or "autograd" in f.what for f in prepared.findings), prepared.findings
    finally:
        scratch.close()


def test_a_file_that_does_not_decode_or_parse_never_runs(tmp_path):
    from ninja.grade import batch as grading
    from ninja.grade.sandbox import Limits

    files = {
        "bad_cookie": b"# coding: no-such-codec\n" + SOLUTION.encode(),
        "bad_bytes": b"x = '\xff\xfe'\n",
        "bom_and_latin1": b"\xef\xbb\xbf# coding: latin-1\n" + SOLUTION.encode(),
        "syntax": SOLUTION.encode() + b"\ndC = = 1\n",
        "nul": SOLUTION.encode() + b"\x00\n",
    }
    for name, data in files.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "exercise1.py").write_bytes(data)
    work = grading.find_work([tmp_path / name for name in files], None)
    plan = grading.Plan(7, (32, 45), Limits(timeout=10), audit="warn")  # even when the audit only warns
    results = {Path(r.submission).name: r for r in grading.grade(work, plan, jobs=2)}
    for name in files:
        assert (results[name].score, results[name].status) == (0, "error"), (name, results[name].message)
    assert "not text Python can read" in results["bad_cookie"].message
    assert "syntax error at line" in results["syntax"].message


def test_a_reply_never_chooses_the_reference():
    """A reply claiming tensors of its own, with autograd's gradients on them: judged on the grader's
    own secret batch all the same, so it fails like the template it is."""
    from ninja import collected
    from ninja.grade import batch as grading
    from ninja.settings import Settings

    exercise = find("exercise1").for_grading()
    settings = Settings(11, 40)
    package = exercise.model.package_tensors(Settings(3))
    own = {k: torch.zeros(v.shape, dtype=torch.float64) + 0.1 for k, v in package.items() if v.is_floating_point()}
    own |= {"Xb": torch.zeros(5, 3, dtype=torch.long), "Yb": torch.zeros(5, dtype=torch.long)}
    _, grads = exercise.reference(settings, exercise.checked, own)
    run = exercise.collect(exercise.template, settings)
    run["own"] = {k: collected.plain(v) for k, v in own.items()}
    run["answers"] = {k: collected.plain(grads[k]) for k in exercise.checked}
    forged = collected.decode(collected.encode([run]))
    assert sum(v.status == "pass" for v in exercise.judge(forged[0], settings).variables) == 26  # the old hole
    fit = grading.fit_to_judge(collected.decode(collected.encode([run])), grading.array_bound(run))
    passing = [v.name for v in exercise.judge(fit[0], settings).variables if v.status == "pass"]
    assert len(passing) <= 1, passing  # db1 is all zeros both ways (batchnorm removes b1), by chance


def test_a_reply_carries_usual_dtypes_and_sizes_only():
    from ninja import collected
    from ninja.grade import batch as grading

    reply = {"a": np.ones(3, np.float16), "b": np.ones(10**6), "c": np.ones(2, np.complex64), "d": [np.ones(2)]}
    fit = grading.fit_to_judge([reply], 4096)[0]
    assert fit["a"].dtype == np.float32 and fit["d"][0].dtype == np.float64
    assert isinstance(fit["b"], collected.Opaque) and isinstance(fit["c"], collected.Opaque)


def test_judging_has_time_and_memory_limits_and_never_holds_up_the_loop():
    from ninja.grade.judging import Judging
    from ninja.grade.sandbox import Outcome

    def judge(outcome):
        if outcome.data == b"slow":
            time.sleep(60)
        if outcome.data == b"big":
            bytearray(3 * 2**30)
        if outcome.data == b"crash":
            os._exit(9)
        return {"judged": outcome.data.decode()}

    judging = Judging(judge, lambda outcome, why: {"failed": why}, seconds=2, memory_mb=512)
    try:
        started = time.monotonic()
        for i, data in enumerate([b"slow", b"big", b"fine", b"crash", b"after"]):
            judging.submit(Outcome({"id": i}, data, 0.0))
        assert time.monotonic() - started < 1  # handed over, not waited on
        answers = dict(judging.answers(block=True))
    finally:
        judging.close()
    assert answers[2] == {"judged": "fine"} and answers[4] == {"judged": "after"}  # the next one, judged
    assert "took over 2 s or over 512 MB" in answers[0]["failed"] and "over 512 MB" in answers[1]["failed"]
    assert "crashed the judge" in answers[3]["failed"]


def test_replies_handed_over_faster_than_judged_all_arrive_past_the_open_files_limit():
    """Each reply travels as a file descriptor: more in flight than the sender's RLIMIT_NOFILE
    (a user without root) makes the kernel refuse the next; the parent waits for the judge to take
    one and goes on, and every reply is judged."""
    import resource

    from ninja.grade.judging import Judging
    from ninja.grade.sandbox import Outcome

    def judge(outcome):
        time.sleep(0.01)
        return {"size": len(outcome.data)}

    judging = Judging(judge, lambda outcome, why: {"failed": why}, seconds=5, memory_mb=512)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the sender, as a user without root whose open-files limit is 16
        code = 1
        try:
            low, high = sorted((judging.sock.fileno(), write))  # all else closed: 16 is 11 free
            os.closerange(3, low)
            os.closerange(low + 1, high)
            os.closerange(high + 1, 1 << 16)
            resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
            if os.geteuid() == 0:
                os.setgroups([])
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
            for i in range(60):
                judging.submit(Outcome({"id": i}, b"x" * (1000 + i), 0.0))
            answers = dict(judging.answers(block=True))
            os.write(write, json.dumps(answers).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    answers = json.loads(os.read(read, 1 << 20))
    os.close(read)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    judging.close()
    assert answers == {str(i): {"size": 1000 + i} for i in range(60)}


def test_a_file_handed_in_alone_sees_none_of_the_files_beside_it(tmp_path):
    (tmp_path / "bob.py").write_text(SOLUTION)
    looks = "import os\nraise RuntimeError('beside me: ' + ','.join(sorted(os.listdir('.'))))\n"
    (tmp_path / "alice.py").write_text(looks)
    done = ninja(
        "grade",
        "-e",
        "exercise1",
        "--format",
        "json",
        "--audit",
        "warn",
        str(tmp_path / "alice.py"),
        str(tmp_path / "bob.py"),
    )
    results = {Path(r["submission"]).name: r for r in json.loads(done.stdout)}
    assert "beside me: alice.py" in results["alice.py"]["message"] and "bob" not in results["alice.py"]["message"]
    assert results["bob.py"]["score"] == 26


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


# ---- the parent keeps going: a fork server killed or stopped from outside is replaced ----------


@pytest.mark.parametrize("how", [signal_name for signal_name in ("SIGKILL", "SIGSTOP")])
def test_a_dead_or_stopped_fork_server_is_replaced_and_its_jobs_reported(tmp_path, monkeypatch, how):
    import signal

    from ninja.grade import batch as grading
    from ninja.grade import sandbox

    monkeypatch.setattr(sandbox, "SERVER_SECONDS", 3.0)
    pids = []
    original = sandbox.ForkServer.wait_ready

    def remember(self):
        original(self)
        if self.process.pid not in pids:
            pids.append(self.process.pid)

    monkeypatch.setattr(sandbox.ForkServer, "wait_ready", remember)
    names = ["quick", "slow", *[f"after{k}" for k in range(3)]]
    for name in names:
        (tmp_path / name).mkdir()
        slow = "import time\ntime.sleep(6)\n" if name == "slow" else ""
        (tmp_path / name / "exercise1.py").write_text(slow + SOLUTION)
    work = grading.find_work([tmp_path / n for n in names], None)
    plan = grading.Plan(3, (32, 40), grading.Limits(timeout=20, cpu_seconds=20, memory_mb=768), audit="warn")

    def strike(result):
        if Path(result.submission).name == "quick":  # "slow" is running in the other slot now
            os.kill(pids[0], getattr(signal, how))

    results = {Path(r.submission).name: r for r in grading.grade(work, plan, jobs=2, on_result=strike)}
    assert results["quick"].score == 26
    assert results["slow"].score == 0 and "grading worker" in results["slow"].message
    # the next job starts before a result is judged: the one in the other slot at the strike (if
    # any) is reported with slow; every other is graded, by the old fork server or the new one
    after = [results[f"after{k}"] for k in range(3)]
    lost = [r for r in after if r.score != 26]
    assert len(lost) <= 1 and all("not graded: the grading worker" in r.message for r in lost), [
        r.message for r in after
    ]
    assert len(pids) == 2
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)  # the old one is gone, reaped


# ---- output hygiene ----------------------------------------------------------------------------


def hostile_result():
    from ninja.grade.batch import ERROR, SubmissionResult, TestResult

    text = "[bold red]FULL[/] \x1b[2J\x01\x07 \ud800 =1+1"
    tests = [TestResult("dC", 0.0, 1.0, False, text)]
    return SubmissionResult('=HYPERLINK("http://x","y")', "exercise1", 0.0, 1.0, ERROR, text, tests)


def test_csv_junit_json_and_the_table_show_student_text_as_text():
    import csv
    import io

    from rich.console import Console

    from ninja.grade import formats

    rows = list(csv.reader(io.StringIO(formats.as_csv([hostile_result()]))))
    assert rows[1][0].startswith("'=HYPERLINK") and all(not c.startswith(("=", "+", "-", "@")) for c in rows[1])
    suites = ET.fromstring(formats.junit([hostile_result()]).encode())
    assert "\\x01" in "".join(suites.itertext())
    document = formats.as_json([hostile_result()])
    document.encode("utf-8")  # no lone surrogate
    assert "\x1b" not in json.loads(document)[0]["message"]
    console = Console(record=True, width=200, color_system=None)
    console.print(formats.summary([hostile_result()]))
    shown = console.export_text()
    assert "[bold red]FULL[/]" in shown and "\x1b" not in shown


def test_isolation_strict_refuses_a_machine_without_every_layer(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from ninja import cli
    from ninja.grade import batch as grading

    def grade_missing_landlock(work, plan, jobs, on_result, on_isolation, server):
        server.close()
        on_isolation(["seccomp"], {"landlock": "the kernel has no Landlock"})
        return []

    (tmp_path / "exercise1.py").write_text(SOLUTION)
    monkeypatch.setattr(grading, "grade", grade_missing_landlock)
    strict = CliRunner().invoke(cli.app, ["grade", str(tmp_path / "exercise1.py"), "--isolation", "strict"])
    assert strict.exit_code == 2 and "missing landlock" in strict.output
    assert "no landlock: the kernel has no Landlock" in strict.output


def test_isolation_strict_refuses_a_machine_without_a_cgroup_per_slot(monkeypatch, tmp_path):
    """Every layer present but cgroups (rootless, no delegated cgroup): the line says what holds
    instead, and strict refuses, as for any other missing layer."""
    from typer.testing import CliRunner

    from ninja import cli
    from ninja.grade import batch as grading
    from ninja.grade.confine import strict_refuses

    def grade_without_cgroups(work, plan, jobs, on_result, on_isolation, server):
        server.close()
        on_isolation(["landlock 7", "seccomp"], {"cgroups": cgroups.no_cgroups_note("cgroup v2 (Permission denied)")})
        return []

    (tmp_path / "exercise1.py").write_text(SOLUTION)
    monkeypatch.setattr(grading, "grade", grade_without_cgroups)
    best = CliRunner().invoke(cli.app, ["grade", str(tmp_path / "exercise1.py")])
    assert "no cgroups: cgroup v2 (Permission denied): slots share the CPU" in " ".join(best.output.split())
    assert "what holds instead" in best.output and "not grading" not in best.output
    strict = CliRunner().invoke(cli.app, ["grade", str(tmp_path / "exercise1.py"), "--isolation", "strict"])
    assert strict.exit_code == 2 and "missing cgroups" in strict.output
    assert strict_refuses({"cgroups": "x", "landlock": "y"}) == ["cgroups", "landlock"]


def test_a_child_may_read_the_libraries_but_not_bundled_solutions_checkouts_or_submissions(tmp_path, monkeypatch):
    wheel = tmp_path / "site-packages"  # an installed wheel: solutions under ninja/_bundled
    for path in ("ninja/registry.py", "ninja/grade/batch.py", "ninja/_bundled/solutions/exercise1.py",
                 "numpy/__init__.py", "six.py"):  # fmt: skip
        (wheel / path).parent.mkdir(parents=True, exist_ok=True)
        (wheel / path).write_text("")
    checkout = tmp_path / "checkout"  # a source checkout on the path: solutions/ beside ninja/
    for path in ("ninja/registry.py", "solutions/exercise1.py", "tests/test_x.py"):
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_text("")
    course = tmp_path / "course"  # the folder the grader runs in, holding the submissions
    (course / "alice").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(wheel), str(checkout), str(course), *sys.path])
    roots = set(confine.readable_roots([str(course / "alice"), str(course)]))
    assert {str(wheel / "numpy"), str(wheel / "six.py"), str(wheel / "ninja" / "grade")} <= roots
    assert str(checkout / "ninja") in roots  # a checkout's package holds no solutions: one rule
    forbidden = (wheel / "ninja" / "_bundled", checkout / "solutions", checkout / "tests", checkout, course, wheel)
    assert not {str(path) for path in forbidden} & roots  # none of them whole
    assert not any("_bundled" in r or "solutions" in r or str(course) in r for r in roots)


# ---- without root (GitHub's runners): the same layers through a user namespace -------------------

AS_NOBODY = """import os, sys
from ninja.grade import confine
paths = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.executable)}
confine.expose_libraries([(p, os.path.isdir(p)) for p in paths], {})  # nobody may run this Python
if sys.argv[1] == "deny-userns":  # a kernel that allows no unprivileged user namespace
    import pyseccomp as sc
    rules = sc.SyscallFilter(sc.ALLOW)
    rules.add_rule(sc.ERRNO(1), "unshare")
    rules.load()
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
os.execv(sys.executable, [sys.executable, "-m", "ninja", *sys.argv[2:]])
"""
DAEMON = (
    tried(
        "import ctypes, os, time\nif os.fork() == 0:\n    os.setsid()\n"
        "    ctypes.CDLL(None).prctl(15, b'ninja-daemon23', 0, 0, 0)\n    time.sleep(60)\n    os._exit(0)"
    )
    + TEMPLATE
)
as_root_only = pytest.mark.skipif(os.geteuid() != 0, reason="becoming nobody takes root")


def as_nobody(how: str, folders: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """`ninja grade` run by the unprivileged user nobody on `folders` (name -> exercise1.py)."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="ninja-rootless-", dir="/tmp"))
    try:
        root.chmod(0o755)
        for name, text in folders.items():
            (root / name).mkdir(mode=0o755)
            (root / name / "exercise1.py").write_text(text)
            (root / name / "exercise1.py").chmod(0o644)
        command = [sys.executable, "-c", AS_NOBODY, how, "grade", "--format", "json", "--audit", "warn", "--jobs",
                   "2", "--timeout", "20", *args, *folders]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=root, timeout=600,
                              env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"})  # fmt: skip
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    results = {Path(r["submission"]).name: r for r in json.loads(done.stdout)} if done.returncode == 0 else {}
    return done, results


def running(name: str) -> list[str]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                found.append(comm.parent.name)
        except OSError:
            continue
    return found


@as_root_only
def test_without_root_a_user_namespace_gives_pid_ipc_and_net_namespaces_and_kills_what_a_job_started():
    if not namespaces_allowed_for_nobody():
        pytest.skip("this kernel allows no unprivileged user namespace: the next test covers it")
    done, results = as_nobody("allow", {"honest": SOLUTION, "probe": PROBE, "daemon": DAEMON,
                                        "sysv_shm": ATTACKS["sysv_shm"]})  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("isolation: "))
    assert "user namespace" in line and "net+pid+ipc namespaces" in line and "private tmpfs folder" in line
    assert results["honest"]["score"] == 26
    message = results["probe"]["message"]
    facts = dict(part.split("=", 1) for part in message.split("RuntimeError: ", 1)[1].split(" end")[0].split(" "))
    assert facts["pid"] == "1" and facts["uid"] == "65534" and facts["shm"] == "-1" and facts["socket"] != "open"
    assert int(facts["folder_mb"]) <= 64
    assert results["sysv_shm"]["score"] == 0
    time.sleep(0.5)
    assert running("ninja-daemon23") == []  # it died with its job's PID namespace, not with a test's


def namespaces_allowed_for_nobody() -> bool:
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "--user",
                           "--pid", "--net", "--ipc", "--fork", "true"], capture_output=True)  # fmt: skip
    return done.returncode == 0


@as_root_only
def test_without_user_namespaces_the_isolation_line_says_what_is_missing_and_strict_refuses():
    done, results = as_nobody("deny-userns", {"honest": SOLUTION})
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert "no user namespace: no unprivileged user namespace" in said and "no pid namespace" in said
    assert results["honest"]["score"] == 26
    strict, _ = as_nobody("deny-userns", {"honest": SOLUTION}, "--isolation", "strict")
    assert strict.returncode == 2 and "--isolation strict: missing" in strict.stderr, strict.stderr


# ---- a cgroup per job: each slot's share of CPU, memory and processes, killed as a whole ----------

BUSY = "import os\nfor _ in range(60):\n    if os.fork() == 0:\n        break\nwhile True:\n    pass\n"  # 61 busy
SLOW = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end:\n    pass\n" + SOLUTION
HOG = """import os
kids = []
for _ in range(3):  # 720 MB in all, each under RLIMIT_AS (256 MB): only a limit on the whole job stops it
    pid = os.fork()
    if pid == 0:
        block = bytearray(b"\\x01") * (240 << 20)
        os._exit(0)
    kids.append(pid)
killed = 0
while kids:  # polled, not waited for: runnable, its deadline leaves out its waits for a CPU on a busy machine
    for pid in kids:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            kids.remove(pid)
            killed += status & 0x7F == 9
raise RuntimeError(f"hog: {killed} killed")
"""


def job_cgroups() -> tuple[cgroups.Cgroups | None, list[str]]:
    """This machine's cgroups as the fork server makes them (None where it cannot), and the folders
    run folders go in (this process's own: ninja inherits them)."""
    made = cgroups.Cgroups.open({})
    if made is None:
        return None, []
    made.close()
    return made, sorted({os.path.dirname(run) for run in made.made or made.runs.values()})


def run_folders(bases: list[str]) -> set[str]:
    return {str(p) for base in bases for p in Path(base).glob(cgroups.PREFIX + "*")}


def owner(folder: str) -> int:
    """The pid of the fork server whose run folder this is (ninja-grade-<pid>-<random>)."""
    return int(Path(folder).name.removeprefix(cgroups.PREFIX).split("-")[0])


def dead_graders(folders: set[str]) -> set[str]:
    """Run folders of graders that are gone: what a run left behind. Graders that the other
    test workers run beside this one (pytest -n) are alive, and theirs are left out."""
    return {folder for folder in folders if not alive(owner(folder))}


def unlocked(folders: set[str]) -> set[str]:
    """The run folders no live grader holds."""
    import fcntl

    free = set()
    for folder in folders:
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            free.add(folder)
        except BlockingIOError:
            pass
        finally:
            os.close(fd)
    return free


def killed_mid_job(root: Path, bases: list[str]) -> dict:
    """`ninja grade` on a sleeper, killed with its fork server (SIGKILL) once the sleeper's job is in
    its cgroup: the run folders it left, those no one holds, and the job's processes."""
    (root / "sleeper").mkdir()
    (root / "sleeper" / "exercise1.py").write_text(SLEEPER)
    before = run_folders(bases)
    grader = subprocess.Popen([sys.executable, "-m", "ninja", "grade", "--timeout", "60", "--audit", "warn",
                               str(root / "sleeper")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    stranded: list[int] = []
    deadline = time.monotonic() + 120
    while not stranded and time.monotonic() < deadline:
        jobs = [job for run in run_folders(bases) - before for job in Path(run).glob("job[0-9]*")]
        stranded = [pid for job in jobs for pid in cgroups.read_pids(str(job))]
        time.sleep(0.1)
    workers = Path(f"/proc/{grader.pid}/task/{grader.pid}/children").read_text().split()
    scratch = held_scratch(grader.pid)  # its copies of the class, locked while it lives: no other run removes them
    for pid in [grader.pid, *map(int, workers)]:  # the grader and its fork server, at once
        os.kill(pid, 9)
    grader.wait()
    time.sleep(0.3)
    stale = {folder for folder in run_folders(bases) - before if owner(folder) in (grader.pid, *map(int, workers))}
    return {"stale": stale, "free": unlocked(stale), "stranded": stranded, "alive": [p for p in stranded if alive(p)],
            "scratch": scratch}  # fmt: skip


SLEEPER = "import time\ntime.sleep(60)\n"


def held_scratch(pid: int) -> set[Path]:
    """The folders of job folders (`ninja-grade-*` in the temporary folder) that process `pid` holds open."""
    fds = Path(f"/proc/{pid}/fd")
    links = {os.readlink(fd) for fd in fds.iterdir()} if fds.exists() else set()
    return {Path(link) for link in links if link.startswith(os.path.join(tempfile.gettempdir(), "ninja-grade-"))}


@pytest.fixture(scope="module")
def hungry(tmp_path_factory):
    """A grader killed mid-job, then the next run: a slot of busy processes, a slow classmate, a
    memory hog and an honest classmate (not in a PID namespace of the test's own, so that its
    fork server can see and kill what the killed run left)."""
    made, bases = job_cgroups()
    needed("a cgroup ninja can make", made is not None, "the isolation line says what holds instead")
    root = tmp_path_factory.mktemp("hungry")
    killed = killed_mid_job(root, bases)
    folders = {"busy": BUSY, "slow": SLOW, "hog": HOG, "honest": SOLUTION}
    for name, text in folders.items():
        (root / name).mkdir()
        (root / name / "exercise1.py").write_text(text)
    before = run_folders(bases)
    try:
        done = subprocess.run([sys.executable, "-m", "ninja", "grade", "--jobs", "2", "--timeout", "2", "--memory",
                               "256", "--audit", "warn", "--format", "json", *[str(root / name) for name in folders]],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
    finally:
        for pid in killed["stranded"]:
            with __import__("contextlib").suppress(ProcessLookupError):
                os.kill(pid, 9)
    results = {Path(r["submission"]).name: r for r in json.loads(done.stdout)} if done.returncode == 0 else {}
    killed["left"] = killed["stale"] & run_folders(bases)
    killed["scratch_left"] = {folder for folder in killed["scratch"] if folder.exists()}
    killed["survivors"] = [pid for pid in killed["stranded"] if alive(pid)]
    left = dead_graders(run_folders(bases) - before)
    return {"done": done, "results": results, "made": made, "left": left, "killed": killed}


def test_sixty_busy_processes_in_one_slot_do_not_starve_a_slow_classmate(hungry):
    """Without a cgroup the slow classmate got 2 of 62 busy processes' CPU: 0.3 s in its 9 s of credited deadline."""
    assert hungry["done"].returncode == 0, hungry["done"].stderr
    line = next(line for line in hungry["done"].stderr.splitlines() if line.startswith("isolation: "))
    assert f"cgroup v{hungry['made'].version} per slot: cpu, memory, pids" in line
    assert hungry["results"]["slow"]["score"] == 26, hungry["results"]["slow"]["message"]
    assert hungry["results"]["busy"]["score"] == 0


def test_a_memory_hog_is_killed_by_its_cgroup_and_its_classmate_graded(hungry):
    hog = hungry["results"]["hog"]
    assert hog["score"] == 0 and "hog: 0 killed" not in hog["message"], hog["message"]
    assert "killed" in hog["message"]  # its processes, or itself, killed for memory
    assert hungry["results"]["honest"]["score"] == 26


def test_no_cgroup_is_left_behind_after_grading(hungry):
    assert hungry["left"] == set()


def test_a_grader_killed_with_sigkill_leaves_cgroups_that_the_next_run_sweeps(hungry):
    killed = hungry["killed"]
    assert killed["stranded"], "the sleeper's job never appeared in a cgroup"
    if killed["stale"] or os.environ.get("PYTEST_XDIST_WORKER") is None:  # run alone, no one else sweeps it
        assert killed["stale"] and killed["free"] == killed["stale"]  # left behind, and no one holds them
        assert killed["alive"] == killed["stranded"]  # the job's child lived on
    assert killed["left"] == set() and killed["survivors"] == []  # the next run removed them and killed it
    if killed["scratch"] or os.environ.get("PYTEST_XDIST_WORKER") is None:  # (beside others, it may die earlier)
        assert killed["scratch"]
    assert killed["scratch_left"] == set()  # and the copies of the class it had made


def one_job(made: cgroups.Cgroups, processes: int, body) -> int:
    """A child in a job cgroup of `processes` at most, running `body`; its exit code."""
    files = made.make_job("test", cgroups.Share(1.0, 256 * 2**20, processes))
    pid = os.fork()
    if pid == 0:
        try:
            cgroups.join(files)
            os._exit(body())
        finally:
            os._exit(70)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def open_cgroups() -> cgroups.Cgroups:
    made = cgroups.Cgroups.open({})
    needed("a cgroup ninja can make", made is not None, "the isolation line says what holds instead")
    assert made is not None
    return made


def test_a_fork_bomb_stops_at_pids_max_and_a_daemon_dies_with_its_job():
    made = open_cgroups()

    def bomb() -> int:
        started = 0
        try:
            while started < 100:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                started += 1
        except OSError:
            pass
        return started

    def daemon() -> int:
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(60)
            os._exit(0)
        return 0

    try:
        assert one_job(made, 10, bomb) == 9  # itself and 9 more: no RLIMIT_NPROC here, only pids.max
        job = made.jobs["test"]
        assert len(cgroups.read_pids(job[0])) == 9  # the bomb's processes live on, in its cgroup
        assert made.end_job("test") and not any(Path(folder).exists() for folder in job)
        assert one_job(made, 10, daemon) == 0
        time.sleep(0.1)
        (daemon_pid,) = cgroups.read_pids(made.jobs["test"][0])  # a setsid grandchild, reparented
        assert made.end_job("test")
        assert not alive(daemon_pid)
    finally:
        made.close()
    assert not any(Path(run).exists() for run in made.made)


def test_what_the_worker_preloads_fits_one_message_whatever_a_submission_imports():
    """A submission naming thousands of modules (graded with --audit warn) cannot make the message
    to the warm worker too large to send; a refused submission's imports are not preloaded at all."""
    from ninja.grade import batch as grading
    from ninja.grade.jobs import Prepared

    hostile = {k: Prepared({}, "", f"h{k}", imports={f"email.m{k}_{j}" for j in range(5000)} | {"x" * 300})
               for k in range(40)}  # fmt: skip
    refused = Prepared({}, "", "r", imports={"csv"})
    honest = Prepared({}, "", "c", imports={"torch", "math", "numpy", "json", "student_helpers"})
    modules = grading.preloaded(hostile | {40: refused, 41: honest}, results={40: object()})
    assert len(modules) == grading.MAX_PRELOAD and len(json.dumps({"modules": modules})) < 2**16
    assert {"json", "math", "torch", "numpy"} <= set(modules) and "csv" not in modules
    assert "student_helpers" not in modules and not any(len(m) > 100 for m in modules)


def test_a_worker_that_dies_warming_up_is_a_message_not_a_traceback():
    """The warm worker warms up while the parent reads the submissions: if it dies then, what the
    parent sends it next fails on a closed socket, and the grader must still say why it stopped."""
    from ninja.grade import sandbox

    server = sandbox.ForkServer()
    server.configure("ninja.grade.child:grade_in_child", sandbox.Limits(), "ninja.no_such_module:prepare", {},
                     "ninja.grade.child:preload")  # fmt: skip
    assert server.process is not None
    server.process.wait(timeout=120)  # it imported torch, then failed to import the prepare step
    server.preload(["math"])  # its socket is closed now: no BrokenPipeError out of here
    with pytest.raises(sandbox.ServerFailed, match="no_such_module"):
        server.wait_ready()
    server.close()


def test_cgroup_v2_limits_are_the_files_the_kernel_reads(tmp_path, monkeypatch):
    """This machine's cpu, memory and pids are on v1, so v2's limits cannot be enforced here: on a
    folder laid out as a v2 cgroup is, the run delegates the three controllers and a job's limits go
    in the files and formats of the kernel's v2 interface (cpu.max "quota period", memory.max and
    memory.swap.max in bytes, memory.oom.group, pids.max)."""
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("cpu\n")
    cgroups.delegate(str(tmp_path), cgroups.NEEDED)
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"  # cpu was on already
    made = cgroups.Cgroups(2, dict.fromkeys(cgroups.NEEDED, str(tmp_path)))
    real_exists = os.path.exists
    optional = {"memory.swap.max", "memory.oom.group"}  # files a v2 kernel makes in every job folder
    monkeypatch.setattr(os.path, "exists", lambda path: Path(path).name in optional or real_exists(path))
    files = made.make_job("7", cgroups.Share(0.5, 300 * 2**20, 64))
    monkeypatch.undo()
    job = tmp_path / "job7"
    assert files == [str(job / "cgroup.procs")]
    written = {f.name: f.read_text() for f in job.iterdir()}
    assert written == {"cpu.max": "50000 100000", "memory.max": str(300 * 2**20), "memory.swap.max": "0",
                       "memory.oom.group": "1", "pids.max": "64"}  # fmt: skip
    with pytest.raises(OSError, match="does not have"):
        (tmp_path / "cgroup.controllers").write_text("cpu io\n")
        cgroups.delegate(str(tmp_path), cgroups.NEEDED)


def test_cgroup_v2_makes_places_kills_and_removes_a_job():
    """On the v2 hierarchy whatever controllers it has (this machine's may have none of cpu, memory, pids)."""
    v2, _ = cgroups.hierarchies(())
    if v2 is None or not os.access(v2[0], os.W_OK):
        pytest.skip("no writable cgroup v2 folder here")
    made = cgroups.Cgroups.open_v2(v2, ())
    try:
        files = made.make_job("v2", cgroups.Share(1.0, 2**30, 10))
        pid = os.fork()
        if pid == 0:
            cgroups.join(files)
            time.sleep(60)
            os._exit(0)
        time.sleep(0.1)
        assert cgroups.read_pids(os.path.dirname(files[0])) == [pid]
        assert made.end_job("v2")
        assert os.waitpid(pid, 0)[1] & 0x7F == 9  # killed by cgroup.kill
        assert not Path(files[0]).parent.exists()
    finally:
        made.close()
    assert not any(Path(run).exists() for run in made.made)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever it was reparented to."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_slots_share_is_its_part_of_the_cores_and_memory_and_at_least_one_core():
    cores = len(os.sched_getaffinity(0))
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    alone = cgroups.fair_share(1, 768, 200 * 2**20, 64)
    assert alone == cgroups.Share(float(cores), min(968 * 2**20, physical), 64)  # --memory plus the worker's pages
    assert cgroups.fair_share(cores, 768, 0, 64).cores == 1.0
    crowded = cgroups.fair_share(4 * cores, 10**6, 0, 64)  # more slots than cores, more memory than the machine
    assert crowded.cores == 1.0 and crowded.memory == physical // (4 * cores)
    assert ("cpu", "cpu.max", f"{cores * 100_000} 100000") in cgroups.limits(2, alone)
    assert ("cpu", "cpu.cfs_quota_us", str(cores * 100_000)) in cgroups.limits(1, alone)


def test_a_job_whose_cgroup_could_not_be_made_stops_before_anything_runs():
    """The fork server could not make the job's cgroup: the child raises that, first of all (no layer
    applied, no learner code run), and the job's error names the cause."""
    job = {"cgroups_error": "its cgroup could not be made: [Errno 28] No space left on device", "dir": "/", "slot": 0}
    with pytest.raises(OSError, match="its cgroup could not be made: .Errno 28."):
        confine.Policy().apply(job, confine.RESULT_FD, None)
