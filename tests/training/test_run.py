"""TrainingRun on the real engine: seeding, records, divergence, the time budget and every preset."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest

from nnviz_addon.engine import Tensor
from nnviz_addon.engine.nn import functional as F
from nnviz_addon.history import History, LayerSpec
from nnviz_addon.preset.config import find_presets, load_preset
from nnviz_addon.training.run import TrainingRun

LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss, "bce": F.binary_cross_entropy,
          "bce_with_logits": F.binary_cross_entropy_with_logits, "cross_entropy": F.cross_entropy}


def preset(name: str = "xor", **sections):
    loaded = load_preset(find_presets()[name])
    return loaded.replace(**sections) if sections else loaded


def full_loss(run: TrainingRun) -> float:
    """The loss over the whole data set with the model as it is now."""
    outputs = run.evaluate(run.dataset.x)
    return float(LOSSES[run.preset.train.loss](Tensor(outputs), Tensor(run.dataset.y)).item())


def assert_same_history(a: History, b: History) -> None:
    np.testing.assert_array_equal(a.steps, b.steps)
    np.testing.assert_array_equal(a.loss, b.loss)
    for group in ("params", "grads", "metrics", "series"):
        left, right = getattr(a, group), getattr(b, group)
        assert left.keys() == right.keys()
        for key in left:
            np.testing.assert_array_equal(left[key], right[key], err_msg=f"{group}[{key}]")


def test_same_seed_same_weights_and_same_history():
    short = preset(train={"steps": 30, "record_every": 3})
    first, second = TrainingRun(short), TrainingRun(short)
    for key, value in first.model.parameter_arrays().items():
        np.testing.assert_array_equal(value, second.model.parameter_arrays()[key])
    assert_same_history(first.run(), second.run())
    other = TrainingRun(short.replace(train={"seed": 1}))
    assert not np.array_equal(other.model.parameter_arrays()["0.weight"],
                              first.history().params["0.weight"][0])


def test_record_steps_follow_record_every_and_include_the_last():
    run = TrainingRun(preset(train={"steps": 23, "record_every": 5}))
    assert run.history().steps.tolist() == [0]
    assert run.message.startswith("step 0/23: loss nan, accuracy ")
    history = run.run()
    assert history.steps.tolist() == [0, 5, 10, 15, 20, 23]
    assert run.finished and not run.diverged and run.step == run.total_steps == 23
    assert run.message.startswith("finished 23 steps: loss ")
    with pytest.raises(RuntimeError, match="is finished"):
        run.train_step()
    assert run.tick() == 0


def test_record_now_keeps_a_run_stopped_between_records_and_recording_goes_on():
    run = TrainingRun(preset(train={"steps": 20, "record_every": 5}))
    for _ in range(7):
        run.train_step()
    run.record_now()
    run.record_now()  # already recorded: nothing more
    history = run.history()
    assert history.steps.tolist() == [0, 5, 7]
    for key, value in run.model.parameter_arrays().items():
        np.testing.assert_array_equal(history.params[key][-1], value)
    assert run.run().steps.tolist() == [0, 5, 7, 10, 15, 20]


def test_initial_record_holds_initial_weights_no_loss_and_zero_gradients():
    run = TrainingRun(preset(train={"steps": 5}))
    initial = {key: value.copy() for key, value in run.model.parameter_arrays().items()}
    history = run.run()
    assert math.isnan(history.loss[0]) and np.all(np.isfinite(history.loss[1:]))
    for key, value in initial.items():
        np.testing.assert_array_equal(history.params[key][0], value)
        assert not history.grads[key][0].any()
    assert 0.0 <= history.metrics["accuracy"][0] <= 1.0


def test_history_matches_a_second_run_stepped_by_hand():
    config = preset(train={"steps": 12, "record_every": 4})
    history = TrainingRun(config).run()
    manual = TrainingRun(config)
    snapshots = {}
    for _ in range(12):
        loss = manual.train_step()
        snapshots[manual.step] = (loss, {k: v.copy() for k, v in manual.model.parameter_arrays().items()},
                                  {k: g.copy() for k, g in manual.model.gradient_arrays().items()})
    for record, step in enumerate(history.steps[1:], start=1):
        loss, params, grads = snapshots[int(step)]
        assert history.loss[record] == pytest.approx(loss, rel=1e-12)
        for key in params:
            where = f"{key} at step {step}"
            np.testing.assert_array_equal(history.params[key][record], params[key], err_msg=where)
            np.testing.assert_array_equal(history.grads[key][record], grads[key], err_msg=f"grad of {where}")
    # The last record is the model as it ends.
    for key, value in manual.model.parameter_arrays().items():
        np.testing.assert_array_equal(history.params[key][-1], value)


def test_a_cosine_schedule_lowers_the_lr_as_torchs_cosine_annealing_does():
    steps, lr = 10, 0.5
    run = TrainingRun(preset(train={"steps": steps, "lr": lr, "lr_schedule": "cosine"}))
    rates = []
    for _ in range(steps):
        rates.append(run.optimizer.param_groups[0]["lr"])
        run.train_step()
    # CosineAnnealingLR(T_max=steps, eta_min=0): lr·(1 + cos(π·t/steps))/2 at step t
    np.testing.assert_allclose(rates, [lr * (1 + math.cos(math.pi * t / steps)) / 2 for t in range(steps)])
    assert run.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-15)
    constant = TrainingRun(preset(train={"steps": 3, "lr": lr}))
    constant.run()
    assert constant.scheduler is None and constant.optimizer.param_groups[0]["lr"] == lr


def test_structure_config_and_accuracy_are_recorded():
    run = TrainingRun(preset(train={"steps": 8, "record_every": 4}))
    assert run.structure == [
        LayerSpec("0", "Linear", 2, 4, "0.weight", "0.bias", "tanh"),
        LayerSpec("2", "Linear", 4, 1, "2.weight", "2.bias", "sigmoid"),
    ]
    history = run.run()
    assert history.structure == run.structure and history.name == "XOR"
    assert history.config == run.preset.to_dict()
    outputs = run.evaluate(run.dataset.x)
    expected = np.mean((outputs[:, 0] > 0.5) == run.dataset.labels)
    assert history.metrics["accuracy"][-1] == pytest.approx(expected) == run.last_accuracy
    assert run.model.training


def test_norm_and_dropout_layers_are_built_and_described():
    config = preset("moons", model={"layers": [2, 6, 5, 2], "norm": "layernorm", "dropout": 0.2},
                    train={"steps": 6, "record_every": 3})
    run = TrainingRun(config)
    kinds = [(spec.name, spec.kind, spec.in_features, spec.out_features, spec.activation)
             for spec in run.structure]
    # Linear, LayerNorm, Tanh, Dropout, Linear, LayerNorm, Tanh, Dropout, Linear.
    assert kinds == [("0", "Linear", 2, 6, "tanh"), ("1", "LayerNorm", 6, 6, None),
                     ("4", "Linear", 6, 5, "tanh"), ("5", "LayerNorm", 5, 5, None),
                     ("8", "Linear", 5, 2, None)]
    keys = set(run.model.parameter_arrays())
    assert {key for spec in run.structure for key in (spec.weight, spec.bias)} == keys
    history = run.run()
    assert np.all(np.isfinite(history.loss[1:]))
    # Dropout is seeded too: the same preset gives the same run.
    assert_same_history(history, TrainingRun(config).run())
    batchnorm = TrainingRun(config.replace(model={"norm": "batchnorm"}))
    assert [spec.kind for spec in batchnorm.structure][1] == "BatchNorm1d"
    assert np.all(np.isfinite(batchnorm.run().loss[1:]))


def test_probes_add_series_at_every_record():
    grid = np.array([[0.5, 0.5], [-0.5, 0.5]], dtype=np.float32)
    calls = []

    def predictions(run: TrainingRun) -> dict[str, np.ndarray]:
        calls.append(run.step)
        if "probe_x" not in run.writer.static:
            run.writer.static["probe_x"] = grid
        return {"probe_y": run.evaluate(grid)}

    run = TrainingRun(preset(train={"steps": 6, "record_every": 3}), probes=[predictions])
    history = run.run()
    assert calls == [0, 3, 6]
    assert history.series["probe_y"].shape == (3, 2, 1)
    np.testing.assert_array_equal(history.series["probe_y"][-1], run.evaluate(grid))
    np.testing.assert_array_equal(history.static["probe_x"], grid)


def test_progress_is_called_after_each_record():
    seen = []
    run = TrainingRun(preset(train={"steps": 10, "record_every": 5}))
    run.run(progress=lambda run: seen.append(run.step))
    assert seen == [5, 10]


def test_divergence_stops_at_once_and_keeps_the_good_records():
    config = preset("rgb_perceptron", model={"output_activation": None},
                    train={"lr": 1e4, "steps": 200, "record_every": 2})
    run = TrainingRun(config)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # the run must silence its own
        history = run.run()
    assert run.diverged and run.finished
    match = re.fullmatch(r"diverged at step (\d+): loss is (nan|inf); kept (\d+) records? up to step (\d+)",
                         run.message)
    assert match, run.message
    bad_step, kept, last = int(match[1]), int(match[3]), int(match[4])
    assert bad_step < 200 and run.step == bad_step - 1
    assert history.records == kept and history.steps[-1] == last < bad_step
    assert np.all(np.isfinite(history.loss[1:]))
    with pytest.raises(RuntimeError, match="diverged"):
        run.train_step()


def test_an_update_that_overflows_is_not_recorded():
    config = preset("rgb_perceptron", model={"output_activation": None},
                    train={"lr": 1e30, "record_every": 1})
    run = TrainingRun(config)
    # Huge outputs give a finite float32 loss (~1e36) whose update overflows the parameters.
    run.model.parameter_arrays()["0.bias"][:] = 1e18
    history = run.run()
    assert run.diverged and math.isfinite(run.last_loss)
    assert run.message == ("diverged at step 1: the update made a parameter inf or nan; "
                           "kept 1 record up to step 0")
    assert all(np.isfinite(values).all() for values in history.params.values())


class TimedRun(TrainingRun):
    """A run that remembers how long its last step took, to check tick's promise on a busy machine."""

    last_step_time = 0.0

    def train_step(self) -> float:
        start = time.perf_counter()
        try:
            return super().train_step()
        finally:
            self.last_step_time = time.perf_counter() - start


