"""bench/gpt_step.py runs end to end at a tiny size (a refactor once broke its imports and no test
noticed), and says clearly when it cannot: no GPU for --device cuda, a bad count."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "bench" / "gpt_step.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gpt_step", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_times_both_steps_prints_their_ratio_and_profiles_them(bench, capsys):
    assert bench.main(["--rounds", "2", "--block", "3", "--profile"]) == 0
    out = capsys.readouterr().out
    times = {name: float(ms) for name, ms in re.findall(r"^  (manual|autograd) +([\d.]+) ms a step", out, re.M)}
    assert set(times) == {"manual", "autograd"} and all(ms > 0 for ms in times.values()), out
    ratio = float(re.search(r"ratio manual / autograd: ([\d.]+)x", out).group(1))
    assert ratio == pytest.approx(times["manual"] / times["autograd"], abs=0.01)
    manual, autograd = out.split("\nmanual: one block of 3 steps, torch.profiler")[1].split("\nautograd: ")
    assert "aten::mm" in manual and "scaled_dot_product" not in manual, manual
    assert "scaled_dot_product" in autograd, autograd  # autograd's fused attention, among its costliest
    counts = [int(n) for n in re.findall(r"^(\d+) torch operations a step", out, re.M)]
    assert len(counts) == 2 and all(100 < n < 1000 for n in counts), out


def test_device_cuda_runs_on_a_gpu_or_says_there_is_none(bench, capsys):
    code = bench.main(["--device", "cuda", "--rounds", "1", "--block", "2"])
    out, err = capsys.readouterr()
    if torch.cuda.is_available():
        assert code == 0 and "on cuda" in out, out + err
    else:
        assert code == 2 and re.fullmatch(
            r"error: --device cuda: (no CUDA GPU is visible|this torch is built without CUDA)\n", err
        ), err
        assert out == ""


@pytest.mark.parametrize("bad", [["--rounds", "0"], ["--block", "-3"], ["--batch-size", "many"]])
def test_bad_counts_are_usage_errors(bench, capsys, bad):
    with pytest.raises(SystemExit) as exit_:
        bench.main(bad)
    assert exit_.value.code == 2 and "a whole number of at least 1" in capsys.readouterr().err
