"""The film style: the diagram's scene dressed as lit 3D blocks under a moving perspective camera.

:func:`dress` runs after the diagram is built and changes only what the film shows differently:

- every cube's depth (its y scale, out of the grid plane) is keyed per record from |value| (or
  |gradient| / |Δw| in the magnitude modes), so each weight matrix is a relief that moves as it learns;
- cubes and neurons get a lit material (their colour as the base, glowing a little more the
  stronger they are), a floor and a backdrop catch their shadows, soft sun lights and a dim world
  light them; Workbench gets studio light, shadows (cast by the weight blocks only, of a big
  network by its smaller tensors', :func:`.film_plan.shadow_casters`) and cavity; the compositor
  adds bloom (:mod:`.bloom`);
- the camera is perspective, keyed at every frame along a path of :mod:`..film_plan` (no handler);
- with ``forward_pass = "intro"`` the film opens and ends on the probe input's signal travelling
  through the network: every neuron goes dark and each column lights up with its activation in
  turn, input first, while the weights feeding it flash by |w·x|; ``"every"`` adds a pass every
  ``forward_pass_every`` records, pausing the run (:func:`.film_plan.timeline`);
- the title, counter and legends are parented to the camera in the band at the top of the frame
  (a heads-up overlay), so they stay upright and legible in every shot.

Everything made here is tagged and lives in the nnviz collection, so :func:`.objects.remove_all`
takes it away and a diagram built afterwards is the diagram again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import bpy
import numpy as np
from mathutils import Matrix

from ..history import History
from ..picture import film as film_plan
from ..picture import neurons as neuron_plan
from ..picture import view_layout
from ..picture.cubes import CubeScales
from ..picture.layout import Layout
from ..picture.shapes import CUBE_SIZE, Bounds, text_width
from . import bloom, instanced, keyframes, objects, overlay, stage
from .options import SceneOptions

FLOOR_COLOR = (0.030, 0.031, 0.036, 1.0)  # linear; dark, so the blocks and their shadows read on it
BACKDROP_COLOR = (0.016, 0.017, 0.020, 1.0)
WORLD_COLOR = (0.018, 0.019, 0.024)
FILM_MATERIAL = "nnviz · film blocks"
FILM_ATTRIBUTE_MATERIAL = "nnviz · film blocks · attribute colour"  # the instanced blocks': nn_color
SURFACE_MATERIAL = "nnviz · film surface"
HUD_BAND_MATERIAL = "nnviz · film HUD band"
HUD_BAND_NAME = "nnviz · HUD band"
HUD_BAND_COLOR = (0.010, 0.011, 0.014, 1.0)  # linear; just under the backdrop's, so wide shots hardly show it
DEPTH_CHANNEL = ("scale", 1)
HUD_SIDES = {"overlay": "left", "legend": "right"}
PASS_GLIDE_FRAMES = 10  # the camera's glide onto the whole network before a forward pass, and back after
# Workbench's shadow direction (scene.display.light_direction): from above and a little behind, so
# each block's shadow volume runs back into the backdrop close behind it. The default's volumes ran
# down across the frame to the floor: with 2,410 casting blocks (digits) that frame took 2.3x the
# diagram's on a CPU, this one 1.9x (README's Speed).
SHADOW_DIRECTION = (0.25, 0.25, 0.93)
DARK = instanced.DARK  # linear; an unlit neuron, just off the background (the instanced tree's too)


def neuron_columns(history: History) -> list[str]:
    """The ``nnviz_neuron`` names of the neuron columns :mod:`.neurons` draws, input first."""
    return list(neuron_plan.column_keys(history))


def pass_stages(history: History) -> list[str]:
    """What a forward pass lights in turn, in the signal's order: the neuron columns
    (:func:`neuron_columns`) and, between them, each Conv2d layer whose feature maps are recorded
    (``"layer <name>"``: its kernels flash there; its maps stay as they are)."""
    columns = neuron_columns(history)
    stages = ["input"] if "input" in columns else []
    for spec in history.structure:
        name = f"layer {spec.name}"
        if name in columns or (spec.kind == "Conv2d" and f"feature/{spec.name}" in history.series):
            stages.append(name)
    return stages


def timeline(history: History, options: SceneOptions) -> film_plan.Timeline:
    """Where the records and the forward passes sit on the frames (no passes in the diagram)."""
    mode = options.forward_pass if options.style == "film" else "none"
    return film_plan.timeline(history.records, options.frames_per_record, options.frame_start,
                              len(pass_stages(history)), mode, options.forward_pass_every)


def dress(scene: bpy.types.Scene, root: bpy.types.Collection, history: History, options: SceneOptions,
          layout: Layout, plan: film_plan.Timeline, scales: CubeScales,
          views: Sequence[Bounds | None], overlay_box: Bounds) -> None:
    """Turn the just-built diagram in ``root`` into the film (see the module docstring)."""
    lens = film_plan.Lens.for_frame(stage.frame_aspect(scene.render))
    depth = _key_depths(root, history, options, layout, plan.record_frames, scales)
    for mesh in (objects.shared_cube_mesh(), objects.sphere_mesh()):
        mesh.materials[0] = _block_material()
    for obj in instanced.tensor_objects(root).values():
        obj.data.materials[0] = _block_material(attribute_color=True)
    _move_to_hud(scene.camera, lens, overlay_box, layout)
    _add_hud_band(scene.camera, lens, root)
    boxes = _shot_boxes(layout, views, depth)
    blocks = {key: int(np.prod(values.shape[1:])) for key, values in history.params.items()}
    _set_stage(scene, root, boxes["everything"], casters=film_plan.shadow_casters(blocks))
    shots = film_plan.path(options.camera_path, boxes["network"], boxes["layers"], boxes["close-up"],
                           boxes["everything"], options.camera_timing)
    if len(plan.passes):
        span = max(scene.frame_end - scene.frame_start, 1)
        windows = [((s - scene.frame_start) / span, (s + plan.pass_length - scene.frame_start) / span)
                   for s in plan.starts.tolist()]
        shots = film_plan.with_passes(shots, windows, boxes["network"], PASS_GLIDE_FRAMES / span)
        _hold_during_passes(root, plan)
        _key_forward_passes(root, history, plan)
        _flash_weights(root, history, plan)
    _key_camera(scene, lens, shots)
    root["nnviz_film_shots"] = [{"name": s.name, "start": s.start, "end": s.end,
                                 "box": [*s.box[0], *s.box[1]]} for s in shots]


def _key_depths(root: bpy.types.Collection, history: History, options: SceneOptions, layout: Layout,
                record_frames: np.ndarray, scales: CubeScales) -> float:
    """Key each cube's depth from its magnitude at every record (an instanced tensor's tree gets
    the same depths from its records, :func:`.instanced.make_blocks`); returns the deepest block's depth."""
    # the cube plan's magnitudes and scales, so depth and size show the same thing on the same scale
    if scales.sized:
        shown, shown_scales = scales.magnitudes, scales.size
    else:
        shown, shown_scales = history.params, scales.color
    drawn = instanced.tensor_objects(root)
    by_key: dict[str, list[bpy.types.Object]] = {}
    for obj in root.all_objects:
        if "nnviz_param" in obj:
            by_key.setdefault(obj["nnviz_param"], []).append(obj)
    keyed = history.records > 1
    deepest = 0.0
    for block in layout.blocks:
        if block.key in drawn:  # the tree keys nothing: it reads the same records and scale
            instanced.make_blocks(drawn[block.key], shown_scales[block.key], scales.sized)
            # relief grows with |x|: the deepest block is the largest |x|'s, without a copy of every record
            largest = float(np.max(np.abs(shown[block.key]), initial=0.0))
            deepest = max(deepest, float(film_plan.relief(largest, shown_scales[block.key])) * CUBE_SIZE)
        cubes = by_key.get(block.key, [])
        if not cubes:
            continue
        values = np.asarray(shown[block.key], dtype=np.float64).reshape(history.records, *block.shape)
        index = tuple(np.array([list(c["nnviz_index"]) for c in cubes], dtype=np.int64).reshape(len(cubes), -1).T)
        depths = film_plan.relief(values[(slice(None), *index)], shown_scales[block.key])  # (records, cubes)
        deepest = max(deepest, float(depths.max(initial=0.0)) * CUBE_SIZE)
        for cube, cube_depths in zip(cubes, depths.T, strict=True):
            if keyed:
                keyframes.add_curves(cube, [DEPTH_CHANNEL], record_frames, cube_depths[None])
            else:
                cube.scale[1] = float(cube_depths[0])
    return deepest


