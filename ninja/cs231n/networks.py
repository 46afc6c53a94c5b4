"""CS231n assignment 2's networks: fc_net.py's FullyConnectedNet (any depth, dropout, batchnorm or
layernorm) and cnn.py's ThreeLayerConvNet. The learner's class is built at each case's sizes, the
case's parameters are put in its `params`, and its `loss(X, y) -> (loss, grads)` is compared with
autograd on a torch model holding the same parameters. The helpers the class calls (the learner's
layers, layer_utils, fast_layers) are imported from where the learner's file finds them."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
import torch.nn.functional as F

from ninja import collected, engine
from ninja.cs231n import cases as trusted_side
from ninja.cs231n.cases import Case, Convention, OwnKind, Unit, rng_for
from ninja.cs231n.classifiers import net_reg, reg_convention
from ninja.cs231n.conventions import function_text, prose, read_first
from ninja.cs231n.exercise import FunctionsExercise
from ninja.cs231n.judge import trials
from ninja.cs231n.layers import MISSING_N_MISTAKE, callees
from ninja.cs231n.learner import collect_case, learner_value
from ninja.cs231n.mistakes import Mistake, callee
from ninja.results import PASS

NET_REG = reg_convention(
    "net_reg",
    "0.5",
    net_reg,  # fc_net.py's and cnn.py's skeletons ask for "a factor of 0.5" in most years
    "reg * the sum of every W**2 (dW gets 2 * reg * W)",
    "0.5 * reg * the sum of every W**2 (dW gets reg * W)",
)
# what FullyConnectedNet's docstring says its `dropout` argument is (read as prose)
NET_DROPOUT_WORDS = (
    ("drop", r"\bif dropout ?= ?0(?:\.0)? then\b"),  # 2016-2018: "If dropout=0 then ... no dropout"
    ("keep", r"\bif dropout ?= ?1(?:\.0)? then\b"),  # 2019
    ("keep", r"\bif dropout_keep_ratio ?= ?1(?:\.0)? then\b"),  # 2020 on
    ("drop", r"\bdropout: (?:the )?(?:probability|chance) of drop"),
    ("keep", r"\bdropout: (?:the )?(?:probability|chance) of (?:keep|retain)"),
)


def net_dropout(source: str) -> str | None:
    return read_first(prose(function_text(source, "FullyConnectedNet")), NET_DROPOUT_WORDS)


NET_DROPOUT = Convention(
    "dropout",
    {
        "keep": ({}, "the constructor's dropout as the probability of keeping a unit (2019's)"),
        "drop": ({}, "the constructor's dropout as the probability of dropping a unit (2016-2018's)"),
    },
    default="keep",
    read=net_dropout,
)
LAST_UNREGULARIZED = Mistake(
    "reg",
    "the last layer's W is not regularized: the loop over the hidden layers leaves out W_L; add "
    "0.5 * reg * np.sum(W_L**2) to the loss and reg * W_L to its gradient too",
    {"last_unregularized": True},
)
CYTHON = (
    "fast_layers.py needs its Cython extension, built once in cs231n/ with `python setup.py build_ext --inplace` "
    "(the step the ConvolutionalNetworks notebook asks for)"
)

# ---------------------------------------------------------------- FullyConnectedNet


def fc_cases(seed, cifar=None):
    r = rng_for(seed, "FullyConnectedNet")
    cases = []
    for n, x_shape, hidden, classes, norm, keep, reg in (
        (4, (15,), [20, 30], 10, None, 1.0, 0.0),  # the notebook's first check
        (4, (15,), [20, 30], 10, None, 1.0, 3.14),
        (6, (5,), [8, 6, 5], 4, "batchnorm", 1.0, 0.1),
        (5, (7,), [7, 9], 3, "layernorm", 1.0, 0.2),
        (5, (3, 4, 4), [10], 6, None, 0.75, 0.05),  # images, flattened by the first affine layer
    ):
        dims = [int(np.prod(x_shape)), *hidden, classes]
        params = {}
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:]), 1):
            params[f"W{i}"] = r.standard_normal((d_in, d_out)) / np.sqrt(d_in)
            params[f"b{i}"] = 0.1 * r.standard_normal(d_out)
            if norm and i < len(dims) - 1:
                params[f"gamma{i}"] = 1 + 0.1 * r.standard_normal(d_out)
                params[f"beta{i}"] = 0.1 * r.standard_normal(d_out)
        config = {"hidden_dims": hidden, "num_classes": classes, "normalization": norm, "keep": keep, "reg": reg,
                  "seed": 123}  # fmt: skip
        X = r.standard_normal((n, *x_shape))
        inputs = {"X": X, "y": r.integers(0, classes, n), **params, "config": config}
        what = f", {norm}" if norm else ""
        what += f", dropout keep {keep}" if keep < 1 else ""
        cases.append(Case(f"X {X.shape}, hidden {hidden}{what}, reg {reg}", inputs))
    return cases


def fc_params(inputs) -> list[str]:
    return [k for k in inputs if k not in ("X", "y", "config")]


def dropout_mask(shape, keep: float, seed: int) -> np.ndarray:
    """CS231n's dropout_forward with a seed: np.random.seed(seed), then rand(*x.shape) < p, at every layer."""
    return (np.random.RandomState(seed).rand(*shape) < keep).astype(np.float64)


