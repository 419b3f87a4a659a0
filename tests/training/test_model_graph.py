"""A Recorder on real torch models written the usual ways: every parameter recorded with torch's
values at every record, the module tree in running order, skips and functional activations from
torch.fx, a module called twice kept per call, attention per head, and a probe checked at once."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.history import History, Skip
from nnviz_addon.training.model_graph import call_order, describe_model

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from torch import nn  # noqa: E402

from nnviz_addon.training.record import Recorder  # noqa: E402
from tests.support.torch_zoo import train_recorded, zoo  # noqa: E402

ZOO = sorted(zoo())


@pytest.mark.parametrize("name", ZOO)
def test_every_named_parameter_is_recorded_with_torchs_values_at_every_record(name, tmp_path):
    model, x, y = zoo()[name]
    rec, expected = train_recorded(model, x, y)
    history = History.load(rec.save(tmp_path / f"{name}.npz"))
    assert set(history.params) == {key for key, _ in model.named_parameters(remove_duplicate=False)}
    for record, values in enumerate(expected):
        for key, value in values.items():
            np.testing.assert_array_equal(history.params[key][record], value, err_msg=f"{key} @ {record}")
    assert history.graph is not None and history.graph.order == "hooks"
    assert sorted(history.graph.param_keys) == sorted(history.params)  # each owned by exactly one module
    assert rec.skipped == []


def test_a_transformer_is_listed_in_the_order_the_signal_runs_with_its_residuals():
    model, x, y = zoo()["transformer"]
    rec, _ = train_recorded(model, x, y)
    graph = rec.history().graph
    order = [m.path for m in graph.modules]
    runs = ["embed", "encoder.layers.0.self_attn", "encoder.layers.0.norm1", "encoder.layers.0.linear1",
            "encoder.layers.0.linear2", "encoder.layers.0.norm2", "encoder.layers.1.self_attn", "head"]
    assert [order.index(p) for p in runs] == sorted(order.index(p) for p in runs)
    assert order.index("encoder.layers.0") < order.index("encoder.layers.0.self_attn")  # a holder first
    assert graph.module("encoder.layers.0.self_attn").params == ("encoder.layers.0.self_attn.in_proj_weight",
                                                                 "encoder.layers.0.self_attn.in_proj_bias")
    assert graph.module("encoder.layers.0.self_attn").info == {"heads": 2}
    assert graph.module("").params == ("pos",)  # the free positional Parameter belongs to the model
    assert Skip("embed", "encoder.layers.0.self_attn") in graph.skips
    assert Skip("encoder.layers.0.norm1", "encoder.layers.0.linear2") in graph.skips


def test_attention_is_recorded_per_head_as_torch_computes_it_for_the_probe():
    model, x, y = zoo()["transformer"]
    rec, _ = train_recorded(model, x, y, steps=2)
    history = rec.history()
    attention = history.series["attention/encoder.layers.0.self_attn"]
    assert attention.shape == (2, 2, 5, 5)  # (records, heads, L, L)
    np.testing.assert_allclose(attention.sum(axis=-1), 1.0, rtol=1e-5)
    model.eval()
    with torch.no_grad():
        h = model.embed(x[:1]) + model.pos
        _, weights = model.encoder.layers[0].self_attn(h, h, h, need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(attention[-1], weights[0].numpy(), rtol=1e-5, atol=1e-6)
    assert "attention/encoder.layers.1.self_attn" in history.series


def test_a_module_called_twice_is_listed_once_and_keeps_its_maps_for_each_call():
    model, x, y = zoo()["cnn_reused_pool"]
    rec, _ = train_recorded(model, x, y, steps=2)
    history = rec.history()
    assert [m.path for m in history.graph.modules].count("pool") == 1
    assert history.graph.module("pool").calls == 2
    model.eval()
    with torch.no_grad():
        first = model.pool(torch.relu(model.conv1(x[:1])))
        second = model.pool(torch.relu(model.conv2(first)))
    np.testing.assert_allclose(history.series["feature/pool"][-1], first[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(history.series["feature/pool#2"][-1], second[0].numpy(), rtol=1e-6)
    # conv1's maps are after the F.relu written in forward: fx saw it, so the recording applies it
    assert history.graph.module("conv1").activation == "relu()"
    with torch.no_grad():
        np.testing.assert_allclose(history.series["feature/conv1"][-1], torch.relu(model.conv1(x[:1]))[0].numpy(),
                                   rtol=1e-6)
    assert ["pool#2", "MaxPool2d"] in history.static["feature_kinds"].tolist()
    assert history.graph.notes == ()


def test_a_residual_is_a_skip_and_functional_activations_are_applied():
    model, x, y = zoo()["residual_mlp"]
    rec, _ = train_recorded(model, x, y, steps=1)
    history = rec.history()
    assert history.graph.skips == (Skip("inp", "block.2"),)
    assert history.graph.module("inp").activation == "relu()"
    assert [s.activation for s in history.structure] == ["relu", "relu", None, None]
    model.eval()
    with torch.no_grad():
        np.testing.assert_allclose(history.series["activation/inp"][-1], torch.relu(model.inp(x[:1]))[0].numpy(),
                                   rtol=1e-6)


class Branchy(nn.Module):
    """Control flow on a tensor's value: torch.fx can't trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(3, 4), nn.Linear(4, 2)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        return self.fc2(h) if h.sum() > -1 else -self.fc2(h)


