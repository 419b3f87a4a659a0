"""Real torch models written the usual ways, each with a probe sample and a batch to train on:
what the whole-model tests record. Import inside tests that have checked torch is there."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SubclassMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class ResidualMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(6, 8)
        self.block = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.inp(x))
        x = x + self.block(x)
        return self.out(x)


class PooledCNN(nn.Module):
    """One ``self.pool`` called after each convolution."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(6 * 2 * 2, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))


class BagOfEmbeddings(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(12, 5)
        self.fc = nn.Linear(5, 3)

    def forward(self, tokens):
        return self.fc(self.emb(tokens).mean(1))


class TinyTransformer(nn.Module):
    """Embedding, a learned positional Parameter, a TransformerEncoder and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(12, 8)
        self.pos = nn.Parameter(torch.randn(5, 8) * 0.1)
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(8, 3)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens) + self.pos).mean(1))


class Recurrent(nn.Module):
    def __init__(self, cell: type[nn.Module]) -> None:
        super().__init__()
        self.rnn = cell(4, 5, num_layers=2, batch_first=True, bidirectional=cell is nn.GRU)
        self.head = nn.Linear(5 * (2 if cell is nn.GRU else 1), 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class Conv1dNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)
        self.norm = nn.GroupNorm(1, 3)
        self.fc = nn.Linear(3 * 6, 3)

    def forward(self, x):
        return self.fc(F.gelu(self.norm(self.conv(x))).flatten(1))


class ScaledWithToken(nn.Module):
    """Free parameters: a scale, a class token, and a LayerNorm over two dimensions."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.5))
        self.cls = nn.Parameter(torch.zeros(1, 4))
        self.norm = nn.LayerNorm((3, 4))
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = torch.cat([self.cls.expand(x.shape[0], 1, 4), x], dim=1)
        return self.fc(self.norm(x * self.scale).mean(1))


def zoo() -> dict[str, tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """name → (model, a batch of 8 inputs, their class targets); each model ends in 3 class scores."""
    torch.manual_seed(0)
    tokens = torch.randint(0, 12, (8, 5))
    targets = torch.randint(0, 3, (8,))
    return {
        "sequential": (nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)), torch.randn(8, 6), targets),
        "subclass_relu": (SubclassMLP(), torch.randn(8, 6), targets),
        "residual_mlp": (ResidualMLP(), torch.randn(8, 6), targets),
        "cnn_reused_pool": (PooledCNN(), torch.randn(8, 1, 8, 8), targets),
        "bag_of_embeddings": (BagOfEmbeddings(), tokens, targets),
        "transformer": (TinyTransformer(), tokens, targets),
        "lstm": (Recurrent(nn.LSTM), torch.randn(8, 5, 4), targets),
        "gru": (Recurrent(nn.GRU), torch.randn(8, 5, 4), targets),
        "conv1d": (Conv1dNet(), torch.randn(8, 2, 8), targets),
        "free_parameters": (ScaledWithToken(), torch.randn(8, 2, 4), targets),
    }


def train_recorded(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 3, probe_slice: bool = False):
    """Train ``model`` a few Adam steps, recording each with a probe of ``x``'s first sample;
    returns the Recorder and torch's own named_parameters at every record."""
    from nnviz_addon.training.record import Recorder

    rec = Recorder(model, name=type(model).__name__, probe=x[:1] if probe_slice else x[0])
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    expected = []
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        rec.snapshot(step, loss=loss.item())
        expected.append({k: p.detach().clone().numpy() for k, p in model.named_parameters(remove_duplicate=False)})
    return rec, expected