def _animated(root: bpy.types.Collection) -> list[bpy.types.ID]:
    """Every ID under ``root`` that nnviz keyed: its objects and the data (curves) it keyed."""
    ids = {obj for obj in root.all_objects if obj.animation_data is not None}
    ids |= {obj.data for obj in root.all_objects if obj.data is not None and obj.data.animation_data is not None}
    return list(ids)


def _hold_during_passes(root: bpy.types.Collection, plan: film_plan.Timeline) -> None:
    """A pass in the middle of the run pauses it: every keyed value holds its record's until the
    pass ends (a key at :attr:`.film_plan.Timeline.holds`), then moves on to the next record."""
    if not len(plan.holds):
        return
    for target in _animated(root):
        for curve in keyframes.fcurves_of(target):
            held = [curve.evaluate(float(plan.record_frames[r])) for r in plan.hold_records]
            kinds = _interpolations_at(curve.keyframe_points, plan.record_frames[plan.hold_records])
            for frame, value, kind in zip(plan.holds.tolist(), held, kinds, strict=True):
                curve.keyframe_points.insert(frame, value, options={"FAST"}).interpolation = kind
        target.update_tag()
    for obj in instanced.tensor_objects(root).values():
        _hold_instanced(obj, plan)


def _interpolations_at(points: bpy.types.FCurveKeyframePoints, frames: np.ndarray) -> list[str]:
    """The interpolation of the (last) key at each whole frame of ``frames``, LINEAR where there is
    none. The key frames are read in one call: reading every key through Python took 40% of a long
    film's build."""
    co = np.empty(2 * len(points), dtype=np.float32)
    points.foreach_get("co", co)
    at = {frame: index for index, frame in enumerate(co[0::2].astype(np.int64).tolist())}
    return [points[at[frame]].interpolation if frame in at else "LINEAR" for frame in np.asarray(frames).tolist()]