def fully_connected(t, out, reg_factor=0.5, mean=True, last_unregularized=False):
    """{affine - [batchnorm or layernorm] - relu - [dropout]} x (L - 1) - affine - softmax, plus
    reg_factor * reg * the sum of the squared weights."""
    c = t["config"]
    layers = len(c["hidden_dims"]) + 1
    h = t["X"].reshape(t["X"].shape[0], -1)
    for i in range(1, layers):
        h = h @ t[f"W{i}"] + t[f"b{i}"]
        if c["normalization"] == "batchnorm":
            h = F.batch_norm(h, None, None, t[f"gamma{i}"], t[f"beta{i}"], training=True, eps=1e-5)
        elif c["normalization"] == "layernorm":
            h = F.layer_norm(h, h.shape[1:], t[f"gamma{i}"], t[f"beta{i}"], eps=1e-5)
        h = h.clamp(min=0)
        if c["keep"] < 1:
            kept = c["masks"][i - 1] if "masks" in c else dropout_mask(tuple(h.shape), c["keep"], c["seed"])
            h = h * torch.as_tensor(kept, dtype=h.dtype) / c["keep"]
    scores = h @ t[f"W{layers}"] + t[f"b{layers}"]
    data = F.cross_entropy(scores, t["y"], reduction="mean" if mean else "sum")
    regularized = range(1, layers if last_unregularized else layers + 1)
    return data + reg_factor * c["reg"] * sum((t[f"W{i}"] ** 2).sum() for i in regularized)


def fc_arguments(cls, c: dict, inputs) -> dict | str:
    """The constructor's keywords for this case in the learner's year: dropout_keep_ratio
    (2020-), dropout as the keep probability with normalization (2019), or dropout as the drop
    probability with use_batchnorm (2016-2018). A string says why the case does not apply."""
    accepts = inspect.signature(cls.__init__).parameters
    kwargs = {"input_dim": int(np.prod(inputs["X"].shape[1:])), "num_classes": c["num_classes"], "reg": c["reg"],
              "weight_scale": FC_SCALE, "dtype": np.float64, "seed": c["seed"]}  # fmt: skip
    if "dropout_keep_ratio" in accepts:
        kwargs["dropout_keep_ratio"] = c["keep"]
    elif "dropout" in accepts:  # --convention dropout=..., else the docstring, else the year's signature
        means = c.get("dropout_means") or ("keep" if "normalization" in accepts else "drop")
        kwargs["dropout"] = c["keep"] if means == "keep" else 1 - c["keep"]
    if "normalization" in accepts:
        kwargs["normalization"] = c["normalization"]
    elif c["normalization"] == "layernorm":
        return "this FullyConnectedNet has use_batchnorm and no layernorm (2016-2018's)"
    elif "use_batchnorm" in accepts:
        kwargs["use_batchnorm"] = c["normalization"] == "batchnorm"
    return {k: v for k, v in kwargs.items() if k in accepts}


def learner_masks(cls, inputs) -> list[np.ndarray] | None:
    """Where the learner's own dropout_forward (the one its fc_net.py imports) keeps units, called
    as the net calls it (with the net's dropout_param, seeded) at each hidden layer's shape: masks
    differ by year (rand < p, rand >= p) and dropout itself is checked in `layers`."""
    c = inputs["config"]
    dropout = getattr(getattr(cls, "loss", None), "__globals__", {}).get("dropout_forward")
    arguments = fc_arguments(cls, c, inputs)
    if c["keep"] >= 1 or dropout is None or isinstance(arguments, str):
        return None
    param = dict(getattr(cls(c["hidden_dims"], **arguments), "dropout_param", {}), mode="train")
    n = inputs["X"].shape[0]
    return [
        (np.asarray(dropout(np.ones((n, width)), dict(param))[0]) != 0).astype(np.float64) for width in c["hidden_dims"]
    ]


