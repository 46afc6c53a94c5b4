"""CS231n update rules (assignment 2's optim.py): sgd, sgd_momentum, rmsprop and adam, each
`(w, dw, config) -> (next_w, config)`. They run several steps in a row as CS231n's Solver runs
them (each step gets the w and the config the previous one returned) and every step's next_w and
config state is compared with torch.optim run on the same gradients from the same start.
A named mistake is the whole trajectory that mistake makes, from the same start."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ninja import collected, engine
from ninja.cs231n.cases import Case, Convention, OwnKind, Unit, rng_for
from ninja.cs231n.exercise import FunctionsExercise
from ninja.cs231n.judge import Trial
from ninja.cs231n.learner import Learner, learner_value, unpack
from ninja.cs231n.mistakes import Mistake
from ninja.results import PASS

# CS231n's config keys and defaults (every skeleton since 2016), and what each rule keeps between steps
DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}
F64 = torch.float64


# ---------------------------------------------------------------- the cases


def notebook_config(rule: str, shape) -> dict:
    """The config of the notebook's own test of each rule (learning rate and starting state)."""
    n = int(np.prod(shape))
    ramp = lambda a, b: np.linspace(a, b, num=n).reshape(shape)  # noqa: E731
    return {
        "sgd": {"learning_rate": 1e-3},
        "sgd_momentum": {"learning_rate": 1e-3, "velocity": ramp(0.6, 0.9)},
        "rmsprop": {"learning_rate": 1e-2, "cache": ramp(0.7, 0.8)},
        "adam": {"learning_rate": 1e-2, "m": ramp(0.6, 0.9), "v": ramp(0.7, 0.5), "t": 5},
    }[rule]


def own_config(rule: str) -> dict:
    """Hyperparameters far from the defaults, and an epsilon large enough that where it goes shows."""
    return {
        "sgd": {"learning_rate": 0.05},
        "sgd_momentum": {"learning_rate": 0.05, "momentum": 0.5},
        "rmsprop": {"learning_rate": 0.05, "decay_rate": 0.9, "epsilon": 1e-4},
        "adam": {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-4},
    }[rule]


def update_cases(rule: str):
    def cases(seed, cifar=None) -> list[Case]:
        r = rng_for(seed, f"optim {rule}")
        shape = (4, 5)
        w = np.linspace(-0.4, 0.6, num=20).reshape(shape)
        first = np.linspace(-0.6, 0.4, num=20).reshape(shape)  # the notebook's dw
        notebook = np.stack([first, *r.standard_normal((2, *shape))])
        return [
            Case("w (4, 5), config None (the defaults), 3 steps",
                 {"w": r.standard_normal(shape), "dws": r.standard_normal((3, *shape)), "config": None}),
            Case("w (4, 5), the notebook's config, 3 steps",
                 {"w": w, "dws": notebook, "config": notebook_config(rule, shape)}),
            Case("w (20, 10), small dw, own hyperparameters, 4 steps",
                 {"w": r.standard_normal((20, 10)), "dws": 1e-3 * r.standard_normal((4, 20, 10)),
                  "config": own_config(rule)}),
        ]  # fmt: skip

    return cases


# ---------------------------------------------------------------- the trusted side: torch.optim


def start(rule: str, inputs) -> tuple[torch.Tensor, dict, dict[str, Any]]:
    """w, the hyperparameters (the config's, else CS231n's defaults) and the starting state."""
    w = torch.tensor(inputs["w"], dtype=F64)
    config = inputs["config"] or {}
    hyper = {k: config.get(k, v) for k, v in DEFAULTS[rule].items()}
    state = {k: torch.tensor(config[k], dtype=F64) if k in config else torch.zeros_like(w) for k in STATE[rule]}
    if "t" in state:
        state["t"] = torch.tensor(float(config.get("t", inputs.get("t0", 0))), dtype=F64)
    return w, hyper, state


def torch_optimizer(rule: str, p: torch.nn.Parameter, hyper: dict, state: dict):
    """torch.optim's own implementation of the rule, its state set to CS231n's starting state.
    CS231n's velocity is -learning_rate times torch's momentum buffer."""
    lr = hyper["learning_rate"]
    if rule == "sgd":
        return torch.optim.SGD([p], lr=lr, foreach=False)
    if rule == "sgd_momentum":
        opt = torch.optim.SGD([p], lr=lr, momentum=hyper["momentum"], foreach=False)
        opt.state[p]["momentum_buffer"] = -state["velocity"] / lr
    elif rule == "rmsprop":
        opt = torch.optim.RMSprop([p], lr=lr, alpha=hyper["decay_rate"], eps=hyper["epsilon"], foreach=False)
        opt.state[p].update(step=torch.tensor(0.0), square_avg=state["cache"].clone())
    else:
        betas = (hyper["beta1"], hyper["beta2"])
        opt = torch.optim.Adam([p], lr=lr, betas=betas, eps=hyper["epsilon"], foreach=False)
        opt.state[p].update(step=state["t"].clone(), exp_avg=state["m"].clone(), exp_avg_sq=state["v"].clone())
    return opt