def _hold_instanced(obj: bpy.types.Object, plan: film_plan.Timeline) -> None:
    """The Geometry Nodes cubes read record ``(frame - Frame Start) / Frames Per Record``: during a
    pause, Frame Start is keyed to follow the frame (CONSTANT keys at every paused frame)."""
    step = float(instanced.input_value(obj, "Frames Per Record"))
    frames = np.concatenate([np.arange(plan.record_frames[r], hold + 1)
                             for r, hold in zip(plan.hold_records, plan.holds, strict=True)])
    records = np.concatenate([np.full(hold + 1 - plan.record_frames[r], r)
                              for r, hold in zip(plan.hold_records, plan.holds, strict=True)])
    _key_input(obj, "Frame Start", frames, frames - records * step, "CONSTANT")


def _key_forward_passes(root: bpy.types.Collection, history: History, plan: film_plan.Timeline) -> None:
    """Every neuron dark at each pass's start, each column lit at its turn with that pass's
    record's colour (:attr:`.film_plan.Timeline.lit`), holding until the records take over."""
    stages = pass_stages(history)
    channels = [("color", c) for c in range(3)]
    drawn = instanced.tensor_objects(root)
    for column, key in neuron_plan.column_keys(history).items():
        if key in drawn:  # the instanced writer's column
            _key_dark(drawn[key], plan.starts, plan.lit[:, stages.index(column)])
    for sphere in root.all_objects:
        column = sphere.get("nnviz_neuron")  # the objects writer's spheres
        if column not in stages:
            continue
        lit_at = plan.lit[:, stages.index(column)].tolist()
        curves = {(c.data_path, c.array_index): c for c in keyframes.fcurves_of(sphere)}
        if not curves:  # a column that never changes (the probe input): keyed here for the first time
            lit = tuple(sphere.color)[:3]
            action = keyframes.new_actions([f"nnviz · {sphere.name} · forward pass"])[0]
            frames = np.ravel(np.column_stack([plan.starts, lit_at]))
            values = np.array([DARK, lit] * len(lit_at)).T
            keyframes.write_curves(sphere, action, channels, frames, values, interpolation="CONSTANT")
            continue
        for channel in channels:
            curve = curves[channel]
            shown = [curve.evaluate(float(plan.record_frames[r])) for r in plan.passes]
            for start, frame, value in zip(plan.starts.tolist(), lit_at, shown, strict=True):
                curve.keyframe_points.insert(start, DARK[channel[1]], options={"FAST"}).interpolation = "CONSTANT"
                curve.keyframe_points.insert(frame, value, options={"FAST"}).interpolation = "CONSTANT"
        sphere.update_tag()


