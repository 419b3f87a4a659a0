"""A History as a Blender scene: one keyframed cube per weight and bias, and the learning views.

``build`` replaces any previous nnviz content with cubes, labels, a legend, camera and overlay text,
plus, when the History has the probe series (:mod:`nnviz_addon.training.probes`), neurons between the grids,
a view of the task and the growing loss curve, and keys every recorded step; ``show_values``
recolours the cubes live while training; ``clear`` removes everything nnviz made. A cube's colour
shows its value; with ``SceneOptions.magnitude`` its size also shows its gradient or update
(:mod:`nnviz_addon.picture.magnitude`), keyed in the same action as the colour, with a size legend under
the colour legend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import bpy
import numpy as np

from ..history import History
from ..picture import attention as attention_plan
from ..picture import census, colormap, features, legends, magnitude, view_layout
from ..picture import cubes as cube_plan
from ..picture import overlay as overlay_plan
from ..preset.limits import writer_for
from . import (
    bloom,
    feature_maps,
    film,
    instanced,
    keyframes,
    loss_curve,
    model_parts,
    neurons,
    objects,
    overlay,
    stage,
    task_views,
)
from .attention import add_attention, add_token_rows
from .options import SceneOptions

__all__ = ["SceneOptions", "build", "clear", "color_scale_for", "show_values"]

SCALE_PROPERTY = "nnviz_scale"
FILL_PROPERTY = "nnviz_cube_fill"  # view_layout.cube_fill of the build: the cubes' edge ÷ CUBE_SIZE
MAGNITUDE_PROPERTY = "nnviz_magnitude"  # the SceneOptions.magnitude the scene was built with
MAGNITUDE_SCALE_PROPERTY = "nnviz_magnitude_scale"  # History key → magnitude drawn full size
DEFAULT_OPTIONS = SceneOptions()


def color_scale_for(history: History, options: SceneOptions = DEFAULT_OPTIONS) -> dict[str, float]:
    """History key → the |value| (or with ``color_values = "change"`` the |w − w₀|) that maps to the
    end of the colour map, over all records."""
    return cube_plan.color_scales(cube_plan.shown_history(history, options.color_values), options.color_scale)


def clear() -> None:
    """Remove every object, collection, mesh, material, action and world nnviz made, and the film's
    bloom, and render the scene's other objects again."""
    objects.remove_all()
    bloom.remove(bpy.context.scene)
    stage.show_others(bpy.context.scene)


