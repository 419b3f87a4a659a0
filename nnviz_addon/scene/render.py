"""Render the keyframed scene to an H.264 MP4, or one frame of it to a PNG; save it as a .blend.

Each file is written under a temporary name beside the target, read back as a viewer would open it
(the video's frame count and size, the picture's size, the .blend's header) and only then moved into
place (:mod:`..atomic`), so the output path holds either the previous good file or the new complete
one — never half a video or half a picture.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bpy

from ..catalog import RENDER_ENGINES
from ..history.atomic import check_blend_header, png_size, write_atomically
from . import bloom, objects, stage

# A callback told ``(frames_done, frames_total)`` after each frame is written.
Progress = Callable[[int, int], None]


def engine_id(engine: str) -> str:
    """Blender's identifier for one of :data:`catalog.RENDER_ENGINES`.

    EEVEE is ``BLENDER_EEVEE_NEXT`` on 4.2–4.5 and ``BLENDER_EEVEE`` again from 5.0; ask the enum
    rather than the version number.
    """
    if engine == "workbench":
        return "BLENDER_WORKBENCH"
    if engine == "cycles":
        return "CYCLES"
    if engine == "eevee":
        offered = {item.identifier for item in bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items}
        return "BLENDER_EEVEE_NEXT" if "BLENDER_EEVEE_NEXT" in offered else "BLENDER_EEVEE"
    raise ValueError(f"render engine {engine!r} is not supported; choose one of {', '.join(RENDER_ENGINES)}")


def configure_render(scene: bpy.types.Scene, render: Any | None) -> None:
    """Set engine, size, frame rate, samples and MP4 output from a ``RenderConfig`` (only the
    MP4 output when ``render`` is None).

    These settings stay on the scene, so a ``.blend`` saved afterwards renders the same video. If
    the aspect ratio changes, an nnviz camera is framed again.
    """
    if render is not None:
        _set_picture(scene, render)
    width, height = output_size(scene)
    if width % 2 or height % 2:
        raise ValueError(f"render resolution {width}x{height}: H.264 needs an even width and height")
    image = scene.render.image_settings
    if hasattr(image, "media_type"):  # 5.0+: FFMPEG is only offered once the media type is video
        image.media_type = "VIDEO"
    image.file_format = "FFMPEG"
    ffmpeg = scene.render.ffmpeg
    ffmpeg.format = "MPEG4"
    ffmpeg.codec = "H264"
    ffmpeg.constant_rate_factor = "HIGH"
    ffmpeg.ffmpeg_preset = "GOOD"
    ffmpeg.gopsize = scene.render.fps  # a keyframe a second keeps seeking in players quick
    ffmpeg.audio_codec = "NONE"
    scene.render.use_file_extension = True


def output_size(scene: bpy.types.Scene) -> tuple[int, int]:
    """The size of the pictures Blender writes: the resolution scaled by its percentage."""
    return tuple(round(n * scene.render.resolution_percentage / 100)  # type: ignore[return-value]
                 for n in (scene.render.resolution_x, scene.render.resolution_y))


def _set_picture(scene: bpy.types.Scene, render: Any) -> None:
    width, height = (int(v) for v in render.resolution)
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise ValueError(f"render resolution {width}x{height}: H.264 needs an even width and height, both >= 2")
    engine = engine_id(render.engine)
    if int(render.fps) < 1:
        raise ValueError(f"render fps {render.fps}: must be a positive integer")
    settings = scene.render
    settings.engine = engine
    bloom.follow_engine(scene)
    aspect = stage.frame_aspect(settings)
    settings.resolution_x, settings.resolution_y = width, height
    settings.resolution_percentage = 100
    settings.fps, settings.fps_base = int(render.fps), 1.0
    _set_quality(scene, render)
    if stage.frame_aspect(settings) != aspect and objects.root_collection() is not None and scene.camera is not None:
        stage.frame_camera(scene)


DRAFT_SAMPLES = 4  # Cycles / EEVEE samples of a draft (fewer if the preset asks for fewer)
FINAL_WORKBENCH_AA = "8"  # Workbench's render anti-aliasing samples, Blender's default


def _set_quality(scene: bpy.types.Scene, render: Any) -> None:
    """Anti-aliasing and samples for ``render.quality``: a draft trades smooth edges and noise for
    speed (Workbench FXAA instead of 8 samples: about half the frame time at 1280×720)."""
    draft = render.quality == "draft"
    samples = min(int(render.samples), DRAFT_SAMPLES) if draft else int(render.samples)
    scene.display.render_aa = "FXAA" if draft else FINAL_WORKBENCH_AA
    if draft:
        scene.display.viewport_aa = "FXAA"  # the viewport's own default, kept by a final render
    if render.engine == "cycles":
        scene.cycles.samples = samples
        # nnviz's colours are emission, whose albedo pass is black: a denoiser guided by albedo and
        # normals then sharpens thin text up to 12% past its colour (white for a grey label), so it
        # denoises the colour alone.
        scene.cycles.denoising_input_passes = "RGB"
    elif render.engine == "eevee":
        scene.eevee.taa_render_samples = samples


def check_output(path: str | Path, suffix: str = ".mp4") -> Path:
    """The absolute output path, or a clear error if it can't be written or doesn't end in ``suffix``."""
    path = Path(path).expanduser().absolute()
    if path.suffix.lower() != suffix:
        raise ValueError(f"output {path}: must end in {suffix}")
    if path.is_dir():
        raise ValueError(f"output {path}: is a directory")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise PermissionError(f"output directory {path.parent} is not writable")
    return path


def render_mp4(path: str | Path, render: Any | None = None, *, frame_start: int | None = None,
               frame_end: int | None = None, progress: Progress | None = None) -> Path:
    """Render the current scene's frame range (or ``frame_start``..``frame_end``) to ``path``.

    ``render`` is a ``RenderConfig`` (engine, resolution, fps, samples; None keeps the scene's).
    Returns the final path. ``progress(done, total)`` is called after each frame is written.

    The video is read back (frame count and size) before it replaces ``path``. An exception —
    including one raised by ``progress`` or a KeyboardInterrupt — leaves no partial file behind and
    keeps whatever was at ``path`` before; a failed write is an :class:`~..atomic.OutputError`
    naming ``path``. One raised by ``progress`` takes effect when the render returns: Blender's
    render loop ignores what a handler raises. To stop at the next frame, a signal handler removes
    :func:`..atomic.remove_temporaries` and exits the process, as train.py does.
    """
    path = check_output(path)
    scene = bpy.context.scene
    check_camera(scene)
    start = scene.frame_start if frame_start is None else int(frame_start)
    end = scene.frame_end if frame_end is None else int(frame_end)
    for name, frame in (("frame_start", start), ("frame_end", end)):
        check_frame(scene, frame, name)
    if end < start:
        raise ValueError(f"frame range {start}..{end}: the end comes before the start")
    configure_render(scene, render)

    saved = (scene.frame_start, scene.frame_end, scene.render.filepath)
    total = end - start + 1
    size = output_size(scene)
    written: list[int] = []
    failures: list[BaseException] = []

    # Blender calls handlers itself and swallows what they raise; remember it and re-raise after.
    def on_frame_written(_scene: Any, _depsgraph: Any = None) -> None:
        written.append(_scene.frame_current)
        if progress is not None and not failures:
            try:
                progress(len(written), total)
            except BaseException as error:  # re-raised once the render returns
                failures.append(error)

    def write(partial: Path) -> None:
        scene.render.filepath = str(partial)
        result = bpy.ops.render.render(animation=True, scene=scene.name)
        if failures:
            raise failures[0]
        if "FINISHED" not in result or len(written) != total:
            raise RuntimeError(f"{len(written)} of {total} frames rendered")

    scene.frame_start, scene.frame_end = start, end
    bpy.app.handlers.render_write.append(on_frame_written)
    try:
        write_atomically(path, write, check=lambda partial: check_video(partial, total, size))
        scene.render.filepath = str(path)  # a .blend saved now renders straight to the same video
    except BaseException:
        scene.render.filepath = saved[2]
        raise
    finally:
        # A handler left registered makes bpy 4.5 hang at interpreter exit.
        bpy.app.handlers.render_write.remove(on_frame_written)
        scene.frame_start, scene.frame_end = saved[0], saved[1]
    return path


def render_png(path: str | Path, render: Any | None = None, *, frame: int | None = None) -> Path:
    """Render one frame of the current scene (default: its last; a frame outside the scene's range
    is a ValueError) to the PNG ``path``; returns it.

    ``render`` is a ``RenderConfig`` as for :func:`render_mp4` (None keeps the scene's settings).
    The scene keeps its MP4 output, output path and current frame, so a ``.blend`` saved afterwards
    still renders the video. On any error no partial file is left and an existing file is kept.
    """
    path = check_output(path, ".png")
    scene = bpy.context.scene
    check_camera(scene)
    if frame is not None:
        check_frame(scene, frame)
    if render is not None:
        _set_picture(scene, render)
    image, ffmpeg = scene.render.image_settings, scene.render.ffmpeg
    # Switching the format back to FFMPEG resets the container, quality and keyframe interval on
    # 4.2, so every output setting is put back, not only the format.
    saved_settings = [(image, _settings_of(image)), (ffmpeg, _settings_of(ffmpeg))]
    saved_frame, saved_path = scene.frame_current, scene.render.filepath
    size = output_size(scene)

    def write(partial: Path) -> None:
        scene.render.filepath = str(partial)
        if "FINISHED" not in bpy.ops.render.render(write_still=True, scene=scene.name):
            raise RuntimeError("Blender did not finish the render")

    def check(partial: Path) -> None:
        if png_size(partial) != size:
            raise ValueError(f"the picture is {png_size(partial)}, not {size}")

    try:
        if hasattr(image, "media_type"):  # 5.0+: PNG is only offered once the media type is an image
            image.media_type = "IMAGE"
        image.file_format, image.color_mode = "PNG", "RGB"
        scene.frame_set(scene.frame_end if frame is None else int(frame))
        write_atomically(path, write, check)
    finally:
        for struct, settings in saved_settings:
            _restore_settings(struct, settings)
        scene.render.filepath = saved_path
        scene.frame_set(saved_frame)
    return path


def check_video(path: Path, frames: int, size: tuple[int, int]) -> None:
    """A ValueError unless the MP4 at ``path`` reads back with ``frames`` frames of ``size``
    (a video cut short by a full disk has no index and reads as fewer frames, or none)."""
    try:
        clip = bpy.data.movieclips.load(str(path))
    except RuntimeError as error:
        raise ValueError(f"the video does not open ({error})") from None
    try:
        found = (clip.frame_duration, tuple(clip.size))
    finally:
        bpy.data.movieclips.remove(clip)
    if found != (frames, tuple(size)):
        raise ValueError(f"the video reads back as {found[0]} frames of {found[1][0]}x{found[1][1]}, "
                         f"not {frames} of {size[0]}x{size[1]}")


def save_blend(path: str | Path) -> Path:
    """Save the open file as a copy at ``path`` (the session keeps its own file name), atomically:
    the earlier file is kept unless the new one is complete and its header reads."""
    def write(partial: Path) -> None:
        bpy.ops.wm.save_as_mainfile(filepath=str(partial), check_existing=False, copy=True)

    return write_atomically(Path(path).absolute(), write, check=check_blend_header)


def check_frame(scene: bpy.types.Scene, frame: int, name: str = "frame") -> None:
    """A clear error unless ``frame`` (the argument ``name``) lies in the scene's frame range."""
    if not scene.frame_start <= int(frame) <= scene.frame_end:
        raise ValueError(f"{name} {frame} is outside the scene's frames {scene.frame_start}..{scene.frame_end}")


def check_camera(scene: bpy.types.Scene) -> None:
    """One line, rather than Blender's two-line "Cannot render, no camera", for a scene nothing
    was built in."""
    if scene.camera is None:
        raise ValueError(f"scene {scene.name!r} has no camera to render from: build a run first (Build, Train or "
                         "Import History in the panel, or api.animate)")


def _settings_of(struct: Any) -> dict[str, Any]:
    """The writable plain values of a Blender struct, in its definition order (which puts
    ``media_type`` before ``file_format`` before the settings whose choices depend on them)."""
    return {prop.identifier: getattr(struct, prop.identifier) for prop in struct.bl_rna.properties
            if not prop.is_readonly and prop.type in {"BOOLEAN", "INT", "FLOAT", "ENUM"}
            and not getattr(prop, "array_length", 0)}  # an array would be a live view, not a copy


def _restore_settings(struct: Any, settings: dict[str, Any]) -> None:
    # Only the changed ones: setting a format again can reset the settings that follow it.
    for name, value in settings.items():
        if getattr(struct, name) != value:
            setattr(struct, name, value)
