"""The one list of every name a preset may use, read by config (what a preset may say), training
(what it builds), the panel (its menus) and the Recorder (what a torch module is called).

Activations, norms and optimisers map their preset name to the class that implements it; the
engine's classes carry torch's names, so the same class name builds our module and recognises a
recorded torch one. Losses map to their ``nn.functional`` name. Tasks and colour mappings live
with their generators (:mod:`.datasets.tasks`), whose dicts are the lists.
Plain data that imports nothing: every stage of the data flow may read it.
"""

from __future__ import annotations

# preset name → module class (same name in nnviz_addon.engine.nn and torch.nn)
ACTIVATIONS: dict[str, str] = {
    "relu": "ReLU", "leaky_relu": "LeakyReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU",
    "silu": "SiLU", "identity": "Identity",
}
OUTPUT_ACTIVATIONS: dict[str, str] = {**ACTIVATIONS, "softmax": "Softmax"}
# What a recorded torch model may use beyond the presets' choices (drawn by name only).
RECORDED_ACTIVATIONS: dict[str, str] = {**OUTPUT_ACTIVATIONS, "log_softmax": "LogSoftmax"}

NORMS: dict[str, str] = {"layernorm": "LayerNorm", "batchnorm": "BatchNorm1d"}
# Module classes whose parameters the scene draws as layers: a weight matrix, a conv's kernels as
# tiles, or a norm's one row per feature (channel).
DRAWN_LAYERS: tuple[str, ...] = ("Linear", "Conv2d", *NORMS.values(), "BatchNorm2d")
# Module classes (engine and torch alike) whose output is a stack of feature maps worth recording
# (the probes) and counting (the scene-size check before training).
IMAGE_LAYERS: tuple[str, ...] = ("Conv2d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d")

# preset name → nn.functional loss
LOSSES: dict[str, str] = {
    "mse": "mse_loss", "l1": "l1_loss", "bce": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits", "cross_entropy": "cross_entropy",
}
LOGIT_LOSSES: tuple[str, ...] = ("cross_entropy", "bce_with_logits")  # they apply their own sigmoid/softmax

# preset name → optim class
OPTIMIZERS: dict[str, str] = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
MOMENTUM_OPTIMIZERS: tuple[str, ...] = ("sgd", "rmsprop")
# preset name → optim.lr_scheduler class stepped once per optimiser step over the run (None: lr stays)
LR_SCHEDULES: dict[str, str | None] = {"constant": None, "cosine": "CosineAnnealingLR"}

RENDER_ENGINES: tuple[str, ...] = ("workbench", "eevee", "cycles")
# How carefully a frame is rendered → (panel label, description)
RENDER_QUALITIES: dict[str, tuple[str, str]] = {
    "final": ("Final", "Full anti-aliasing (8 Workbench samples) and the render samples set below"),
    "draft": ("Draft", "A quick look: Workbench FXAA instead of 8 samples, 4 EEVEE/Cycles samples"),
}
# How the colour map's end is chosen (picture/cubes.py): "auto" gives each layer its own scale when
# one layer would use only a small part of one shared scale, else shares it; "global": one scale, the
# run's largest |value|; "layer": each layer its own robust scale (a high percentile of its |values|).
COLOR_SCALES: tuple[str, ...] = ("auto", "global", "layer")
# What a cube's colour shows → (panel label, description)
COLOR_VALUES: dict[str, tuple[str, str]] = {
    "value": ("Value w", "A cube's colour is its weight's value"),
    "change": ("Change w − w₀", "A cube's colour is how far its weight moved since the first record"),
}
STYLES: tuple[str, ...] = ("diagram", "film")  # the flat face-on picture, or lit 3D blocks under a moving camera
CAMERA_PATHS: tuple[str, ...] = ("fly-through", "orbit", "static")  # the film's camera; see picture/film.py
MOTIONS: tuple[str, ...] = ("linear", "smooth")  # how keyed values move between two records
FORWARD_PASSES: tuple[str, ...] = ("none", "intro", "every")  # film: the probe's signal through the layers
# What a cube's size shows → (panel label, description)
MAGNITUDES: dict[str, tuple[str, str]] = {
    "none": ("Uniform", "Every cube full size"),
    "gradient": ("Gradient |∂L/∂w|", "A cube grows with its weight's gradient at each recorded step"),
    "update": ("Update |Δw|", "A cube grows with how much its weight changed since the last record"),
}

__all__ = [
    "ACTIVATIONS",
    "CAMERA_PATHS",
    "COLOR_SCALES",
    "COLOR_VALUES",
    "DRAWN_LAYERS",
    "FORWARD_PASSES",
    "IMAGE_LAYERS",
    "LOGIT_LOSSES",
    "LOSSES",
    "LR_SCHEDULES",
    "MAGNITUDES",
    "MOMENTUM_OPTIMIZERS",
    "MOTIONS",
    "NORMS",
    "OPTIMIZERS",
    "OUTPUT_ACTIVATIONS",
    "RECORDED_ACTIVATIONS",
    "RENDER_ENGINES",
    "RENDER_QUALITIES",
    "STYLES",
]