def torch_state(rule: str, opt, p, lr: float) -> dict[str, torch.Tensor]:
    s = opt.state[p]
    if rule == "sgd_momentum":
        return {"velocity": -lr * s["momentum_buffer"]}
    if rule == "rmsprop":
        return {"cache": s["square_avg"].clone()}
    if rule == "adam":
        return {"m": s["exp_avg"].clone(), "v": s["exp_avg_sq"].clone(), "t": s["step"].clone().to(F64)}
    return {}


def trusted_steps(rule: str, inputs) -> list[dict[str, torch.Tensor]]:
    """next_w and the state after each step, by torch.optim."""
    w, hyper, state = start(rule, inputs)
    p = torch.nn.Parameter(w.clone())
    opt = torch_optimizer(rule, p, hyper, state)
    steps = []
    for dw in inputs["dws"]:
        p.grad = torch.tensor(dw, dtype=F64)
        opt.step()
        steps.append({"next_w": p.detach().clone(), **torch_state(rule, opt, p, hyper["learning_rate"])})
    return steps


# ---------------------------------------------------------------- the mistakes: CS231n's formulas, varied


def sgd_step(w, dw, s, h, ascent=False):
    return w + (1 if ascent else -1) * h["learning_rate"] * dw, s


def momentum_step(w, dw, s, h, velocity_plus=False, minus_velocity=False):
    mu, lr = h["momentum"], h["learning_rate"]
    v = mu * s["velocity"] + lr * dw if velocity_plus else mu * s["velocity"] - lr * dw
    return (w - v if minus_velocity else w + v), {"velocity": v}


def root(x, eps, eps_inside):
    return (x + eps).sqrt() if eps_inside else x.sqrt() + eps


def rmsprop_step(w, dw, s, h, eps_inside=False, cache_of_dw=False):
    d = h["decay_rate"]
    cache = d * s["cache"] + (1 - d) * (dw if cache_of_dw else dw * dw)
    return w - h["learning_rate"] * dw / root(cache, h["epsilon"], eps_inside), {"cache": cache}


def adam_step(
    w, dw, s, h, eps_inside=False, uncorrected="", t_after=False, corrected_stored=False, t_kept=False, eps_hat=False
):
    b1, b2 = h["beta1"], h["beta2"]
    t = s["t"] + 1
    used = s["t"] if t_after else t  # t_after: the bias correction with the old t (0 at the first step: 0/0)
    m, v = b1 * s["m"] + (1 - b1) * dw, b2 * s["v"] + (1 - b2) * dw * dw
    mt = m if "m" in uncorrected else m / (1 - b1**used)
    vt = v if "v" in uncorrected else v / (1 - b2**used)
    next_w = w - h["learning_rate"] * mt / root(vt, h["epsilon"], eps_inside)
    if eps_hat:  # the paper's efficient form: the corrections folded into the step size
        step = h["learning_rate"] * (1 - b2**used).sqrt() / (1 - b1**used)
        next_w = w - step * m / root(v, h["epsilon"], eps_inside)
    if corrected_stored:
        m, v = mt, vt
    return next_w, {"m": m, "v": v, "t": s["t"] if t_kept else t}


STEPS = {"sgd": sgd_step, "sgd_momentum": momentum_step, "rmsprop": rmsprop_step, "adam": adam_step}


def mistaken_steps(rule: str, inputs, not_carried=False, **options) -> list[dict[str, torch.Tensor]]:
    """What the rule with a mistake returns at each step; not_carried: every step starts from the
    starting state again (the config it returned did not hold the new state)."""
    w, hyper, first = start(rule, inputs)
    state, steps = dict(first), []
    with np.errstate(all="ignore"):
        for dw in inputs["dws"]:
            w, state = STEPS[rule](
                w, torch.tensor(dw, dtype=F64), dict(first) if not_carried else state, hyper, **options
            )
            steps.append({"next_w": w, **state})
    return steps