def test_without_fx_the_order_comes_from_hooks_and_the_frame_says_before_activation():
    model = Branchy()
    probe = torch.randn(3)
    rec = Recorder(model, probe=probe)
    rec.snapshot(0)
    history = rec.history()
    assert history.graph.order == "hooks"
    assert history.graph.skips == ()
    assert any("before any activation" in note for note in history.graph.notes)
    with torch.no_grad():
        np.testing.assert_allclose(history.series["activation/fc1"][0], model.fc1(probe).numpy(), rtol=1e-6)


def test_without_a_probe_fx_or_registration_gives_the_order():
    model, _, _ = zoo()["residual_mlp"]
    graph, _ = describe_model(model)
    assert graph.order == "fx"
    assert [m.path for m in graph.modules if m.params] == ["inp", "block.0", "block.2", "out"]
    graph, _ = describe_model(Branchy())
    assert graph.order == "registration"


def test_the_nnviz_engines_own_modules_are_described_too():
    from nnviz_addon.engine import nn as enn

    model = enn.Sequential(enn.Linear(3, 4), enn.ReLU(), enn.LayerNorm(4), enn.Linear(4, 2))
    graph, _ = describe_model(model)
    assert graph.order == "registration"
    assert graph.param_keys == [key for key, _ in model.named_parameters()]
    assert graph.module("0").activation == "ReLU"


@pytest.mark.parametrize("name", ["sequential", "cnn_reused_pool", "bag_of_embeddings", "transformer", "lstm"])
def test_a_probe_with_or_without_its_batch_dimension_records_the_same(name):
    model, x, _ = zoo()[name]
    histories = []
    for probe in (x[0], x[:1]):
        rec = Recorder(model, probe=probe)
        rec.snapshot(0)
        histories.append(rec.history())
    one, batched = histories
    assert sorted(one.series) == sorted(batched.series)
    for key in one.series:
        np.testing.assert_array_equal(one.series[key], batched.series[key])
    assert one.series["table/probabilities"].shape == (1, 1, 3)


def test_token_probes_are_kept_as_tokens_and_the_class_names_label_the_output():
    model, x, _ = zoo()["bag_of_embeddings"]
    rec = Recorder(model, probe=x[0], class_names=["a", "b", "c"], probe_label=2)
    rec.snapshot(0)
    history = rec.history()
    np.testing.assert_array_equal(history.static["probe/tokens"], x[0].numpy())
    assert "probe/input" not in history.static  # the neurons' input column is for vectors a Linear takes
    assert history.static["task/class_names"].tolist() == ["a", "b", "c"]
    assert history.static["table/labels"].tolist() == [2]
    with torch.no_grad():
        expected = torch.softmax(model(x[:1]), dim=-1)[0].numpy()
    np.testing.assert_allclose(history.series["table/probabilities"][0, 0], expected, rtol=1e-5)


@pytest.mark.parametrize(("name", "probe", "named"), [
    ("sequential", lambda x: x[0, :4], r"probe of shape \(4,\) .*expects Linear '0' takes 6 features"),
    ("sequential", lambda x: x, r"probe of shape \(8, 6\) is a batch of 8 samples .*give one sample, x\[0\]"),
    ("cnn_reused_pool", lambda x: x[0, :, :5], r"probe of shape \(1, 5, 8\) .*Conv2d 'conv1' takes 1 channels"),
    ("cnn_reused_pool", lambda x: torch.rand(3, 8, 8), r"probe of shape \(3, 8, 8\) .*takes 1 channels"),
    ("bag_of_embeddings", lambda x: x[0].float(), r"probe of shape \(5,\) \(torch.float32\) .*integer token ids"),
    ("lstm", lambda x: x[0, :, :3], r"probe of shape \(5, 3\) .*LSTM 'rnn' takes 4 features per step"),
])
def test_a_probe_that_does_not_fit_is_refused_at_once_in_one_line(name, probe, named):
    model, x, _ = zoo()[name]
    with pytest.raises(ValueError, match=named) as caught:
        Recorder(model, probe=probe(x))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("nnviz Recorder: probe of shape")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no torch traceback chained


