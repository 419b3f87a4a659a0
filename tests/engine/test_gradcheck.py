"""Central finite differences (float64, no torch) against the engine's analytic gradients, for every
op, layer and loss; and the vectorised erf against math.erf."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor, nn
from nnviz_addon.engine.nn import functional as F
from nnviz_addon.engine.special import erf

STEP = 1e-6


def _gradcheck(fn, arrays: list[np.ndarray], rng: np.random.Generator, rtol: float = 1e-6) -> None:
    """Compare d(sum(w * fn(x)))/dx from backward() with central differences, for fixed random w."""
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*leaves)
    weights = rng.standard_normal(out.shape)
    (out * Tensor(weights)).sum().backward()

    def objective(values: list[np.ndarray]) -> float:
        with engine.no_grad():
            return float(np.sum(fn(*[Tensor(v) for v in values]).data * weights))

    for index, (array, leaf) in enumerate(zip(arrays, leaves, strict=True)):
        numeric = np.zeros_like(array)
        for position in np.ndindex(array.shape):
            values = [a.copy() for a in arrays]
            values[index][position] += STEP
            upper = objective(values)
            values[index][position] -= 2 * STEP
            lower = objective(values)
            numeric[position] = (upper - lower) / (2 * STEP)
        np.testing.assert_allclose(leaf.grad.data, numeric, rtol=rtol, atol=1e-7, err_msg=f"input {index}")


def _away_from_kinks(array: np.ndarray) -> np.ndarray:
    """Move values off |x| < 0.05 so that relu/abs/clamp-style kinks are not straddled by the step."""
    return np.where(np.abs(array) < 0.05, 0.3, array)


CASES = {
    "add broadcast": (lambda a, b: a + b, [(2, 3), (3,)], "any"),
    "sub": (lambda a, b: a - b, [(2, 3), (2, 1)], "any"),
    "mul": (lambda a, b: a * b, [(2, 3), (1, 3)], "any"),
    "div": (lambda a, b: a / b, [(2, 3), (2, 3)], "positive"),
    "pow tensor": (lambda a, b: a**b, [(2, 3), (2, 3)], "positive"),
    "pow scalar": (lambda a: a**3, [(2, 3)], "any"),
    "rpow": (lambda a: 3.0**a, [(2, 3)], "any"),
    "rsub rdiv": (lambda a: 1.0 - 2.0 / a, [(2, 3)], "positive"),
    "neg": (lambda a: -a, [(3,)], "any"),
    "matmul": (lambda a, b: a @ b, [(2, 3), (3, 4)], "any"),
    "matmul vectors": (lambda a, b: a @ b, [(3,), (3, 2)], "any"),
    "matmul batched": (lambda a, b: a @ b, [(2, 2, 3), (3,)], "any"),
    "sum dims": (lambda a: a.sum(dim=(0, 2)), [(2, 3, 2)], "any"),
    "mean keepdim": (lambda a: a.mean(dim=1, keepdim=True), [(2, 3)], "any"),
    "max": (lambda a: a.max(), [(2, 3)], "any"),
    "max dim": (lambda a: a.max(dim=0).values, [(2, 3)], "any"),
    "min dim keepdim": (lambda a: a.min(dim=1, keepdim=True).values, [(2, 3)], "any"),
    "reshape transpose": (lambda a: a.reshape(3, 2).transpose(0, 1) * a, [(2, 3)], "any"),
    "permute T": (lambda a: a.permute(1, 2, 0).T, [(2, 3, 2)], "any"),
    "index": (lambda a: a[[1, 1, 0], 1:], [(2, 3)], "any"),
    "exp log": (lambda a: a.exp() + a.log(), [(2, 3)], "positive"),
    "sqrt": (lambda a: a.sqrt(), [(2, 3)], "positive"),
    "abs": (lambda a: a.abs(), [(2, 3)], "any"),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [(3, 3)], "any"),
    "tanh sigmoid relu": (lambda a: a.tanh() + a.sigmoid() + a.relu(), [(2, 3)], "any"),
    "softmax": (lambda a: a.softmax(0), [(3, 2)], "any"),
    "log_softmax": (lambda a: a.log_softmax(-1), [(2, 3)], "any"),
    "to float64": (lambda a: a.to(engine.float64) * 2, [(2,)], "any"),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(3, 2), (4, 2), (4,)], "any"),
    "linear 3d no bias": (lambda x, w: F.linear(x, w), [(2, 2, 3), (2, 3)], "any"),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.1), [(2, 3)], "any"),
    "gelu": (lambda a: F.gelu(a), [(2, 3)], "any"),
    "gelu tanh": (lambda a: F.gelu(a, approximate="tanh"), [(2, 3)], "any"),
    "silu": (lambda a: F.silu(a), [(2, 3)], "any"),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, 3, w, b), [(2, 3), (3,), (3,)], "any"),
    "batch_norm train": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [(4, 2), (2,), (2,)],
        "any",
    ),
    "batch_norm NCL": (lambda x: F.batch_norm(x, None, None, training=True), [(3, 2, 2)], "any"),
    "batch_norm NCHW": (lambda x: F.batch_norm(x, None, None, training=True), [(2, 2, 2, 3)], "any"),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b), [(2, 2, 4, 5), (3, 2, 2, 3), (3,)], "any"),
    "conv2d stride pad dilation": (
        lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2)),
        [(1, 2, 5, 6), (2, 2, 3, 2)],
        "any",
    ),
    "conv2d same unbatched": (lambda x, w: F.conv2d(x, w, padding="same"), [(1, 4, 3), (2, 1, 2, 2)], "any"),
    "max_pool2d": (lambda a: F.max_pool2d(a, 2, stride=1, padding=1), [(1, 2, 3, 4)], "any"),
    "avg_pool2d": (lambda a: F.avg_pool2d(a, 3, 2, 1, count_include_pad=False), [(1, 2, 5, 4)], "any"),
    "adaptive_avg_pool2d": (lambda a: F.adaptive_avg_pool2d(a, (2, 3)), [(1, 2, 5, 4)], "any"),
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [(3, 2), (3, 2)], "any"),
    "l1_loss": (lambda a, b: F.l1_loss(a, b, reduction="sum"), [(3, 2), (3, 2)], "any"),
    "bce": (
        lambda p, y: F.binary_cross_entropy(p.sigmoid(), y.sigmoid(), reduction="none"),
        [(3,), (3,)],
        "any",
    ),
    "bce with logits": (
        lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()),
        [(3, 2), (3, 2)],
        "any",
    ),
    "cross_entropy probabilities": (
        lambda x, t: F.cross_entropy(x, t.softmax(1), label_smoothing=0.2, reduction="none"),
        [(3, 4), (3, 4)],
        "any",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_matches_finite_differences(name: str, rng: np.random.Generator) -> None:
    fn, shapes, domain = CASES[name]
    arrays = [_away_from_kinks(rng.standard_normal(shape)) for shape in shapes]
    if domain == "positive":
        arrays = [np.abs(a) + 0.5 for a in arrays]
    _gradcheck(fn, arrays, rng)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_and_nll_with_indices(label_smoothing: float, reduction: str, rng: np.random.Generator) -> None:
    target = engine.tensor([2, 0, 1, 2])
    _gradcheck(
        lambda x: F.cross_entropy(x, target, reduction=reduction, label_smoothing=label_smoothing),
        [rng.standard_normal((4, 3))],
        rng,
    )
    _gradcheck(
        lambda x: F.nll_loss(x.log_softmax(1), target, reduction=reduction),
        [rng.standard_normal((4, 3))],
        rng,
    )


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda: nn.Sequential(nn.Linear(3, 4, dtype=engine.float64), nn.Tanh(), nn.Linear(4, 2, dtype=engine.float64)),
        lambda: nn.LayerNorm(3, dtype=engine.float64),
        lambda: nn.BatchNorm1d(3, dtype=engine.float64),
    ],
    ids=["mlp", "layernorm", "batchnorm-train"],
)
def test_layer_parameter_gradients_match_finite_differences(make_layer, rng: np.random.Generator) -> None:
    """Each parameter is perturbed through its live array; the layer's forward is the function."""
    layer = make_layer()
    for param in layer.parameters():
        param.data[...] = rng.standard_normal(param.shape)
    x = Tensor(rng.standard_normal((5, 3)))
    weights = rng.standard_normal((5, layer(x).shape[1]))
    layer.zero_grad()
    (layer(x) * Tensor(weights)).sum().backward()
    for name, param in layer.named_parameters():
        numeric = np.zeros_like(param.data)
        for position in np.ndindex(param.shape):
            original = param.data[position]
            values = []
            for shift in (STEP, -STEP):
                param.data[position] = original + shift
                with engine.no_grad():
                    values.append(float(np.sum(layer(x).data * weights)))
            param.data[position] = original
            numeric[position] = (values[0] - values[1]) / (2 * STEP)
        np.testing.assert_allclose(param.grad.data, numeric, rtol=1e-6, atol=1e-7, err_msg=name)


def test_erf_matches_math_erf_to_float64_precision() -> None:
    points = np.concatenate(
        [
            np.linspace(-7.0, 7.0, 20_001),
            np.geomspace(1e-300, 30.0, 2_000),
            -np.geomspace(1e-12, 6.0, 500),
            [0.0, -0.0, 2.5, -2.5, np.nextafter(2.5, 0), 40.0, -40.0, np.inf, -np.inf],
        ]
    )
    expected = np.array([math.erf(p) for p in points])
    got = erf(points)
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)
    assert relative.max() < 1e-14
    assert np.isnan(erf(np.array([np.nan]))[0])
    assert erf(np.array([0.5], dtype=np.float32)).dtype == np.float32