NOT_CARRIED = Mistake(
    "state",
    "config not carried between steps: each step starts from the starting state again; store the new state "
    "in config (config['{key}'] = ...) and return that config",
    {"not_carried": True},
)
EPS_INSIDE = "epsilon inside the square root: divide by np.sqrt({what}) + epsilon"
MISTAKES = {
    "sgd": (Mistake("sign", "the step goes uphill: w - learning_rate * dw", {"ascent": True}),),
    "sgd_momentum": (
        Mistake("sign", "velocity sign: v = momentum * v - learning_rate * dw, then next_w = w + v",
                {"velocity_plus": True}),
        Mistake("sign", "velocity sign: with v = momentum * v - learning_rate * dw, next_w = w + v (not w - v)",
                {"minus_velocity": True}),
        NOT_CARRIED,
    ),
    "rmsprop": (
        Mistake("eps_inside", EPS_INSIDE.format(what="cache"), {"eps_inside": True}),
        Mistake("square", "the cache averages dw: rmsprop's cache is a moving average of dw**2 (cache = decay_rate * "
                "cache + (1 - decay_rate) * dw**2)", {"cache_of_dw": True}),
        NOT_CARRIED,
    ),
    "adam": (
        *(Mistake("bias_correction", f"no bias correction of {which}: divide m by 1 - beta1**t and v by "
                  "1 - beta2**t before the step", {"uncorrected": which}) for which in ("m and v", "m", "v")),
        Mistake("bias_correction", "bias correction with the old t: increment config['t'] before using it",
                {"t_after": True}),
        Mistake("bias_correction", "the bias-corrected m and v are stored in config: keep the moving averages "
                "m and v themselves for the next step, correct only the copies used in the step",
                {"corrected_stored": True}),
        Mistake("t", "t not advanced: store t + 1 back in config['t'] for the next step", {"t_kept": True}),
        Mistake("eps_inside", EPS_INSIDE.format(what="v_corrected"), {"eps_inside": True}),
        NOT_CARRIED,
    ),
}  # fmt: skip
ADAM_OVERFLOW = (
    "NaN or inf: at the first step t is 0 and 1 - beta1**0 is 0; increment config['t'] before the bias correction"
)


ADAM_EPSILON = Convention(
    "adam_epsilon",
    {
        "corrected": ({}, "epsilon added to the root of the bias-corrected v (CS231n's, torch.optim.Adam's)"),
        "hat": ({"eps_hat": True}, "the paper's efficient form, learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t) "
                "times m / (sqrt(v) + epsilon), as TensorFlow's Adam (it differs where epsilon is not negligible)"),
    },
    default="corrected",
    either=True,
)  # fmt: skip

# ---------------------------------------------------------------- the unit: several steps of one rule


def first_t(source: str) -> int:
    """Where adam's t starts when config is None: 0 since 2019, 1 in 2016-2018's skeleton
    (`config.setdefault('t', 1)`), which is staff code, so the learner's file decides."""
    return 1 if re.search(r"""setdefault\(\s*['"]t['"]\s*,\s*1\s*\)""", source) else 0