def _key_dark(obj: bpy.types.Object, starts: np.ndarray, lit_at: np.ndarray) -> None:
    """An instanced neuron column's tree input Dark keyed CONSTANT: 1 (every neuron DARK) from each
    pass's start, 0 (the record's colours, paused by :func:`_hold_instanced`) from its lit frame."""
    # lit before the first pass too (a CONSTANT curve holds its first key's value before it)
    frames = np.concatenate([[starts[0] - 1], np.ravel(np.column_stack([starts, lit_at]))])
    values = np.concatenate([[0.0], np.tile([1.0, 0.0], len(starts))])
    _key_input(obj, "Dark", frames, values, "CONSTANT")


def _key_input(obj: bpy.types.Object, name: str, frames: np.ndarray, values: np.ndarray,
               interpolation: str) -> bpy.types.FCurve:
    """Key the Geometry Nodes modifier's input ``name`` of ``obj`` beside its other nnviz keys
    (the pauses' Frame Start keys, when the run pauses); returns the new curve."""
    return _key_channel(obj, (instanced.input_path(obj, name), 0), frames, values, interpolation)


def _key_channel(obj: bpy.types.Object, channel: tuple[str, int], frames: np.ndarray, values: np.ndarray,
                 interpolation: str = "LINEAR") -> bpy.types.FCurve:
    """Key ``channel`` (data path, index) of ``obj`` at ``frames`` beside its other nnviz keys, in
    an action of its own when it has none yet; returns the new curve."""
    if keyframes.fcurves_of(obj):
        keyframes.add_curves(obj, [channel], frames, np.asarray(values)[None], interpolation=interpolation)
    else:
        action = keyframes.new_actions([f"nnviz · {obj.name} · forward pass"])[0]
        keyframes.write_curves(obj, action, [channel], frames, np.asarray(values)[None], interpolation=interpolation)
    obj.update_tag()
    return next(c for c in keyframes.fcurves_of(obj) if (c.data_path, c.array_index) == channel)


def pass_inputs(history: History, record: int) -> dict[str, np.ndarray]:
    """Layer name → the probe's input to that Linear or Conv2d layer at ``record``, where it is
    recorded: for a Linear layer the probe input or the recorded activation of the layer before (a
    vector); for a Conv2d layer the probe image or the feature maps recorded just before its own
    (C, H, W)."""
    inputs: dict[str, np.ndarray] = {}
    previous = history.static.get("probe/input")
    for spec in history.structure:
        if previous is not None and spec.kind == "Linear" and np.size(previous) == spec.in_features:
            inputs[spec.name] = np.asarray(previous, dtype=np.float64).ravel()
        series = history.series.get(f"activation/{spec.name}")
        previous = None if series is None else series[record]  # this record's only, not a copy of the run
    convs = {spec.name: spec for spec in history.structure if spec.kind == "Conv2d"}
    maps = history.static.get("probe/image")
    for key, series in history.series.items():  # the feature maps, in the model's order
        if not key.startswith("feature/"):
            continue
        spec = convs.get(key.removeprefix("feature/"))
        if spec is not None and maps is not None and np.shape(maps)[0] == spec.in_features:
            inputs[spec.name] = np.asarray(maps, dtype=np.float64)
        maps = series[record]
    return inputs


