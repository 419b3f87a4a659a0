"""What a History's scene will create, counted before anything is built: the cube writer's cubes
(parameters, feature-map cells, neurons), the task view's data points and the attention maps' cells
(every recorded head's L × L tile). ``preset.limits``
decides from this count which writer draws the scene and whether it can be built at all, as it
does from a preset's count before training (``preset.config.scene_size``)."""

from __future__ import annotations

import numpy as np

from ..history import History, keys
from ..preset.limits import SceneSize
from . import attention, features, neurons, task_views


def scene_size(history: History) -> SceneSize:
    columns = neurons.column_keys(history)
    neuron_count = sum(int(np.size(history.static[key])) if key == keys.PROBE_INPUT
                       else int(np.prod(np.shape(history.series[key])[1:])) for key in columns.values())
    return SceneSize(parameters=history.parameter_count,
                     feature_cells=features.cell_count(features.feature_maps(history)),
                     neurons=neuron_count,
                     data_points=task_views.data_point_count(history),
                     attention_cells=sum(int(np.prod(np.shape(history.series[key])[1:]))
                                         for key in attention.attention_keys(history)))