def test_a_version_1_file_without_a_graph_still_loads(tmp_path):
    import zipfile

    model, x, y = zoo()["sequential"]
    rec, _ = train_recorded(model, x, y, steps=2)
    path = rec.save(tmp_path / "new.npz")
    old = tmp_path / "old.npz"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(old, "w") as target:
        for item in source.infolist():
            if item.filename == "graph_json.npy":
                continue
            data = source.read(item)
            if item.filename == "format_version.npy":
                import io
                buffer = io.BytesIO()
                np.save(buffer, np.asarray(1, dtype=np.int64))
                data = buffer.getvalue()
            target.writestr(item, data)
    history = History.load(old)
    assert history.graph is None
    assert [s.name for s in history.structure] == ["0", "2"]
    assert History.load(path).graph == rec.history().graph  # the graph round-trips through the file


class WithOddParameters(nn.Module):
    """A complex parameter and an empty one: nothing to colour a cube by."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.phase = nn.Parameter(torch.zeros(2, dtype=torch.complex64))
        self.nothing = nn.Parameter(torch.zeros(0))

    def forward(self, x):
        return self.fc(x)


def test_a_parameter_that_cannot_be_drawn_is_named_once_and_the_frame_says_so(tmp_path):
    with pytest.warns(UserWarning, match=r"cannot draw \(not shown\): phase \(torch.complex64, not real numbers\), "
                                         r"nothing \(empty\)$"):
        rec = Recorder(WithOddParameters())
    rec.snapshot(0)
    history = History.load(rec.save(tmp_path / "odd.npz"))
    assert sorted(history.params) == ["fc.bias", "fc.weight"]
    assert history.graph.notes == ("not drawn: phase (torch.complex64, not real numbers), nothing (empty)",)


def test_token_probes_are_listed_in_the_frame():
    model, x, _ = zoo()["transformer"]
    rec = Recorder(model, probe=x[0])
    assert rec.graph.notes == (f"probe tokens: {' '.join(str(int(t)) for t in x[0])}",)


class DecoderWithDictOutput(nn.Module):
    """A pre-norm TransformerDecoder, returning a dict as Hugging Face models do."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, batch_first=True, norm_first=True), 1)
        self.out = nn.Linear(8, 10)

    def forward(self, tokens):
        h = self.emb(tokens)
        return {"logits": self.out(self.dec(h, h).mean(1))}


class AttentionCalledPositionally(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        y, _ = self.attn(x, x, x, None, True)  # need_weights given by position
        return self.out(y.mean(1))


def test_decoder_layers_and_attention_called_by_position_are_recorded():
    rec = Recorder(DecoderWithDictOutput(), probe=torch.randint(0, 10, (4,)))
    rec.snapshot(0)
    history = rec.history()
    assert history.series["attention/dec.layers.0.multihead_attn"].shape == (1, 2, 4, 4)
    assert Skip("dec.layers.0.self_attn", "dec.layers.0.multihead_attn") in history.graph.skips  # pre-norm
    assert history.series["table/probabilities"].shape == (1, 1, 10)  # read from the dict's logits
    model = AttentionCalledPositionally()
    probe = torch.randn(5, 8)
    rec = Recorder(model, probe=probe)
    rec.snapshot(0)
    with torch.no_grad():
        _, weights = model.attn(probe[None], probe[None], probe[None], average_attn_weights=False)
    np.testing.assert_allclose(rec.history().series["attention/attn"][0], weights[0].numpy(), rtol=1e-5, atol=1e-6)


class SharedLayer(nn.Module):
    """One Linear applied twice: drawn once, its outputs for both calls kept."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(torch.tanh(self.fc(torch.tanh(self.fc(x)))))


def test_a_layer_called_twice_keeps_its_values_for_both_calls():
    model = SharedLayer()
    probe = torch.randn(4)
    rec = Recorder(model, probe=probe)
    rec.snapshot(0)
    history = rec.history()
    assert history.graph.module("fc").calls == 2
    with torch.no_grad():
        first = torch.tanh(model.fc(probe))
        second = torch.tanh(model.fc(first))
    np.testing.assert_allclose(history.series["activation/fc"][0], first.numpy(), rtol=1e-6)
    np.testing.assert_allclose(history.series["activation/fc#2"][0], second.numpy(), rtol=1e-6)
    from nnviz_addon.picture.model_layout import layout_model
    shapes = {key: values.shape[1:] for key, values in history.params.items()}
    titles = [label.text for label in layout_model(history.graph, history.structure, shapes).layer_labels.values()]
    assert "fc · Linear 4→4 · called 2×" in titles


def test_a_probe_pass_gives_every_module_its_own_mode_back():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))
    model[1].eval()  # frozen by the training loop; model.train() afterwards would unfreeze it
    seen = []
    model[2].register_forward_pre_hook(lambda module, _: seen.append(module.training))
    assert call_order(model, torch.rand(5, 3)) == ["", "0", "1", "2", "3"]
    assert seen == [False]  # the pass itself ran in eval mode
    assert [m.training for m in model] == [True, False, True, True] and model.training

