"""A small CNN trained by a plain torch loop and recorded, for the tests of recorded runs (needs torch)."""

from __future__ import annotations

from nnviz_addon.record import Recorder


def train_recorded_cnn(steps: int, every: int, probe: bool = True):
    """A small CNN on random 1×8×8 images, trained by a plain torch loop and recorded."""
    import torch  # only the torch tests call this; the Blender legs have no torch

    torch.manual_seed(1)
    tnn = torch.nn
    model = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(4, 6, 3, bias=False), tnn.BatchNorm2d(6), tnn.Tanh(),
                           tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(6, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 3, (16,))
    rec = Recorder(model, name="torch CNN", probe=x[0] if probe else None)
    expected = {}
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if step % every == 0:
            rec.snapshot(step, loss=loss.item())
            expected[step] = {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}
    return model, x[0], rec, expected