def _flash_weights(root: bpy.types.Collection, history: History, plan: film_plan.Timeline) -> None:
    """When a layer's turn comes in a pass, its weight cubes' depths flash by their share of the
    signal and fade back in ``FLASH_FRAMES``: |w_ij · x_j| for a Linear layer
    (:func:`.film_plan.contributions`), |w| times the mean |x| of the channel a kernel reads for a
    Conv2d layer (:func:`.film_plan.kernel_contributions`)."""
    stages = pass_stages(history)
    specs = {spec.name: spec for spec in history.structure}
    cubes: dict[str, list[bpy.types.Object]] = {}  # key → the objects writer's cubes
    for obj in root.all_objects:
        if "nnviz_param" in obj:
            cubes.setdefault(obj["nnviz_param"], []).append(obj)
    drawn = instanced.tensor_objects(root)
    flashes: dict[str, list[tuple[int, int]]] = {}  # instanced weight tensor → (pass, lit frame)
    for i, record in enumerate(plan.passes.tolist()):
        inputs = pass_inputs(history, record)
        for name, x in inputs.items():
            spec = specs[name]
            if f"layer {name}" not in stages or (spec.weight not in cubes and spec.weight not in drawn):
                continue
            lit = int(plan.lit[i, stages.index(f"layer {name}")])
            weight = np.asarray(history.params[spec.weight][record])
            share = (film_plan.kernel_contributions if spec.kind == "Conv2d" else film_plan.contributions)(weight, x)
            if spec.weight in drawn:
                instanced.write_flash(drawn[spec.weight], i, share)
                flashes.setdefault(spec.weight, []).append((i, lit))
            for cube in cubes.get(spec.weight, []):
                curve = _depth_curve(cube, int(plan.record_frames[record]))
                normal = curve.evaluate(float(plan.record_frames[record]))
                peak = float(film_plan.flash_depths(normal, share[tuple(cube["nnviz_index"])]))
                points = curve.keyframe_points
                points.insert(lit - 1, normal, options={"FAST"}).interpolation = "CONSTANT"
                points.insert(lit, peak, options={"FAST"}).interpolation = "LINEAR"
                points.insert(lit + film_plan.FLASH_FRAMES, normal, options={"FAST"}).interpolation = "LINEAR"
                cube.update_tag()
    for key, passes in flashes.items():
        _key_flash(drawn[key], passes)


def _depth_curve(cube: bpy.types.Object, frame: int) -> bpy.types.FCurve:
    """``cube``'s depth curve; a run of one record keys no depth (:func:`_key_depths`), so its
    flash starts one at ``frame`` from the depth the cube has."""
    curve = next((c for c in keyframes.fcurves_of(cube) if (c.data_path, c.array_index) == DEPTH_CHANNEL), None)
    if curve is None:
        curve = _key_channel(cube, DEPTH_CHANNEL, np.array([frame]), np.array([cube.scale[1]]))
    return curve


def _key_flash(obj: bpy.types.Object, passes: Sequence[tuple[int, int]]) -> None:
    """An instanced weight tensor's flashes, as the objects' depth keys: Flash Pass picks the pass's
    shares (CONSTANT), Flash is 0 until the lit frame, 1 there, back to 0 ``FLASH_FRAMES`` later."""
    numbers, lit = (np.array(column) for column in zip(*passes, strict=True))
    _key_input(obj, "Flash Pass", lit - 1, numbers.astype(np.float64), "CONSTANT")
    frames = np.ravel(np.column_stack([lit - 1, lit, lit + film_plan.FLASH_FRAMES]))
    curve = _key_input(obj, "Flash", frames, np.tile([0.0, 1.0, 0.0], len(lit)), "LINEAR")
    for point in list(curve.keyframe_points)[0::3]:  # no rise before the lit frame (at subframes)
        point.interpolation = "CONSTANT"


def _add_hud_band(camera: bpy.types.Object, lens: film_plan.Lens, root: bpy.types.Collection) -> None:
    """A dark, unlit band behind the HUD text across the top of the frame, fixed to the camera:
    shots keep the picture below the band, but where blocks pass behind the text (a close-up, a
    glide between shots) light text over light blocks could not be read."""
    # Just behind the text, still nearer than the picture; tilted (its lower edge further away), as
    # facing the camera squarely it caught Workbench's studio highlight whole and showed light grey.
    near, far = film_plan.HUD_DISTANCE * 1.01, film_plan.HUD_DISTANCE * 1.3
    corners = []  # on the rays through the band's corners, so it covers the band exactly
    for (u, v), distance in zip(((0, 0), (1, 0), (1, 1), (0, 1)), (far, far, near, near), strict=True):
        x0, x1, y0, y1 = lens.frame_at(distance)
        bottom = y1 - film_plan.HUD_BAND * (y1 - y0)
        corners.append((x0 + u * (x1 - x0), bottom + v * (y1 - bottom), -distance))
    mesh = objects.tagged(bpy.data.meshes.new(HUD_BAND_NAME))
    mesh.from_pydata(corners, [], [(0, 1, 2, 3)])
    mesh.materials.append(_unlit_material())
    band = objects.tagged(bpy.data.objects.new(HUD_BAND_NAME, mesh))
    band.color = HUD_BAND_COLOR
    band.parent = camera
    band["nnviz_hud"] = "band"
    root.objects.link(band)
    if instanced.tensor_objects(root):  # Workbench shows attributes (stage.set_up): carry its colour into one
        instanced.carry_object_colors([band])


