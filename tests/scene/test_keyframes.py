import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from nnviz_addon.scene import keyframes  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]


def new_object(name="cube"):
    obj = bpy.data.objects.new(name, None)
    obj["nnviz_value"] = 0.0
    bpy.context.scene.collection.objects.link(obj)
    return obj


def write(obj, curves, name="nnviz · test"):
    """``curves``: (data_path, index) → (frames, values), all at the same frames."""
    action = keyframes.new_actions([name])[0]
    frames = next(iter(curves.values()))[0]
    keyframes.write_curves(obj, action, list(curves), frames, [v for _, v in curves.values()])
    return action


def evaluated(obj):
    return obj.evaluated_get(bpy.context.evaluated_depsgraph_get())


def test_curves_play_back_the_values_linearly():
    obj = new_object()
    frames = np.array([1, 4, 7, 10])
    red, value = np.array([0.1, 0.9, 0.3, 0.5]), np.array([-1.0, 2.0, 0.5, 0.25])
    curves = {("color", 0): (frames, red), ('["nnviz_value"]', 0): (frames, value)}
    action = write(obj, curves)
    assert action.name == "nnviz · test" and action[keyframes.OWNER_PROPERTY]
    curves = keyframes.fcurves_of(obj)
    assert len(curves) == 2 and all(len(c.keyframe_points) == 4 for c in curves)
    assert {k.interpolation for c in curves for k in c.keyframe_points} == {"LINEAR"}
    assert curves[0].group.name == "nnviz"
    scene = bpy.context.scene
    for frame, r, v in zip(frames, red, value, strict=True):
        scene.frame_set(int(frame))
        assert evaluated(obj).color[0] == pytest.approx(r, abs=1e-6)
        assert evaluated(obj)["nnviz_value"] == pytest.approx(v, abs=1e-6)
    scene.frame_set(5)  # a third of the way from record 1 to record 2
    assert evaluated(obj)["nnviz_value"] == pytest.approx(2.0 + (0.5 - 2.0) / 3, abs=1e-5)


def test_curves_written_after_evaluation_are_used():
    obj = new_object()
    bpy.context.scene.frame_set(1)
    bpy.context.evaluated_depsgraph_get()
    write(obj, {("color", 1): (np.array([1, 2]), np.array([0.25, 0.75]))})
    bpy.context.scene.frame_set(2)
    assert evaluated(obj).color[1] == pytest.approx(0.75)


def test_rewriting_replaces_the_old_action():
    obj = new_object()
    for name in ("nnviz · first", "nnviz · second"):
        write(obj, {("color", 0): (np.array([1]), np.array([0.5]))}, name)
    assert [a.name for a in bpy.data.actions] == ["nnviz · second"]


def test_removal_spares_actions_nnviz_did_not_make():
    ours, theirs = new_object("ours"), new_object("theirs")
    write(ours, {("color", 0): (np.array([1]), np.array([0.5]))})
    theirs.keyframe_insert("location", frame=1)
    user_action = theirs.animation_data.action
    keyframes.remove_animation([ours])
    keyframes.remove_owned_actions()
    assert list(bpy.data.actions) == [user_action] and ours.animation_data is None


def test_constant_curves_hold_each_value_until_the_next_key():
    obj = new_object()
    action = keyframes.new_actions(["nnviz · counter"])[0]
    keyframes.write_curves(obj, action, [('["nnviz_value"]', 0)], np.array([1, 5, 9]), np.array([[0.0, 10.0, 20.0]]),
                           interpolation="CONSTANT")
    scene = bpy.context.scene
    for frame, expected in ((1, 0.0), (4, 0.0), (5, 10.0), (8, 10.0), (9, 20.0), (12, 20.0)):
        scene.frame_set(frame)
        assert evaluated(obj)["nnviz_value"] == expected
    with pytest.raises(ValueError, match=r"one of \('LINEAR', 'CONSTANT', 'SMOOTH'\), got 'BEZIER'"):
        keyframes.write_curves(obj, action, [("color", 0)], np.arange(2), np.zeros((1, 2)), interpolation="BEZIER")


def test_frames_and_values_must_match():
    action = keyframes.new_actions(["nnviz · bad"])[0]
    with pytest.raises(ValueError, match=r"must have shape \(1, 3\), got \(1, 2\)"):
        keyframes.write_curves(new_object(), action, [("color", 0)], np.arange(3), np.zeros((1, 2)))


def test_curves_need_no_update_to_evaluate_exactly():
    # write_curves skips fcurve.update() (sort + handles): the keys must evaluate, at keys, between
    # them and beyond both ends, exactly as they do once update() has run.
    obj = new_object()
    frames = 1 + 3 * np.arange(50)
    values = np.random.default_rng(0).normal(size=50).cumsum()
    write(obj, {('["nnviz_value"]', 0): (frames, values)})
    (curve,) = keyframes.fcurves_of(obj)
    times = np.linspace(frames[0] - 5, frames[-1] + 5, 997)
    before = [curve.evaluate(t) for t in times]
    span = tuple(curve.range())
    curve.update()
    assert [curve.evaluate(t) for t in times] == before
    assert tuple(curve.range()) == span == (1.0, float(frames[-1]))
    np.testing.assert_allclose(before[::83], np.interp(times[::83], frames, values), atol=1e-5)


def test_fcurves_of_an_unanimated_object_is_empty():
    assert list(keyframes.fcurves_of(new_object())) == []
