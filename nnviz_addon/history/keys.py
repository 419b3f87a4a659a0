"""The names in a History: one home for every key the training side writes and the picture side
reads, so a writer and its reader can't spell a name two ways.

A saved History names each array ``<group>/<key>`` (:func:`stored`): the group says which field of
the History it belongs to (``param``, ``grad``, ``metric``, ``series``, ``static``).

Metrics (``History.metrics``, float64 (R,), NaN where a record lacks it): :data:`ACCURACY`,
:data:`TEST_LOSS`, :data:`TEST_ACCURACY`.

Series and static arrays (what a probe records, see :mod:`..training.probes`):

=============================  ==========================================================================
``input_shape``                static int64 (k,), optional: the shape of one input sample (``[28, 28]``)
``activation/<layer>``         series (R, out): a drawn layer's output after its activation, for the
                               probe input ``probe/input`` (static, (in,)); layers whose output is a vector
``feature/<layer>``            series (R, C, H, W): an image layer's feature maps for the probe image
                               ``probe/image`` (static, (C, H, W)): every Conv2d, BatchNorm2d and pool
                               (MaxPool2d, AvgPool2d, AdaptiveAvgPool2d), after the activation that follows it
``feature_kinds``              static (L, 2) str: each ``feature/`` layer's name and module class
                               (``["2", "MaxPool2d"]``), so layers without parameters are named too
``probe/tokens``               static (L,) int: a recorded model's probe sample of token ids
``probe/values``               static (n,): a recorded model's probe vector its first drawn layer doesn't take
``rgb/inputs``, ``rgb/targets`` static (P, 3): probe colours and the mapping's answer for them
``rgb/outputs``                series (R, P, 3): the network's colours for the probe colours
``points/xy``, ``points/labels`` static (N, 2), (N,): the 2D task's data
``boundary/extent``            static (4,): xmin, xmax, ymin, ymax of the decision-boundary grid
``boundary/probability``       series (R, G, G): P(class 1) on the grid, row = y, column = x; a table of
                               more than two classes: (R, G, G, C), each class's probability
``task/class_names``           static (C,) str: a table's class names (the views' legend)
``table/labels``               static (P,): the true class of each of a table's probe samples
``table/probabilities``        series (R, P, C): the network's class probabilities for them
``table/targets``              static (P,): a regression table's probe samples' target values
``table/predictions``          series (R, P): the network's values for them
``table/range``                static (2,): the value range the value bars are drawn over
``digits/image``, ``digits/label`` static (8, 8), (): the probe digit
``digits/probabilities``       series (R, 10): the class probabilities for the probe digit
``sequence/input``             static (L,) int: a sequence task's probe sequence (its tokens' ids)
``sequence/target``            static (L,) int: its target token per position (-100: none asked)
``sequence/tokens``            static (V,) str: what each token id reads as (``"7"``, ``"="``)
``sequence/probabilities``     series (R, L, V): the network's probability of each token at each position
``attention/<module>``         series (R, heads, L, L): each head's attention weights for the probe
                               sequence (row: the query position, column: the key position), for every
                               ``MultiheadAttention`` in the model, by its module path (``"2.self_attn"``)
=============================  ==========================================================================

``<layer>`` is the module's name (its ``state_dict`` prefix, ``"0"``, ``"fc1"``). The scene reads
these keys when present and draws nothing for absent ones.
"""

from __future__ import annotations

# The groups of a saved History, in the order it writes them.
PARAM, GRAD, METRIC, SERIES, STATIC = "param", "grad", "metric", "series", "static"
GROUPS = (PARAM, GRAD, METRIC, SERIES, STATIC)

ACCURACY = "accuracy"
TEST_LOSS = "test_loss"
TEST_ACCURACY = "test_accuracy"

INPUT_SHAPE = "input_shape"
FEATURE_KINDS = "feature_kinds"

ACTIVATION_PREFIX = "activation/"
FEATURE_PREFIX = "feature/"
ATTENTION_PREFIX = "attention/"

PROBE_INPUT = "probe/input"
PROBE_IMAGE = "probe/image"
PROBE_TOKENS = "probe/tokens"
PROBE_VALUES = "probe/values"

CLASS_NAMES = "task/class_names"

RGB_INPUTS, RGB_TARGETS, RGB_OUTPUTS = "rgb/inputs", "rgb/targets", "rgb/outputs"
POINTS_XY, POINTS_LABELS = "points/xy", "points/labels"
BOUNDARY_EXTENT, BOUNDARY_PROBABILITY = "boundary/extent", "boundary/probability"
DIGITS_IMAGE, DIGITS_LABEL, DIGITS_PROBABILITIES = "digits/image", "digits/label", "digits/probabilities"
TABLE_LABELS, TABLE_PROBABILITIES = "table/labels", "table/probabilities"
TABLE_TARGETS, TABLE_PREDICTIONS, TABLE_RANGE = "table/targets", "table/predictions", "table/range"
SEQUENCE_INPUT, SEQUENCE_TARGET = "sequence/input", "sequence/target"
SEQUENCE_TOKENS, SEQUENCE_PROBABILITIES = "sequence/tokens", "sequence/probabilities"


def stored(group: str, key: str) -> str:
    """The name a saved History gives ``key`` of ``group`` (``stored(PARAM, "0.weight")``)."""
    return f"{group}/{key}"


def activation(layer: str) -> str:
    """The series key of a drawn layer's neuron values for the probe input."""
    return ACTIVATION_PREFIX + layer


def feature(layer: str) -> str:
    """The series key of an image layer's feature maps for the probe image."""
    return FEATURE_PREFIX + layer


def attention(module: str) -> str:
    """The series key of a ``MultiheadAttention``'s per-head weights, by its module path."""
    return ATTENTION_PREFIX + module