def _unlit_material() -> bpy.types.Material:
    """The HUD band's: its object colour as emission, so no light or bloom changes it."""
    return _object_color_shader(HUD_BAND_MATERIAL, "ShaderNodeEmission", "Color")


def _role_material(role: str) -> tuple[bpy.types.Material, bool]:
    """nnviz's material of this role, and whether it was made just now (its nodes still to build)."""
    for material in bpy.data.materials:
        if material.get(objects.TAG) and material.get(objects.ROLE) == role:
            return material, False
    material = objects.tagged(bpy.data.materials.new(role))
    material[objects.ROLE] = role
    if material.node_tree is None:  # 4.2: a new material has no nodes until asked
        material.use_nodes = True
    return material, True


def _block_material(attribute_color: bool = False) -> bpy.types.Material:
    """Cubes and neurons in the film: a lit surface of the object's colour (with ``attribute_color``
    the mesh's ``nn_color``, the instanced blocks') that also glows with it, the more the further
    the colour is from the map's white zero (so strong weights glow)."""
    material, made = _role_material(FILM_ATTRIBUTE_MATERIAL if attribute_color else FILM_MATERIAL)
    if not made:
        return material
    tree = material.node_tree
    nodes, links = tree.nodes, tree.links
    nodes.clear()
    if attribute_color:
        info = nodes.new("ShaderNodeAttribute")
        info.attribute_type = "GEOMETRY"
        info.attribute_name = instanced.COLOR_ATTRIBUTE
    else:
        info = nodes.new("ShaderNodeObjectInfo")
    separate = nodes.new("ShaderNodeSeparateColor")
    low = nodes.new("ShaderNodeMath")
    low.operation = "MINIMUM"
    lowest = nodes.new("ShaderNodeMath")
    lowest.operation = "MINIMUM"
    glow = nodes.new("ShaderNodeMapRange")  # min(r, g, b): 1 at white, 0 at a saturated colour
    glow.inputs["From Min"].default_value, glow.inputs["From Max"].default_value = 1.0, 0.0
    glow.inputs["To Min"].default_value, glow.inputs["To Max"].default_value = 0.05, 0.8
    surface = nodes.new("ShaderNodeBsdfPrincipled")
    surface.inputs["Roughness"].default_value = 0.38
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(info.outputs["Color"], separate.inputs[0])
    links.new(separate.outputs[0], low.inputs[0])
    links.new(separate.outputs[1], low.inputs[1])
    links.new(low.outputs[0], lowest.inputs[0])
    links.new(separate.outputs[2], lowest.inputs[1])
    links.new(lowest.outputs[0], glow.inputs["Value"])
    links.new(info.outputs["Color"], surface.inputs["Base Color"])
    emission_color = "Emission Color" if "Emission Color" in surface.inputs else "Emission"
    links.new(info.outputs["Color"], surface.inputs[emission_color])
    links.new(glow.outputs[0], surface.inputs["Emission Strength"])
    links.new(surface.outputs[0], output.inputs["Surface"])
    material.diffuse_color = (0.8, 0.8, 0.8, 1.0)
    return material


def _surface_material() -> bpy.types.Material:
    """The floor and backdrop: a rough surface of the object's colour."""
    return _object_color_shader(SURFACE_MATERIAL, "ShaderNodeBsdfPrincipled", "Base Color", Roughness=0.7)