def build(history: History, options: SceneOptions = DEFAULT_OPTIONS) -> None:
    """Draw ``history`` in the current scene and key all its records (replacing any earlier build)."""
    if history.records < 1:
        raise ValueError("scene.build: the history has no records")
    scene = bpy.context.scene
    clear()
    aspect = stage.frame_aspect(scene.render)
    # What the cubes show (values, or changes since the first record) is scaled, drawn and, in the
    # film, given depth; the probe's views read the run itself.
    shown = cube_plan.shown_history(history, options.color_values)
    scales = cube_plan.scales_for(shown, options.color_scale, options.magnitude, options.color_values)
    shapes = {key: array.shape[1:] for key, array in history.params.items()}
    maps = features.feature_maps(history)
    # The film leaves the layers' ±scale notes out: its close-up, framed around the labels, would
    # reach into the heads-up band with the longer labels.
    layout = view_layout.layout_for_frame(history.structure, shapes, aspect, legend_caption=scales.caption,
                                          size_labels=scales.size_labels, size_caption=scales.size_caption,
                                          input_shape=history.input_shape,
                                          feature_maps=maps, graph=history.graph,
                                          layer_notes={} if options.style == "film" else scales.layer_notes)
    plan = film.timeline(history, options)
    frames = plan.record_frames
    # The film's camera comes close to the blocks, so only the diagram's face-on framing tells how small a cube is.
    fill = 1.0 if options.style == "film" else view_layout.cube_fill(layout, stage.render_size(scene.render))
    # Feature-map cells and neurons are cubes too: "auto" counts them as the scene-size check does.
    writer = writer_for(options.cubes, census.scene_size(history).cubes)
    # One record is a still picture: its colours are set on the cubes, and keys would only cost time.
    keyed = history.records > 1 and writer == "objects"
    actions = [objects.cube_actions(block) if keyed else [] for block in layout.blocks]  # before any cube

    root = objects.tagged(bpy.data.collections.new(objects.ROOT_COLLECTION))
    scene.collection.children.link(root)
    root[SCALE_PROPERTY] = scales.color
    root[MAGNITUDE_PROPERTY] = options.magnitude
    root[MAGNITUDE_SCALE_PROPERTY] = scales.size
    root[FILL_PROPERTY] = fill
    mesh = objects.shared_cube_mesh()

    layer_collections: dict[str, bpy.types.Collection] = {}
    for name, label in layout.layer_labels.items():
        layer_collections[name] = collection = objects.new_collection(f"nnviz · layer {name}", root)
        objects.add_label(label, f"{label.text} · label", collection)
    if layout.part_labels or layout.skips:
        model_parts.add_parts(root, layout)
    for tensor, block_actions in zip(cube_plan.plan(shown, layout.blocks, scales), actions, strict=True):
        if writer == "instanced":
            _add_instanced(tensor, layer_collections[tensor.block.layer], int(frames[0]), options.frames_per_record,
                           fill)
            continue
        _add_objects(tensor, mesh, layer_collections[tensor.block.layer], frames if keyed else None, block_actions,
                     fill)

    feature_maps.add_feature_maps(root, history, layout, frames, writer, options.frames_per_record)

    legend = objects.new_collection("nnviz · legend", root)
    objects.add_legend(legends.color_legend(layout.legend, scales.legend_labels, scales.caption), mesh, legend)
    if layout.size_legend is not None:
        objects.add_size_legend(legends.size_legend(layout.size_legend), mesh, legend)

    overlay_width = overlay_plan.width(history, layout.text_size)
    overlay_box = overlay_plan.box(layout.overlay_anchor, overlay_width, layout.text_size)
    places = view_layout.place_views(layout, overlay_width, aspect)
    neuron_box = neurons.add_neurons(root, history, frames, places.neurons, writer, options.frames_per_record)
    loss_box = loss_curve.add_loss_curve(root, history, frames, places.loss)
    # Attention maps go in a band under the rest, the probe sequence's view beside them there.
    band = attention_plan.band_under(history, view_layout.union(layout.bounds, overlay_box, neuron_box, loss_box),
                                     aspect, layout.text_size)
    sequence_place, attention_place = attention_plan.share_band(band, history)
    views = (neuron_box, task_views.add_task_view(root, history, frames, sequence_place or places.task), loss_box,
             add_attention(root, history, frames, attention_place), add_token_rows(root, history, layout))
    stage.set_up(scene, root, view_layout.union(layout.bounds, overlay_box, *views),
                 attribute_colors=writer == "instanced")
    scene.frame_start = options.frame_start  # the first record's frame, or the intro's
    scene.frame_end = plan.frame_end
    scene.frame_current = int(frames[0])
    overlay.add_overlay(root, history, frames, layout.overlay_anchor, layout.text_size)
    if writer == "instanced":
        instanced.carry_object_colors([obj for obj in root.all_objects if obj.type == "MESH"
                                       and instanced.TENSOR_PROPERTY not in obj and not obj.hide_render])
        objects.show_colors_as_materials(obj for obj in root.all_objects if obj.type in ("CURVE", "FONT"))
    if options.style == "film":
        film.dress(scene, root, film.Film(shown, options, layout, plan, _film_depth_scales(shown, scales),
                                          views, overlay_box))
    if options.motion == "smooth":
        keyframes.smooth(obj for obj in root.all_objects if obj != scene.camera)
        instanced.ease(root)
    stage.hide_others(scene, root)  # only nnviz's picture is rendered


def _film_depth_scales(shown: History, scales: cube_plan.CubeScales) -> cube_plan.CubeScales:
    """``scales`` for the film, whose block depths take the colour scale: the depths show |value| on
    the run's one global scale whatever scale the colours use, so the film's shots (framed for the
    deepest block) and depths compare across layers as the colours may not."""
    return dataclasses.replace(scales, color=dict.fromkeys(scales.color, shown.value_range()))


def _add_objects(tensor: cube_plan.TensorCubes, mesh: bpy.types.Mesh, collection: bpy.types.Collection,
                 frames: np.ndarray | None, actions: list[bpy.types.Action], fill: float) -> None:
    """One object per cube of ``tensor``, keyed at ``frames`` (None: a still, not keyed), each
    ``fill`` times its usual edge (a cube's size scales its full edge)."""
    sizes = None if tensor.sizes is None else tensor.sizes * fill
    unsized = None if fill == 1 else np.full(len(tensor.block.positions), fill)
    made = objects.add_cubes(tensor.block, mesh, collection, tensor.values[0], tensor.rgba[0],
                             unsized if sizes is None else sizes[0])
    if frames is not None:
        objects.key_cubes(made, actions, frames, tensor.values, tensor.rgba, sizes)


