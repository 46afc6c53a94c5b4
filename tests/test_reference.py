"""The references themselves: autograd on the trusted forward agrees with central differences,
an independent numerical gradient, for every checked variable of exercise 1."""

import pytest
import torch

from ninja import makemore
from ninja.makemore import PARAMETER_NAMES, Settings
from ninja.registry import find

SETTINGS = Settings(seed=7, batch_size=16)


def loss_with(settings, bump_name=None, index=None, h=0.0):
    """The trusted forward's loss with `h` added to one element of one parameter or intermediate."""
    with makemore.use(settings):
        params = dict(zip(PARAMETER_NAMES, makemore.parameters()))
        Xb, Yb = makemore.batch()
    if bump_name in params:
        params[bump_name] = params[bump_name].clone()
        params[bump_name][index] += h

    def bump(name, t):
        if name != bump_name:
            return t
        t = t.clone()
        t[index] += h
        return t

    return makemore.forward(**params, Xb=Xb, Yb=Yb, tap=bump).item()


@pytest.mark.parametrize("name", find("exercise1").checked)
def test_autograd_reference_matches_central_differences(name):
    _, grads = makemore.reference_gradients(SETTINGS, [name])
    grad = grads[name]
    assert grad.dtype == torch.float64
    g = torch.Generator().manual_seed(len(name))
    h = 1e-6
    for _ in range(4):
        index = tuple(torch.randint(0, d, (1,), generator=g).item() for d in grad.shape)
        numeric = (loss_with(SETTINGS, name, index, h) - loss_with(SETTINGS, name, index, -h)) / (2 * h)
        assert numeric == pytest.approx(grad[index].item(), rel=1e-5, abs=1e-9), (name, index)


def test_float32_settings_give_the_same_references_to_float32_precision():
    names = find("exercise1").checked
    _, g64 = makemore.reference_gradients(SETTINGS, names)
    _, g32 = makemore.reference_gradients(Settings(seed=7, batch_size=16, dtype=torch.float32), names)
    for name in names:
        assert g32[name].dtype == torch.float32
        assert torch.allclose(g32[name].double(), g64[name], rtol=1e-4, atol=1e-6), name
