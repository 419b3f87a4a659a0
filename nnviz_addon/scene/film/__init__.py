"""The film style: the diagram's scene dressed as lit 3D blocks under a moving perspective camera.

:func:`dress` runs after the diagram is built and changes only what the film shows differently, a
module of this package each:

- :mod:`.depths`: every cube's depth (its y scale, out of the grid plane) is keyed per record from
  |value| (or |gradient| / |Δw| in the magnitude modes), so each weight matrix is a relief that
  moves as it learns;
- :mod:`.materials`, :mod:`.studio`: cubes and neurons get a lit material (their colour as the
  base, glowing a little more the stronger they are), a floor and a backdrop catch their shadows,
  soft sun lights and a dim world light them; Workbench gets studio light, shadows (cast by the
  weight blocks only, of a big network by its smaller tensors': :func:`...picture.film.shadow_casters`)
  and cavity; the compositor adds bloom (:mod:`..bloom`);
- :mod:`.camera`: the camera is perspective, keyed at every frame along a path of
  :mod:`...picture.film` (no handler);
- :mod:`.passes`, :mod:`.pauses`: with ``forward_pass = "intro"`` the film opens and ends on the
  probe input's signal travelling through the network: every neuron goes dark and each column
  lights up with its activation in turn, input first, while the weights feeding it flash by |w·x|;
  ``"every"`` adds a pass every ``forward_pass_every`` records, pausing the run
  (:func:`...picture.film_passes.timeline`);
- :mod:`.hud`: the title, counter and legends are parented to the camera in the band at the top of
  the frame (a heads-up overlay), so they stay upright and legible in every shot.

Everything made here is tagged and lives in the nnviz collection, so :func:`..objects.remove_all`
takes it away and a diagram built afterwards is the diagram again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import bpy
import numpy as np

from ...history import History
from ...picture import film as film_plan
from ...picture import film_passes
from ...picture.cubes import CubeScales
from ...picture.frame import film_timeline as timeline  # the film's frames, as the frame plan decides them
from ...picture.layout import Layout
from ...picture.shapes import Bounds
from .. import instanced, objects, stage
from ..options import SceneOptions
from .camera import key_camera
from .depths import key_depths
from .hud import HUD_BAND_NAME, add_hud_band, move_to_hud
from .materials import block_material
from .passes import DARK, flash_weights, key_forward_passes
from .pauses import hold_during_passes
from .studio import SHADOW_DIRECTION, set_stage

__all__ = ["DARK", "HUD_BAND_NAME", "SHADOW_DIRECTION", "Film", "dress", "timeline"]


@dataclass(frozen=True)
class Film:
    """What :func:`dress` turns into the film: the ``history`` the cubes show, the build's
    ``options``, ``layout`` and ``timeline``, the depths' ``scales``, the boxes of the ``views``
    beside the network (neurons, task view, loss curve, …; None where absent) and of the
    ``overlay`` (title and counter)."""

    history: History
    options: SceneOptions
    layout: Layout
    timeline: film_passes.Timeline
    scales: CubeScales
    views: Sequence[Bounds | None]
    overlay: Bounds



def dress(scene: bpy.types.Scene, root: bpy.types.Collection, film: Film) -> None:
    """Turn the just-built diagram in ``root`` into ``film`` (see the module docstring)."""
    history, plan = film.history, film.timeline
    lens = film_plan.Lens.for_frame(stage.frame_aspect(scene.render))
    depths = film_plan.depth_source(history, film.scales)
    key_depths(root, film.layout, *depths, film.scales.sized, plan.record_frames)
    for mesh in (objects.shared_cube_mesh(), objects.sphere_mesh()):
        mesh.materials[0] = block_material()
    for obj in instanced.tensor_objects(root).values():
        obj.data.materials[0] = block_material(attribute_color=True)
    move_to_hud(scene.camera, lens, film.overlay, film.layout)
    add_hud_band(scene.camera, lens, root)
    boxes = film_plan.shot_boxes(film.layout, film.views, film_plan.deepest(film.layout.blocks, *depths))
    blocks = {key: int(np.prod(values.shape[1:])) for key, values in history.params.items()}
    set_stage(scene, root, boxes.everything, casters=film_plan.shadow_casters(blocks))
    shots = film_plan.path(film.options.camera_path, boxes.network, boxes.layers, boxes.close_up,
                           boxes.everything, film.options.camera_timing)
    if len(plan.passes):  # the camera keeps its path through them (they take a bounded share of the film)
        stages = film_passes.pass_stages(history)
        hold_during_passes(root, plan)
        key_forward_passes(root, history, plan, stages)
        flash_weights(root, history, plan, stages, depths)
    key_camera(scene, lens, shots)
    root["nnviz_film_shots"] = [{"name": s.name, "start": s.start, "end": s.end,
                                 "box": [*s.box[0], *s.box[1]]} for s in shots]