def _add_instanced(tensor: cube_plan.TensorCubes, collection: bpy.types.Collection, frame_start: int,
                   frames_per_record: int, fill: float) -> None:
    """The instanced object drawing ``tensor``, its squares ``fill`` times their usual edge: the
    object is scaled by ``fill`` in the picture plane and its squares' centres divided by it, so they
    land where the layout put them while the writer's own square size stays as it is."""
    if fill != 1:
        shrunk = tensor.block.positions * np.array([1 / fill, 1.0, 1 / fill])
        tensor = dataclasses.replace(tensor, block=dataclasses.replace(tensor.block, positions=shrunk))
    obj = instanced.add_tensor(tensor, collection, frame_start, frames_per_record)
    obj.scale = (fill, 1.0, fill)


def show_values(values: Mapping[str, np.ndarray], scale: float | Mapping[str, float] | None = None,
                magnitudes: Mapping[str, np.ndarray] | None = None,
                size_scale: Mapping[str, float] | None = None) -> None:
    """Colour the built cubes by ``values`` (History key → current tensor) without keyframes.

    ``scale`` is one symmetric scale for all, one per key, or None for the scales of the last build.
    ``magnitudes`` (History key → current |gradient| or |update|, as the build's ``magnitude``
    option) size the cubes, by ``size_scale`` (key → the magnitude drawn full size) where given,
    else by the build's size scale; cubes without one are drawn full size rather than frozen at a
    recorded step. Cubes the user deleted or whose ``nnviz_index`` was edited by hand, and keys no
    cube shows, are skipped. A cube's recorded animation is removed so the live colour shows (the next ``build``
    keys the run again).
    """
    root = objects.root_collection()
    if root is None:
        return
    built_scales = root[SCALE_PROPERTY].to_dict() if SCALE_PROPERTY in root else {}
    built_size_scales = root[MAGNITUDE_SCALE_PROPERTY].to_dict() if MAGNITUDE_SCALE_PROPERTY in root else {}
    fill = float(root.get(FILL_PROPERTY, 1.0))
    magnitudes = magnitudes or {}
    sized = root.get(MAGNITUDE_PROPERTY, "none") != "none"

    def color_scale_of(key: str, tensor: np.ndarray) -> float:
        if isinstance(scale, Mapping) and key in scale:
            return scale[key]
        if scale is not None and not isinstance(scale, Mapping):
            return scale
        return built_scales.get(key, float(np.max(np.abs(tensor), initial=0.0)))

    def live_magnitudes(key: str, tensor: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(|magnitudes| of ``key``, the size drawn full size), or None when none are given."""
        if key not in magnitudes:
            return None
        live = np.abs(np.asarray(magnitudes[key], dtype=np.float64))
        if live.shape != tensor.shape:
            raise ValueError(f"scene.show_values: magnitudes[{key!r}] has shape {live.shape}, but "
                             f"values[{key!r}] has shape {tensor.shape}")
        return live, ((size_scale or {}).get(key) or built_size_scales.get(key)
                      or magnitude.run_scale({key: live[None]})[key])

    for key, obj in instanced.tensor_objects(root).items():
        if key in values:
            tensor = np.asarray(values[key], dtype=np.float64)
            sizes = live_magnitudes(key, tensor)
            instanced.set_live(obj, tensor, color_scale_of(key, tensor), *(sizes or (None, None)))
    by_key: dict[str, list[bpy.types.Object]] = {}
    for obj in root.all_objects:
        key = obj.get("nnviz_param")
        if key in values:
            by_key.setdefault(key, []).append(obj)
    for key, cubes in by_key.items():
        tensor = np.asarray(values[key], dtype=np.float64)
        found = [(cube, objects.cube_index(cube)) for cube in cubes]
        # an index edited by hand into something else than ndim integers addresses nothing
        found = [(cube, at) for cube, at in found if at is not None and len(at) == tensor.ndim]
        if not found:
            continue
        cubes = [cube for cube, _ in found]
        indices = np.array([at for _, at in found], dtype=np.int64).reshape(len(found), -1)
        if np.any(indices >= tensor.shape) or np.any(indices < 0):
            raise ValueError(f"scene.show_values: {key!r} has shape {tensor.shape}, but the built cubes "
                             f"show a tensor of shape {tuple(indices.max(axis=0) + 1)}")
        index = tuple(indices.T)
        current = tensor[index]
        rgba = colormap.colors(current, color_scale_of(key, tensor))
        keyframes.remove_animation(cube for cube in cubes if cube.animation_data is not None)
        for cube, value, color in zip(cubes, current.tolist(), rgba, strict=True):
            cube.color = color
            cube["nnviz_value"] = value
        sizes = live_magnitudes(key, tensor)
        if sizes is not None:
            live, key_size_scale = sizes
            objects.set_sizes(cubes, (magnitude.sizes(live[index], key_size_scale) * fill).tolist())
        elif sized:
            objects.set_sizes(cubes, [fill] * len(cubes))
