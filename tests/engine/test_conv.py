"""Convolution, pooling, BatchNorm2d, Flatten/Unflatten against real PyTorch (float64, weights copied
via state_dict), by central finite differences, and a small CNN's 100-step trajectories."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor, nn, optim
from nnviz_addon.engine.nn import functional as F

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-9, 1e-11


def _check(ours, theirs, arrays: list[np.ndarray], rng: np.random.Generator) -> None:
    """Same output and same gradient for every input, for one random upstream gradient."""
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    twins = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_e, out_t = ours(*leaves), theirs(*twins)
    assert out_e.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out_e.data, out_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = rng.standard_normal(tuple(out_t.shape))
    out_e.backward(upstream)
    out_t.backward(torch.tensor(upstream))
    for index, (leaf, twin) in enumerate(zip(leaves, twins, strict=True)):
        np.testing.assert_allclose(leaf.grad.data, twin.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=f"input {index}")


CONV_CASES = {
    "plain 3x3": dict(shape=(2, 3, 7, 9), out=4, kernel=3),
    "stride 2 pad 1": dict(shape=(2, 2, 9, 7), out=3, kernel=3, stride=2, padding=1),
    "stride 3 odd": dict(shape=(1, 2, 11, 10), out=2, kernel=(3, 2), stride=3),
    "stride (1, 2) pad (2, 0)": dict(shape=(2, 1, 6, 9), out=3, kernel=(2, 3), stride=(1, 2), padding=(2, 0)),
    "dilation 2": dict(shape=(2, 2, 9, 9), out=3, kernel=3, dilation=2, padding=1),
    "dilation (2, 3) stride 2": dict(shape=(1, 3, 11, 13), out=2, kernel=(2, 3), dilation=(2, 3), stride=2),
    "same odd": dict(shape=(2, 2, 5, 6), out=3, kernel=3, padding="same"),
    "same even kernel dilated": dict(shape=(2, 2, 7, 6), out=2, kernel=(4, 2), padding="same", dilation=(1, 2)),
    "valid 1x1": dict(shape=(3, 4, 3, 5), out=2, kernel=1, padding="valid"),
    "kernel = input": dict(shape=(2, 2, 3, 3), out=5, kernel=3),
    # 9 × 34 × 34 = 10,404 output positions over 2 × 2 taps: the products run in column blocks
    # (spatial._times_wide), the last block a partial one
    "wide, in blocks": dict(shape=(9, 1, 35, 35), out=3, kernel=2),
}


@pytest.mark.parametrize("case", list(CONV_CASES))
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(case: str, bias: bool, rng: np.random.Generator) -> None:
    options = dict(CONV_CASES[case])
    shape, out, kernel = options.pop("shape"), options.pop("out"), options.pop("kernel")
    ours = nn.Conv2d(shape[1], out, kernel, bias=bias, dtype=np.float64, **options)
    theirs = torch.nn.Conv2d(shape[1], out, kernel, bias=bias, dtype=torch.float64, **options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal(shape)
    _check(ours, theirs, [x], rng)
    params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.data, params[name].grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)


def test_functional_conv2d_and_unbatched_input_match_torch(rng: np.random.Generator) -> None:
    x, w, b = rng.standard_normal((3, 6, 5)), rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(4)
    _check(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
           lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=2, padding=1), [x, w, b], rng)


def test_conv2d_init_state_dict_and_repr_follow_torch() -> None:
    ours = nn.Conv2d(3, 8, (3, 5), generator=np.random.default_rng(0))
    theirs = torch.nn.Conv2d(3, 8, (3, 5))
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    bound = 1 / math.sqrt(3 * 3 * 5)  # kaiming_uniform(a=√5) over fan_in = 45, and the bias alike
    for param in (ours.weight.data, ours.bias.data):
        assert param.dtype == np.float32 and np.abs(param).max() <= bound and np.abs(param).max() > 0.8 * bound
    assert repr(ours) == repr(theirs)
    assert repr(nn.Conv2d(2, 2, 3, padding="same", bias=False)) == repr(torch.nn.Conv2d(2, 2, 3, padding="same",
                                                                                        bias=False))


MAX_POOL_CASES = {
    "2x2": dict(shape=(2, 3, 8, 8), kernel_size=2),
    "3x3 stride 2 odd": dict(shape=(2, 2, 9, 7), kernel_size=3, stride=2),
    "stride 1 overlapping": dict(shape=(1, 2, 5, 6), kernel_size=(2, 3), stride=1),
    "padding 1": dict(shape=(2, 1, 7, 7), kernel_size=3, stride=2, padding=1),
    "dilation 2 stride 3": dict(shape=(1, 2, 11, 10), kernel_size=2, stride=3, dilation=2),
}


@pytest.mark.parametrize("case", list(MAX_POOL_CASES))
def test_max_pool2d_matches_torch(case: str, rng: np.random.Generator) -> None:
    options = dict(MAX_POOL_CASES[case])
    x = rng.standard_normal(options.pop("shape"))
    _check(nn.MaxPool2d(**options), torch.nn.MaxPool2d(**options), [x], rng)


@pytest.mark.parametrize("stride", [1, 2])
def test_max_pool2d_ties_go_to_the_first_maximum_as_in_torch(stride: int, rng: np.random.Generator) -> None:
    # small integers: every window has ties, overlapping windows share them
    x = rng.integers(0, 3, (2, 2, 6, 7)).astype(np.float64)
    x[0, 0] = 1.0  # a whole plane of equal values
    _check(nn.MaxPool2d(3, stride=stride), torch.nn.MaxPool2d(3, stride=stride), [x], rng)


AVG_POOL_CASES = {
    "2x2": dict(shape=(2, 3, 8, 8), kernel_size=2),
    "3x3 stride 2 odd": dict(shape=(2, 2, 9, 7), kernel_size=3, stride=2),
    "padding counted": dict(shape=(2, 1, 7, 6), kernel_size=3, stride=2, padding=1),
    "padding not counted": dict(shape=(2, 1, 7, 6), kernel_size=(3, 2), stride=(2, 3), padding=1,
                                count_include_pad=False),
    "divisor override": dict(shape=(1, 2, 5, 5), kernel_size=2, stride=1, divisor_override=3),
}


@pytest.mark.parametrize("case", list(AVG_POOL_CASES))
def test_avg_pool2d_matches_torch(case: str, rng: np.random.Generator) -> None:
    options = dict(AVG_POOL_CASES[case])
    x = rng.standard_normal(options.pop("shape"))
    _check(nn.AvgPool2d(**options), torch.nn.AvgPool2d(**options), [x], rng)


@pytest.mark.parametrize("size", [1, 3, (2, 5), (None, 2), (7, 4)])
def test_adaptive_avg_pool2d_matches_torch(size, rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 7, 9))
    _check(nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size), [x], rng)


def test_functional_pools_match_torch(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 7, 8))  # unbatched
    tf = torch.nn.functional
    _check(lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: tf.max_pool2d(x, 3, 2, 1), [x], rng)
    _check(lambda x: F.avg_pool2d(x, 2), lambda x: tf.avg_pool2d(x, 2), [x], rng)
    _check(lambda x: F.adaptive_avg_pool2d(x, 3), lambda x: tf.adaptive_avg_pool2d(x, 3), [x], rng)


def test_batchnorm2d_train_and_eval_match_torch(rng: np.random.Generator) -> None:
    ours, theirs = nn.BatchNorm2d(3, dtype=np.float64), torch.nn.BatchNorm2d(3, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal(3)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(3)))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    for _ in range(3):
        _check(ours, theirs, [2 + 3 * rng.standard_normal((4, 3, 5, 3))], rng)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key in theirs_state:
        np.testing.assert_allclose(ours_state[key].data, theirs_state[key].numpy(), rtol=RTOL, err_msg=key)
    ours.eval()
    theirs.eval()
    _check(ours, theirs, [rng.standard_normal((2, 3, 4, 4))], rng)


def test_flatten_and_unflatten_across_image_layers_match_torch(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 48))
    ours = nn.Sequential(nn.Unflatten(1, (3, -1, 4)), nn.Flatten(2), nn.Flatten())
    theirs = torch.nn.Sequential(torch.nn.Unflatten(1, (3, -1, 4)), torch.nn.Flatten(2), torch.nn.Flatten())
    _check(ours, theirs, [x], rng)
    assert nn.Unflatten(1, (3, -1, 4))(Tensor(x)).shape == (2, 3, 4, 4)


SHAPE_ERRORS = [
    (lambda: nn.Conv2d(3, 4, 3)(Tensor(np.zeros((2, 1, 8, 8)))),
     r"Conv2d\(3, 4, kernel_size=\(3, 3\).*\(N, 3, H, W\).*\(2, 1, 8, 8\)"),
    (lambda: nn.Conv2d(1, 4, 5)(Tensor(np.zeros((2, 1, 3, 3)))), r"Conv2d\(1, 4.*3×3 pixels.*5×5"),
    (lambda: nn.MaxPool2d(2)(Tensor(np.zeros((2, 8)))), r"MaxPool2d.*3D \(C, H, W\) or 4D.*\(2, 8\)"),
    (lambda: nn.MaxPool2d(2, padding=2), None),
    (lambda: nn.BatchNorm2d(4)(Tensor(np.zeros((2, 3, 2, 2)))), r"BatchNorm2d\(4\).*\(N, 4, H, W\).*\(2, 3, 2, 2\)"),
    (lambda: nn.Unflatten(1, (3, 5))(Tensor(np.zeros((2, 16)))), r"16 elements.*\(3, 5\)"),
    (lambda: nn.Conv2d(1, 1, 3, stride=2, padding="same"), r"'same'.*strided"),
    (lambda: F.conv2d(Tensor(np.zeros((1, 2, 4, 4))), Tensor(np.zeros((3, 1, 2, 2)))),
     r"input of shape \(1, 2, 4, 4\) does not fit weight of shape \(3, 1, 2, 2\)"),
]


@pytest.mark.parametrize("index", range(len(SHAPE_ERRORS)))
def test_shape_errors_name_the_layer_and_both_shapes(index: int) -> None:
    make, pattern = SHAPE_ERRORS[index]
    if pattern is None:  # torch refuses pooling padding over half the kernel when called
        with pytest.raises(ValueError, match="half the kernel"):
            make()(Tensor(np.zeros((1, 1, 6, 6))))
        return
    with pytest.raises(ValueError, match=pattern):
        make()


# ---------------------------------------------------------------------------------------------
# A small CNN trained side by side


def _cnn_pair(dtype):
    # no bias before the BatchNorm: its gradient is 0 up to rounding, which Adam would amplify
    def ours() -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, bias=False, dtype=dtype), nn.BatchNorm2d(6, dtype=dtype), nn.Tanh(),
            nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(6, 3, dtype=dtype))

    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)  # the same start every run: float32 rounding may tip a ReLU or a max differently
    tnn = torch.nn
    theirs = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(4, 6, 3, bias=False), tnn.BatchNorm2d(6), tnn.Tanh(),
        tnn.AvgPool2d(2, stride=1), tnn.Flatten(), tnn.Linear(6, 3)).to(torch_dtype)
    model = ours()
    model.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return model, theirs


OPTIMIZERS = {
    "sgd momentum": (lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "adam": (lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
}


def _train_side_by_side(name: str, dtype, steps: int, rng: np.random.Generator):
    """The engine's CNN and torch's after ``steps`` steps, and both losses at every step."""
    model, twin = _cnn_pair(dtype)
    make_ours, make_theirs = OPTIMIZERS[name]
    opt, opt_t = make_ours(list(model.parameters())), make_theirs(twin.parameters())
    x_all = rng.standard_normal((steps, 8, 1, 8, 8)).astype(dtype)
    y_all = rng.integers(0, 3, (steps, 8))
    losses = []
    for step in range(steps):
        x, y = x_all[step], y_all[step]
        opt.zero_grad()
        loss = F.cross_entropy(model(Tensor(x)), Tensor(y))
        loss.backward()
        opt.step()
        opt_t.zero_grad()
        loss_t = torch.nn.functional.cross_entropy(twin(torch.tensor(x)), torch.tensor(y))
        loss_t.backward()
        opt_t.step()
        losses.append((loss.item(), loss_t.item()))
    return model, twin, losses


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_cnn_float64_trajectory_matches_torch_for_100_steps(name: str, rng: np.random.Generator) -> None:
    model, twin, losses = _train_side_by_side(name, np.float64, 100, rng)
    for step, (loss, loss_t) in enumerate(losses):
        assert loss == pytest.approx(loss_t, rel=1e-9, abs=1e-12), step
    theirs = twin.state_dict()
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value.data, theirs[key].numpy(), rtol=1e-8, atol=1e-10, err_msg=key)


def test_cnn_float32_run_stays_float32_and_tracks_torch(rng: np.random.Generator) -> None:
    model, twin, losses = _train_side_by_side("sgd momentum", np.float32, 30, rng)
    for step, (loss, loss_t) in enumerate(losses):
        assert loss == pytest.approx(loss_t, rel=1e-3, abs=1e-4), step
    for key, value in model.state_dict().items():
        if value.data.dtype.kind == "f":
            assert value.data.dtype == np.float32, key
    for p in model.parameters():
        assert p.grad.data.dtype == np.float32
    theirs = twin.state_dict()
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value.data, theirs[key].numpy(), rtol=1e-3, atol=1e-4, err_msg=key)


def test_engine_seed_gives_the_same_cnn_twice() -> None:
    engine.manual_seed(3)
    first = nn.Conv2d(2, 3, 3).weight.data.copy()
    engine.manual_seed(3)
    np.testing.assert_array_equal(nn.Conv2d(2, 3, 3).weight.data, first)