def test_tick_overshoots_its_budget_by_at_most_the_last_step():
    run = TimedRun(preset("digits", train={"steps": 2000}))
    assert run.tick(0.0) == 0
    for budget in (0.001, 0.02, 0.05):
        start = time.perf_counter()
        done = run.tick(budget)
        elapsed = time.perf_counter() - start
        assert done >= 1
        # The last step began within the budget; 2 ms for the loop itself.
        assert elapsed <= budget + run.last_step_time + 0.002, (budget, elapsed, run.last_step_time)
    steps_before = run.step
    assert run.tick(0.05) > 1 and run.step > steps_before + 1


@pytest.mark.parametrize("name", sorted(find_presets()))
def test_every_shipped_preset_trains_a_few_steps(name):
    config = preset(name)
    steps = min(config.train.steps, 3 * config.train.record_every + 1)
    history = TrainingRun(config.replace(train={"steps": steps})).run()
    assert history.steps[-1] == steps and np.all(np.isfinite(history.loss[1:]))


@pytest.mark.parametrize("name", ["xor", "circle", "gauss", "moons", "spiral", "digits"])
def test_classification_presets_learn(name):
    run = TrainingRun(preset(name))
    initial = full_loss(run)
    history = run.run()
    assert not run.diverged
    assert full_loss(run) < 0.3 * initial
    assert history.metrics["accuracy"][-1] >= 0.9, run.message


@pytest.mark.parametrize("name", ["rgb_perceptron", "rgb_mlp"])
def test_rgb_presets_learn(name):
    run = TrainingRun(preset(name))
    initial = full_loss(run)
    run.run()
    assert full_loss(run) < 0.1 * initial
    assert "accuracy" not in run.history().metrics and run.last_accuracy is None


def test_the_digits_task_records_its_input_shape_and_point_tasks_none():
    digits = TrainingRun(load_preset(find_presets()["digits"]).replace(train={"steps": 1}))
    assert digits.history().input_shape == (8, 8)
    xor = TrainingRun(load_preset(find_presets()["xor"]).replace(train={"steps": 1}))
    assert xor.history().input_shape is None