@dataclass(frozen=True)
class UpdateRule(Unit, OwnKind):
    """One update rule, called step after step on each case as the Solver calls it."""

    @property
    def rule(self) -> str:
        return self.forward

    @property
    def checked(self) -> tuple[str, ...]:
        return tuple(f"{self.rule}.{k}" for k in ("next_w", *STATE[self.rule]))

    def collect_case(self, learner: Learner, case: Case) -> dict:
        """Every step's next_w and config (copies: a later step may change the arrays in place)."""
        w, config, steps = case.inputs["w"].copy(), copy.deepcopy(case.inputs["config"]), []
        function = learner.get(self.rule)
        for k, dw in enumerate(case.inputs["dws"]):
            returned, error = learner.call(function, w.copy(), dw.copy(), config)
            if error:
                data = collected.error_data(error)
                data[1] = f"step {k + 1}: {data[1]}"
                return {"error": data, "out": None}
            next_w, config = unpack(copy.deepcopy(returned))
            state = {key: config.get(key) for key in STATE[self.rule]} if isinstance(config, dict) else None
            steps.append(
                {"next_w": collected.plain(next_w), "state": collected.plain(state), "config": state is not None}
            )
            if not isinstance(next_w, np.ndarray) or next_w.shape != w.shape:
                break  # nothing to take the next step from
            w, config = next_w.astype(np.float64), copy.deepcopy(config)
        source = learner.file_of(self.rule).source if self.reads_out else ""
        return {"error": None, "out": {"t0": first_t(source)} if self.reads_out else None, "steps": steps}

    def expected(self, case: Case, out, options) -> dict:
        inputs = {**case.inputs, "t0": int(out["t0"]) if out else 0}
        mistakes = {
            (m.kind, m.message.format(key=", ".join(STATE[self.rule]))): mistaken_steps(self.rule, inputs, **m.options)
            for m in self.mistakes
        }
        steps = mistaken_steps(self.rule, inputs, **options) if options else trusted_steps(self.rule, inputs)
        return {"steps": steps, "mistakes": mistakes}

    def trials(self, called: dict, case: Case, expected: dict, options) -> list[Trial]:
        trials, total = [], len(case.inputs["dws"])
        for k, step in enumerate(called["steps"]):
            want = {f"{self.rule}.{n}": v for n, v in expected["steps"][k].items()}
            got = self.step_values(step)
            trial = Trial(got, want)
            for named, steps in expected["mistakes"].items():
                trial.mistakes[named] = {f"{self.rule}.{n}": v for n, v in steps[k].items()}
            for name in want:
                value = got.get(name)
                if value is not None and engine.compare(name, value, want[name]).status != PASS:
                    trial.note[name] = f"step {k + 1} of {total}"
                elif value is None and got[f"{self.rule}.next_w"] is not None:
                    trial.note[name] = f"step {k + 1}: config has no '{name.split('.')[1]}' (return it in config)"
            trials.append(trial)
        return trials

    def step_values(self, step: dict) -> dict[str, Any]:
        """What one step returned, by checked name; the state counts once next_w is there (the
        template's config holds zeros before anything is written)."""
        next_w = learner_value(step["next_w"])
        got = {f"{self.rule}.next_w": next_w}
        state = learner_value(step["state"]) or {}
        for key in STATE[self.rule]:
            value = state.get(key) if next_w is not None else None
            if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
                value = value.astype(np.float64)  # t: an int against torch's float step
            got[f"{self.rule}.{key}"] = value
        return got


UNITS = tuple(
    UpdateRule(rule, "steps", (), update_cases(rule), lambda t, out: None, mistakes=MISTAKES[rule],
               overflow=ADAM_OVERFLOW if rule == "adam" else None, reads_out=rule == "adam",
               conventions=(ADAM_EPSILON,) if rule == "adam" else ())
    for rule in DEFAULTS
)  # fmt: skip

HINTS = {
    "sgd": (
        "w and dw have the same shape; config holds learning_rate (default 1e-2); return (next_w, config).",
        "Step against the gradient, scaled by the learning rate.",
        "Subtract the learning rate times the gradient from w (a new array, or w changed in place: both are allowed).",
    ),
    "sgd_momentum": (
        "config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w); return (next_w, config) with the "
        "new velocity in config['velocity'].",
        "The velocity is a decaying sum of past steps: it keeps a fraction `momentum` of itself and adds this "
        "step's move against the gradient; w moves by the velocity.",
        "The new velocity is momentum times the old one minus the learning rate times dw; add it to w; store the "
        "new velocity (not its negative) in config for the next call.",
    ),
    "rmsprop": (
        "config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache (zeros like w); store the new "
        "cache in config['cache'].",
        "cache is a moving average of dw squared; each element's step is divided by the root of its own cache.",
        "Mix the old cache (weight decay_rate) with dw squared (weight 1 - decay_rate); step by the learning rate "
        "times dw divided by the cache's square root plus epsilon (epsilon outside the root); store the cache.",
    ),
    "adam": (
        "config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v (zeros like w), t (0); "
        "store the new m, v and t in config.",
        "m and v are moving averages of dw and dw squared; both start at zero, so early on they are divided by "
        "1 - beta**t (the bias correction), with t counted from 1 at the first step.",
        "Advance t first; update m with dw and v with dw squared (weights beta and 1 - beta); divide copies of them "
        "by 1 - beta1 to the t and 1 - beta2 to the t; step by the learning rate times the corrected m over the "
        "root of the corrected v plus epsilon; store the uncorrected m and v and the new t.",
    ),
}

EXERCISE = FunctionsExercise(
    name="optim",
    title="CS231n update rules: sgd, sgd_momentum, rmsprop, adam, several steps in a row",
    units=UNITS,
    hints=HINTS,
    other_assignments={1: ("sgd_momentum", "rmsprop", "adam")},  # assignment 1's optim.py (2022-2025): sgd
)