def _object_color_shader(role: str, shader: str, color_input: str, **inputs: float) -> bpy.types.Material:
    """nnviz's material of ``role``: the object's colour into ``shader``'s ``color_input`` (its
    other ``inputs`` set), made once."""
    material, made = _role_material(role)
    if not made:
        return material
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    info = nodes.new("ShaderNodeObjectInfo")
    surface = nodes.new(shader)
    for name, value in inputs.items():
        surface.inputs[name].default_value = value
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(info.outputs["Color"], surface.inputs[color_input])
    links.new(surface.outputs[0], output.inputs["Surface"])
    return material


def _shot_boxes(layout: Layout, views: Sequence[Bounds | None], depth: float) -> dict:
    """The boxes the camera path frames: the network, each layer, a close-up, everything."""
    half = max(depth, CUBE_SIZE) / 2
    layer_boxes: dict[str, list[Bounds]] = {}
    reach = np.array([0.5, half, 0.5])  # from a cube's centre to its cell's edge, and its relief
    for block in layout.blocks:
        low = block.positions.min(axis=0) - reach
        high = block.positions.max(axis=0) + reach
        layer_boxes.setdefault(block.layer, []).append((tuple(low), tuple(high)))
    for name, label in layout.layer_labels.items():
        x, y, z = label.position
        layer_boxes.setdefault(name, []).append(((x, y, z), (x + text_width(label.text, label.size), y,
                                                              z + label.size)))
    layers = [view_layout.union(*boxes) for boxes in layer_boxes.values()]
    network = view_layout.union(*layers)
    weights = max(layout.blocks, key=lambda b: len(b.positions))
    centre = weights.positions[len(weights.positions) // 2]
    close_up = film_plan.close_up_box(centre, depth=2 * half)
    everything = view_layout.union(network, *views)
    return {"network": network, "layers": layers, "close-up": close_up, "everything": everything}


def _set_stage(scene: bpy.types.Scene, root: bpy.types.Collection, everything: Bounds,
               casters: set[str]) -> None:
    """Floor, backdrop, lights, world and the engines' shading for the film; ``casters``: the History
    keys of the weight and bias tensors whose blocks alone cast Workbench shadows
    (:func:`.film_plan.shadow_casters`)."""
    (x0, _, z0), (x1, y1, z1) = everything
    size = 6 * max(x1 - x0, z1 - z0)
    centre_x = (x0 + x1) / 2
    surface = objects.square_mesh().copy()  # the square's shape, with its own material
    del surface[objects.ROLE]  # not the shared square any more
    surface.materials[0] = _surface_material()
    floor = objects.tagged(bpy.data.objects.new("nnviz · floor", surface))
    floor.location = (centre_x, size / 2 - 0.25 * size, z0 - 1.5)
    floor.rotation_euler = (math.pi / 2, 0.0, 0.0)
    floor.scale = (size, 1.0, size)
    floor.color = FLOOR_COLOR
    backdrop = objects.tagged(bpy.data.objects.new("nnviz · backdrop", surface))
    backdrop.location = (centre_x, y1 + 0.35 * (x1 - x0), z0 - 1.5 + size / 2)
    backdrop.scale = (size, 1.0, size)
    backdrop.color = BACKDROP_COLOR
    for obj in (floor, backdrop):
        root.objects.link(obj)

    for obj in root.objects:  # the diagram's sun, for anything a user adds
        if obj.type == "LIGHT":
            bpy.data.objects.remove(obj)
    for name, energy, rotation in (("key", 3.2, (50, 0, -35)), ("fill", 1.0, (65, 0, 50)), ("rim", 1.6, (-55, 0, 170))):
        light = objects.tagged(bpy.data.lights.new(f"nnviz · {name} light", type="SUN"))
        light.energy = energy
        light.angle = math.radians(12)  # soft contact shadows
        sun = objects.tagged(bpy.data.objects.new(f"nnviz · {name} light", light))
        sun.rotation_euler = tuple(math.radians(a) for a in rotation)
        root.objects.link(sun)

    world = scene.world
    world.color = WORLD_COLOR
    background = world.node_tree.nodes.get("Background")
    if background is not None:
        background.inputs["Color"].default_value = (*WORLD_COLOR, 1.0)
        background.inputs["Strength"].default_value = 1.0

    shading = scene.display.shading
    shading.light = "STUDIO"
    if instanced.tensor_objects(root):  # Workbench shows attributes (stage.set_up): carry the floor's colour into one
        instanced.carry_object_colors([floor, backdrop])
    # Workbench's shadows are stencil volumes, and on a CPU (llvmpipe) every caster costs: with all
    # objects casting, a spiral frame took 5x the diagram's, the task view's points and the HUD
    # (whose volumes streak across the frame) most of it, then the neurons (a sphere has 46x a cube's
    # edges to extrude). Only the weight blocks cast (README's Speed has the frame times), and of a big
    # network only its smaller tensors': the objects writer's cubes, and the instanced writer's tensor
    # objects (not its neuron columns or feature maps).
    shading.show_shadows = True
    scene.display.light_direction = SHADOW_DIRECTION
    for obj in root.all_objects:
        obj.display.show_shadows = (obj.get("nnviz_param") or obj.get(instanced.TENSOR_PROPERTY)) in casters
    shading.show_cavity = True
    # Screen-space cavity only: the world-space kind (ambient occlusion) added a fifth of the frame's
    # time and changed its pixels by 0.2% on average.
    shading.cavity_type = "SCREEN"
    shading.show_specular_highlight = True
    eevee = scene.eevee
    if hasattr(eevee, "use_gtao"):  # ambient occlusion (EEVEE Next keeps the switch for its horizon scan)
        eevee.use_gtao = True
    if hasattr(eevee, "use_shadows"):
        eevee.use_shadows = True
    # The view transform stays the diagram's 'Standard': AgX would wash out the colour map.
    bloom.add(scene)


def _key_camera(scene: bpy.types.Scene, lens: film_plan.Lens, shots: Sequence[film_plan.Shot]) -> None:
    """The perspective camera, keyed at every frame of the scene along ``shots``."""
    camera = scene.camera
    data = camera.data
    data.type = "PERSP"
    data.lens = film_plan.LENS_MM
    data.sensor_width = film_plan.SENSOR_MM
    data.sensor_fit = "AUTO"
    data.shift_y = lens.shift_y
    data.clip_start = 0.1
    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    locations, rotations = film_plan.camera_keys(shots, len(frames), lens)
    data.clip_end = 4 * float(np.max(np.linalg.norm(locations, axis=1))) + 100.0
    camera.location = locations[0].tolist()
    camera.rotation_euler = rotations[0].tolist()
    if len(frames) > 1:
        action = keyframes.new_actions(["nnviz · camera path"])[0]
        channels = [("location", i) for i in range(3)] + [("rotation_euler", i) for i in range(3)]
        keyframes.write_curves(camera, action, channels, frames, np.concatenate([locations, rotations], axis=1).T,
                               group="camera")


# World picture plane (x, y, z) → camera-local HUD plane (x, z, -y): the text faces the lens.
_PLANE_TO_HUD = Matrix(((1, 0, 0, 0), (0, 0, 1, 0), (0, -1, 0, 0), (0, 0, 0, 1)))


def _move_to_hud(camera: bpy.types.Object, lens: film_plan.Lens, overlay_box: Bounds, layout: Layout) -> None:
    """Parent the title and counter (left) and the legends (right) to the camera, in the HUD band."""
    groups: dict[str, tuple[list[bpy.types.Object], Bounds | None]] = {
        "overlay": ([bpy.data.objects[n] for n in (overlay.TITLE_NAME, overlay.COUNTER_NAME) if n in bpy.data.objects],
                    overlay_box),
        "legend": (list(bpy.data.collections["nnviz · legend"].objects)
                   if "nnviz · legend" in bpy.data.collections else [], layout.legend_bounds),
    }
    for name, (members, box) in groups.items():
        if not members or box is None:
            continue
        place = film_plan.hud_placement(box, lens, HUD_SIDES[name])
        (ax, az), (ox, oy) = place.anchor, place.offset
        to_hud = (Matrix.Translation((ox, oy, -film_plan.HUD_DISTANCE)) @ Matrix.Scale(place.scale, 4)
                  @ _PLANE_TO_HUD @ Matrix.Translation((-ax, 0.0, -az)))
        for obj in members:
            picture = obj.matrix_basis.copy()
            obj.parent = camera
            obj.matrix_parent_inverse = Matrix.Identity(4)
            obj.matrix_basis = to_hud @ picture
            obj["nnviz_hud"] = name