def build_fc_net(cls, inputs):
    return cls(inputs["config"]["hidden_dims"], **fc_arguments(cls, inputs["config"], inputs))


def call_fc_net(cls, name, inputs):
    return loss_with(build_fc_net(cls, inputs), inputs)


def loss_with(net, inputs):
    """The learner's net holding the case's parameters (copies), asked for its loss and grads."""
    for k in fc_params(inputs):
        net.params[k] = inputs[k].copy()
    return net.loss(inputs["X"], inputs["y"])


# ---------------------------------------------------------------- ThreeLayerConvNet


def conv_cases(seed, cifar=None):
    r = rng_for(seed, "ThreeLayerConvNet")
    cases = []
    for n, image, filters, size, hidden, classes, reg in (
        (3, (3, 8, 8), 4, 3, 7, 5, 0.0),
        (2, (1, 6, 6), 3, 5, 4, 3, 0.3),
        (2, (2, 6, 4), 2, 3, 5, 4, 0.1),
    ):
        c, h, w = image
        flat = filters * (h // 2) * (w // 2)
        params = {
            "W1": r.standard_normal((filters, c, size, size)) / size, "b1": 0.1 * r.standard_normal(filters),
            "W2": r.standard_normal((flat, hidden)) / np.sqrt(flat), "b2": 0.1 * r.standard_normal(hidden),
            "W3": r.standard_normal((hidden, classes)) / np.sqrt(hidden), "b3": 0.1 * r.standard_normal(classes),
        }  # fmt: skip
        config = {"num_filters": filters, "filter_size": size, "hidden_dim": hidden, "num_classes": classes, "reg": reg}
        X = r.standard_normal((n, *image))
        inputs = {"X": X, "y": r.integers(0, classes, n), **params, "config": config}
        cases.append(Case(f"X {X.shape}, {filters} filters {size}x{size}, hidden {hidden}, reg {reg}", inputs))
    return cases


def three_layer_conv(t, out, reg_factor=0.5, mean=True):
    """conv (stride 1, size-preserving pad) - relu - 2x2 max pool - affine - relu - affine - softmax."""
    c = t["config"]
    h = F.conv2d(t["X"], t["W1"], t["b1"], stride=1, padding=(c["filter_size"] - 1) // 2)
    h = F.max_pool2d(h.clamp(min=0), 2, 2)
    h = (h.reshape(h.shape[0], -1) @ t["W2"] + t["b2"]).clamp(min=0)
    scores = h @ t["W3"] + t["b3"]
    data = F.cross_entropy(scores, t["y"], reduction="mean" if mean else "sum")
    return data + reg_factor * c["reg"] * sum((t[w] ** 2).sum() for w in ("W1", "W2", "W3"))


def build_conv_net(cls, inputs):
    c = inputs["config"]
    keywords = {k: c[k] for k in ("num_filters", "filter_size", "hidden_dim", "num_classes", "reg")}
    return cls(input_dim=inputs["X"].shape[1:], weight_scale=CONV_SCALE, dtype=np.float64, **keywords)


def call_conv_net(cls, name, inputs):
    return loss_with(build_conv_net(cls, inputs), inputs)


# ---------------------------------------------------------------- the learner's own initialization

FC_SCALE, CONV_SCALE = 5e-2, 1e-3  # the weight_scale each net is built with


def init_problems(own: dict, inputs, scale: float) -> list[str]:
    """What the learner's __init__ made (`own`: its params) against what the case's parameters say
    it should: the keys, the shapes, float64 (the dtype asked for), zero biases and betas, unit
    gammas, weights drawn with std weight_scale (loosely: a few hundred draws)."""
    want = {k: inputs[k] for k in fc_params(inputs)}
    problems = [f"no {k}" for k in want if k not in own] + [f"an extra {k}" for k in own if k not in want]
    for k, expected in want.items():
        got = own.get(k)
        if not isinstance(got, np.ndarray):
            continue
        if got.shape != expected.shape:
            problems.append(f"{k} is {got.shape}, not {expected.shape}")
        elif got.dtype != np.float64:
            problems.append(f"{k} is {got.dtype}, not the dtype asked for (float64)")
        elif k[0] == "b" and np.any(got != 0):
            problems.append(f"{k} is not zeros")
        elif k.startswith("gamma") and np.any(got != 1):
            problems.append(f"{k} is not ones")
        elif k[0] == "W" and got.size >= 50 and not 0.6 < got.std() / scale < 1.6:
            problems.append(f"{k} has std {got.std():.2g}, not weight_scale {scale:g}")
    return problems


def own_params(build):
    """The learner's params right after __init__, at this case's sizes (plain arrays)."""
    return lambda cls, inputs: dict(build(cls, inputs).params)


# ---------------------------------------------------------------- one unit per network, its names per case


@dataclass(frozen=True)
class Network(Unit, OwnKind):
    """A network whose parameters depend on the case (depth, normalization): `wrt` lists them all,
    each case is checked as a loss unit over the parameters it has. `applies(cls, inputs)` says
    why a case does not fit the learner's constructor (another year's arguments), else None."""

    applies: object = None
    given: object = None  # the --convention values collect calls the learner's class under
    probe: object = None  # (learner's class, inputs) -> what the trusted side takes from the learner's helpers
    own_params: object = None  # (learner's class, inputs) -> its params as its __init__ makes them
    weight_scale: float = 0.0

    def for_case(self, case: Case) -> Unit:
        plain = Unit(**{f.name: getattr(self, f.name) for f in fields(Unit)})
        return replace(plain, wrt=tuple(k for k in self.wrt if k in case.inputs))

    def collecting(self, given) -> Network:
        return replace(self, given=dict(given))

    def case_checked(self, case: Case) -> tuple[str, ...]:
        return self.for_case(case).checked

    def collect_case(self, learner, case: Case) -> dict:
        home = learner.file_of(self.owner)
        means = (self.given or {}).get("dropout") or (net_dropout(home.source) if home else None)
        if means:  # how the constructor's `dropout` argument is meant
            case = replace(case, inputs={**case.inputs, "config": {**case.inputs["config"], "dropout_means": means}})
        why = self.applies(learner.get(self.owner), case.inputs) if self.applies else None
        if why:
            return {"error": None, "out": None, "skipped": why}
        called = collect_case(self.for_case(case), learner, case)
        if called["error"] and "_cython" in called["error"][1]:  # message: fast_layers' Cython, never built
            called["error"][1] += f": {CYTHON}"
        if self.probe and not called["error"]:
            masks, error = learner.call(self.probe, learner.get(self.owner), case.inputs)
            called["masks"] = None if error or masks is None else [collected.plain(m) for m in masks]
        own = None
        if self.own_params:
            own, error = learner.call(self.own_params, learner.get(self.owner), case.inputs)
            own = None if error or not isinstance(own, dict) else own
            called["own"] = None if called["error"] else collected.plain(own)
        if called["error"] and own is not None:  # gamma0 where gamma1 belongs: say so beside the error
            keys = [p for p in init_problems(own, case.inputs, self.weight_scale) if p.startswith(("no ", "an extra "))]
            if keys:
                called["error"][1] += f" (your params' keys differ from CS231n's: {', '.join(keys[:4])}; {KEYS})"
        kind = case.inputs["config"].get("normalization")
        text = function_text(home.source, self.owner) if home and kind else None
        called["norm_calls"] = calls_normalization(text, kind) if text else True
        return called

    def expected(self, case: Case, out, options) -> dict:
        return trusted_side.expected(self.for_case(case), case, out, options)

    def trials(self, called, case, expected, options):
        if called.get("skipped"):
            return []
        if called.get("masks"):  # judged with the learner's own dropout masks
            config = {**case.inputs["config"], "masks": [learner_value(m) for m in called["masks"]]}
            case = replace(case, inputs={**case.inputs, "config": config})
            expected = trusted_side.expected(self.for_case(case), case, learner_value(called["out"]), options)
        found = trials(self.for_case(case), called, case, expected, options)
        own = learner_value(called.get("own"))
        problems = init_problems(own, case.inputs, self.weight_scale) if isinstance(own, dict) else []
        if problems and found:  # the loss is right with the case's parameters; the class is not
            listed = "; ".join(problems[:3]) + (f" and {len(problems) - 3} more" if len(problems) > 3 else "")
            found[0].diagnosis[f"{self.forward}.loss"] = ("init", f"your __init__ at these sizes: {listed}")
        layers = helpers_of(case.inputs["config"])
        never = layers in ("batchnorm", "layernorm") and not called.get("norm_calls", True)
        for trial in found if layers else ():
            for name, want in trial.expected.items():
                got = trial.got.get(name)
                if got is None or engine.compare(name, got, want).status == PASS or name in trial.note:
                    continue
                if never:  # the case asks for normalization that this net never calls: its own fault
                    trial.diagnosis[name] = ("normalization", NEVER_NORMALIZES.format(layers))
                else:
                    trial.note[name] = f"this case runs your {layers}: `ninja check layers --only {layers}` checks it"
        return found


KEYS = "CS231n numbers gamma and beta as the layers they follow: gamma1, beta1 ... beside W1, b1"
NEVER_NORMALIZES = (
    "this case asks for normalization='{0}' and your FullyConnectedNet never runs {0} (no {0}_forward, nor a "
    "helper of yours that names it): add it between each hidden affine layer and its relu"
)


NORMALIZING = {  # names of the functions that run each normalization; norm alone (affine_norm_relu) runs either
    "batchnorm": r"batch_?norm|(^|_)(bn|norm)(_|$)",
    "layernorm": r"layer_?norm|(^|_)(ln|norm)(_|$)",
}


def calls_normalization(source: str, kind: str) -> bool:
    """Whether the class text calls or names a function that runs the normalization `kind`
    (batchnorm_forward, affine_bn_relu_forward, affine_ln_relu_forward picked into a variable
    first); True when it cannot be parsed."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return True
    named = {callee(n) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    named |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id.endswith(("_forward", "_backward"))}
    return any(re.search(NORMALIZING[kind], name) for name in named - {"normalization"})


def helpers_of(config: dict) -> str | None:
    """The learner's layers beyond affine and relu that a case runs (its failure may be theirs)."""
    if config.get("normalization"):
        return config["normalization"]
    return "dropout" if config.get("keep", 1) < 1 else None


def fc_applies(cls, inputs) -> str | None:
    try:
        arguments = fc_arguments(cls, inputs["config"], inputs)
    except (TypeError, ValueError):  # no signature to read: the call says what is wrong
        return None
    return arguments if isinstance(arguments, str) else None


FC_WRT = ("W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4", "gamma1", "beta1", "gamma2", "beta2", "gamma3", "beta3")
UNITS = (
    Network(
        "FullyConnectedNet", "loss", FC_WRT, fc_cases, fully_connected, owner="FullyConnectedNet", call=call_fc_net,
        mistakes=(MISSING_N_MISTAKE, LAST_UNREGULARIZED), conventions=(NET_REG, NET_DROPOUT), applies=fc_applies,
        probe=learner_masks, own_params=own_params(build_fc_net), weight_scale=FC_SCALE,
        calls=callees("affine_forward", "relu_forward", "batchnorm_forward", "layernorm_forward", "softmax_loss"),
    ),
    Network(
        "ThreeLayerConvNet", "loss", ("W1", "b1", "W2", "b2", "W3", "b3"), conv_cases, three_layer_conv,
        owner="ThreeLayerConvNet", call=call_conv_net, mistakes=(MISSING_N_MISTAKE,), conventions=(NET_REG,),
        own_params=own_params(build_conv_net), weight_scale=CONV_SCALE,
        calls=callees("conv_forward_naive", "max_pool_forward_naive", "affine_forward", "relu_forward", "softmax_loss"),
    ),
)  # fmt: skip

HINTS = {
    "FullyConnectedNet": (
        "params W1..WL (fan_in, fan_out), b1..bL, and gamma1, beta1 ... for the L - 1 hidden layers when normalized; "
        "loss(X, y) returns (loss, grads) with grads[k] shaped like params[k].",
        "{affine - [batchnorm/layernorm] - relu - [dropout]} x (L - 1) - affine - softmax; keep every cache, then "
        "walk the layers backwards; regularization adds to the W gradients only.",
        "Forward layer i with self.params['W%d' % i] ... and self.bn_params[i - 1]; softmax_loss on the scores; "
        "loss += 0.5 * reg * sum of every W**2; backwards: affine_backward, then for i = L-1 .. 1 dropout, relu, "
        "norm and affine backward; grads['W%d' % i] += reg * W.",
    ),
    "ThreeLayerConvNet": (
        "params W1 (F, C, HH, WW), b1 (F,), W2 (F * H/2 * W/2, hidden), b2, W3 (hidden, classes), b3.",
        "conv - relu - 2x2 max pool - affine - relu - affine - softmax, with the conv padded to keep H and W.",
        "conv_relu_pool_forward, affine_relu_forward, affine_forward; softmax_loss; the three backwards in reverse; "
        "loss += 0.5 * reg * (sum W1**2 + sum W2**2 + sum W3**2) and grads['Wk'] += reg * Wk.",
    ),
}

EXERCISE = FunctionsExercise(
    name="networks",
    title="CS231n networks: FullyConnectedNet (any depth, dropout, batchnorm, layernorm), ThreeLayerConvNet",
    units=UNITS,
    hints=HINTS,
)
