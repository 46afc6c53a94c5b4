"""Small things a learner meets: threads in exercise 4's own script, memory, the names in `Known:`
lists, file:line in CS231n hints, the unreshaped x in affine_backward."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT, run_ninja

from ninja import memory


def test_exercise4s_own_training_loop_runs_on_one_thread():
    script = (
        "import runpy, sys, torch; before = torch.get_num_threads(); sys.argv = ['exercise4.py', '1']\n"
        "try:\n    runpy.run_path('exercises/exercise4.py', run_name='__main__')\n"
        "except SystemExit as stop:\n    print(stop.code)\n"  # the template: nothing to train with yet, after the pin
        "print(before, torch.get_num_threads())"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    before, after = map(int, done.stdout.split()[-2:])
    assert after == 1 and (before > 1 or os.cpu_count() == 1), done.stdout + done.stderr
    assert "write your backward pass first" in done.stdout


def test_running_out_of_memory_reads_as_one_line():
    try:
        torch.empty(10**7, 10**7)
    except RuntimeError as e:
        torch_error = e
    assert "enforce fail" in str(torch_error) or "DefaultCPUAllocator" in str(torch_error)
    line = memory.out_of_memory(torch_error)
    assert line.startswith("this line asked for 363.8 TiB, more memory than there is to give") and "\n" not in line
    with pytest.raises(MemoryError) as numpy_error:
        np.empty((10**7, 10**7))
    numpy_error = numpy_error.value
    assert memory.out_of_memory(numpy_error).startswith("this line asked for 728. TiB")
    assert memory.out_of_memory(ValueError("shapes differ")) is None
    assert memory.out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied")) is None


def test_the_cap_holds_inside_the_block_and_goes_after_it():
    before = resource.getrlimit(resource.RLIMIT_AS)
    with memory.capped(256):
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        assert soft == pytest.approx(memory.mapped_bytes() + 256 * 1024**2, rel=0.05)
        with pytest.raises((MemoryError, RuntimeError)):
            torch.ones(512 * 1024**2, dtype=torch.uint8).add_(1)  # 512 MB, over the 256 allowed
    assert resource.getrlimit(resource.RLIMIT_AS) == before


@pytest.mark.slow
def test_a_file_that_asks_for_too_much_memory_in_check_says_so_in_a_line(mistake):
    huge = mistake("exercise2", "dlogits = F.softmax(logits, 1)", "dlogits = torch.ones(10**6, 10**4)  # 40 GB")
    done = run_ninja("check", "exercise2", "--file", str(huge))
    shown = done.stdout + done.stderr
    assert done.returncode == 1 and "enforce fail" not in shown and "Traceback" not in shown, shown
    assert "MemoryError: this line asked for 37.3 GiB, more memory than there is to give" in shown
    big = mistake("exercise2", "dlogits = F.softmax(logits, 1)", "dlogits = torch.ones(3 * 2**30, dtype=torch.uint8)")
    done = run_ninja("check", "exercise2", "--file", str(big))  # 3 GiB: fits many machines, not the 2 GiB cap
    assert "MemoryError: this line asked for 3.0 GiB" in done.stdout + done.stderr


@pytest.mark.slow
def test_an_unknown_variable_lists_the_known_ones_as_the_learner_writes_them():
    done = run_ninja("hint", "exercise1", "dfoo")
    assert done.returncode == 2
    assert "Known: dlogprobs, dprobs, dcounts_sum_inv," in done.stderr and ", dC." in done.stderr


LAYERS_DW = "    dw = x.reshape(x.shape[0], -1).T @ dout"


@pytest.mark.slow
def test_a_cs231n_hint_points_at_the_file_and_line(mistake):
    doubled = mistake("layers", LAYERS_DW, "    dw = 2 * x.reshape(x.shape[0], -1).T @ dout")
    done = run_ninja("hint", "layers", "--file", str(doubled))
    assert done.stdout.splitlines()[0] == f"{doubled}:15: next: affine_backward.dw (fail)", done.stdout


@pytest.mark.slow
def test_an_unreshaped_x_in_affine_backward_is_named(mistake):
    unreshaped = mistake("layers", LAYERS_DW, "    dw = x.T.dot(dout)")
    done = run_ninja("check", "layers", "--file", str(unreshaped), "--only", "affine")
    assert done.returncode == 1
    named = "affine_backward.dw is wrong: x.T.dot(dout) with x still (N, d_1, ..., d_k): "
    assert f"{unreshaped}:18: {named}" in done.stdout
    assert "reshape x to (N, D) first" in done.stdout


@pytest.mark.slow
def test_a_path_that_cannot_be_read_says_why(tmp_path):
    names = run_ninja("check", "exercise4", "--data", str(tmp_path / "names.txt"))
    assert names.returncode == 2
    assert f"cannot read names file {tmp_path / 'names.txt'}: No such file or directory" in names.stderr
    folder = run_ninja("check", "exercise1", "--data", str(tmp_path))
    assert folder.returncode == 2 and f"cannot read names file {tmp_path}: it is a folder" in folder.stderr
    layers = run_ninja("check", "layers", "--file", str(tmp_path / "cs231n" / "layers.py"))
    assert layers.returncode == 2
    assert f"cannot read {tmp_path / 'cs231n' / 'layers.py'}: No such file or directory" in layers.stderr
