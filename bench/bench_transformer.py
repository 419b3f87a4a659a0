"""Time one training step of a tiny GPT in the nnviz engine against PyTorch on the CPU.

The same protocol as ``bench_engine.py`` (whose runner and environment report this reuses): the
same weights through state_dict, the same synthetic batches, alternating blocks in one process,
median per-step time after a warm-up.

    python bench/bench_transformer.py [--quick] [--torch-threads N] [--engine-threads N] [--json PATH]

The net: token embedding (vocab 16) + a learned positional Parameter + TransformerEncoder of 2
layers (d_model 32, 4 heads, feed-forward 128, ReLU, post-norm, batch_first, dropout 0) with a
causal mask + a linear head; cross-entropy over every position; batch 32 of 16 tokens; AdamW;
float32. Dropout is 0 so both sides train the same function (the final weight difference is then
a check that they did the same work). Target: the engine ≥ 1.5× torch's speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_engine import Runner, environment

from nnviz_addon import engine

VOCAB, D_MODEL, LAYERS, HEADS, FEED_FORWARD, SEQ, BATCH = 16, 32, 2, 4, 128, 16, 32
BATCHES = 8
TARGET = 1.5


def tiny_gpt(lib: Any, vocab: int = VOCAB, d_model: int = D_MODEL, layers: int = LAYERS, heads: int = HEADS,
             feed_forward: int = FEED_FORWARD, seq: int = SEQ) -> Any:
    """The same model for ``lib`` = engine or torch (their nn APIs agree): token embedding +
    learned positions (zeros) + causal TransformerEncoder + linear head. The parity tests train
    a smaller one of these side by side with torch."""

    class TinyGPT(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = lib.nn.Embedding(vocab, d_model)
            self.position = lib.nn.Parameter(lib.tensor(np.zeros((seq, d_model), np.float32)))
            layer = lib.nn.TransformerEncoderLayer(d_model, heads, feed_forward, dropout=0.0, batch_first=True)
            self.encoder = lib.nn.TransformerEncoder(layer, layers)
            self.head = lib.nn.Linear(d_model, vocab)
            self.causal = lib.tensor(np.triu(np.ones((seq, seq), bool), 1))  # True = masked (MHA's rule)

        def forward(self, tokens: Any) -> Any:
            x = self.embed(tokens) + self.position
            return self.head(self.encoder(x, mask=self.causal, is_causal=True))

    return TinyGPT()


def next_token_loss(F: Any) -> Any:
    """Cross-entropy of every position's logits against the next token."""
    return lambda logits, targets: F.cross_entropy(logits.reshape(-1, VOCAB), targets)


def bench(rounds: int, block: int, warmup: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(BATCHES):
        tokens = rng.integers(0, VOCAB, (BATCH, SEQ + 1))
        batches.append((tokens[:, :-1].copy(), tokens[:, 1:].reshape(-1).copy()))
    torch.manual_seed(seed)
    t_model = tiny_gpt(torch)
    with torch.no_grad():
        t_model.position.normal_(0, 0.02)
    e_model = tiny_gpt(engine)
    e_model.load_state_dict({k: v.detach().numpy().copy() for k, v in t_model.state_dict().items()})
    runners = {
        "engine": Runner(e_model, engine.optim.AdamW(e_model.parameters(), lr=1e-3),
                         next_token_loss(engine.nn.functional),
                         [(engine.Tensor(x), engine.Tensor(y)) for x, y in batches]),
        "torch": Runner(t_model, torch.optim.AdamW(t_model.parameters(), lr=1e-3),
                        next_token_loss(torch.nn.functional),
                        [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]),
    }
    for runner in runners.values():
        runner.block(warmup)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for r in range(rounds):
        for name in ("engine", "torch") if r % 2 == 0 else ("torch", "engine"):
            times[name].extend(runners[name].block(block))
    engine_ms = statistics.median(times["engine"]) * 1e3
    torch_ms = statistics.median(times["torch"]) * 1e3
    t_state = t_model.state_dict()
    drift = max(float(np.max(np.abs(array - t_state[name].detach().numpy())))
                for name, array in e_model.parameter_arrays().items())
    return {"engine_ms": engine_ms, "torch_ms": torch_ms, "speedup": torch_ms / engine_ms,
            "steps_timed": len(times["engine"]), "warmup": warmup, "max_weight_diff": drift,
            "torch_threads": torch.get_num_threads(), "engine_threads": engine.get_num_threads()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds)")
    parser.add_argument("--torch-threads", type=int, metavar="N",
                        help="torch.set_num_threads(N) first (default: torch's own choice, as bench_engine)")
    parser.add_argument("--engine-threads", type=int, default=1, metavar="N",
                        help="engine.set_num_threads(N) first (default 1: OpenBLAS splitting this model's small "
                             "products over two threads makes them slower)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    engine.set_num_threads(args.engine_threads)
    rounds, block, warmup = (6, 20, 20) if args.quick else (20, 25, 50)
    env = environment()
    print(f"numpy {env['numpy']} ({env['numpy_blas']}) with {engine.get_num_threads()} BLAS threads, "
          f"torch {env['torch']} with {torch.get_num_threads()} threads; "
          f"CPU: {env['cpu']} × {env['cpu_count']}")
    result = bench(rounds, block, warmup, args.seed)
    verdict = "met" if result["speedup"] >= TARGET else "MISSED"
    print("| net | engine ms/step | torch ms/step | torch/engine | target |")
    print("|---|---:|---:|---:|---|")
    print(f"| tiny GPT (vocab {VOCAB}, d {D_MODEL}, {LAYERS} layers, {HEADS} heads, seq {SEQ}, batch {BATCH}) | "
          f"{result['engine_ms']:.3f} | {result['torch_ms']:.3f} | {result['speedup']:.2f}× | ≥{TARGET:g}× {verdict} |")
    print(f"\nmedian of {result['steps_timed']} timed steps per side after {warmup} warm-up steps; "
          f"max |engine − torch| weight difference at the end: {result['max_weight_diff']:.1e}")
    if args.json:
        args.json.write_text(json.dumps({"environment": env, "result": result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
