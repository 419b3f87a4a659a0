"""Registration, the scene settings and their round trip through presets, the panel."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")


import nnviz_addon  # noqa: E402
from nnviz_addon.preset.config import PresetError, find_presets, load_preset  # noqa: E402
from nnviz_addon.ui import CLASSES, operators, props  # noqa: E402
from nnviz_addon.ui.session import SESSION  # noqa: E402

pytestmark = pytest.mark.bpy


def registered_names() -> set[str]:
    return {cls.__name__ for cls in CLASSES if cls.is_registered}


def test_register_and_unregister_twice_leave_nothing_behind(empty_blend):
    handlers_before = len(bpy.app.handlers.load_pre)
    for _ in range(2):
        nnviz_addon.register()
        try:
            assert registered_names() == {cls.__name__ for cls in CLASSES}
            assert bpy.context.scene.nnviz.layers == "3, 3"
            # a live timer, as the modal Train holds one
            SESSION.add_timer(bpy.context.window_manager, bpy.context.window)
        finally:
            nnviz_addon.unregister()
        assert registered_names() == set()
        assert not hasattr(bpy.types.Scene, "nnviz")
        assert SESSION.timer is None and SESSION.run is None
        assert len(bpy.app.handlers.load_pre) == handlers_before


def test_a_failed_register_rolls_back_what_it_registered(empty_blend):
    last = operators.CLASSES[-1]  # an operator: registers alone, unlike a sub-panel
    bpy.utils.register_class(last)  # taken already, so nnviz's own register fails on it
    try:
        with pytest.raises(ValueError, match="already registered"):
            nnviz_addon.register()
        assert registered_names() == {last.__name__}
    finally:
        bpy.utils.unregister_class(last)
    nnviz_addon.register()  # and the next enable works
    nnviz_addon.unregister()
    assert registered_names() == set()


@pytest.mark.parametrize("name", sorted(find_presets()))
def test_every_shipped_preset_round_trips_through_the_settings(settings, name):
    preset = load_preset(find_presets()[name])
    props.apply_preset(settings, preset)
    assert props.to_preset(settings) == preset


def test_settings_that_do_not_apply_are_left_out(settings):
    props.apply_preset(settings, load_preset(find_presets()["xor"]))
    settings.mapping = "grayscale"  # an rgb-only setting, left from an earlier preset
    settings.optimizer, settings.momentum = "adam", 0.9  # Adam has no momentum setting
    data = props.to_preset_dict(settings)
    assert "mapping" not in data["data"] and "momentum" not in data["train"]
    assert props.to_preset(settings).train.optimizer == "adam"


def test_a_layer_table_preset_shows_its_layers_read_only_and_trains(settings):
    props.apply_preset(settings, load_preset(find_presets()["digits_cnn"]))
    assert props.describe_table(props.layer_tables(settings)[0]) == "conv2d out=8 kernel=3 padding=1"
    assert not any(props.applies(settings, name) for name in props.SIZES_ONLY)
    settings.steps, settings.lr = 3, 0.02  # the other settings still edit the run
    assert bpy.ops.nnviz.step() == {'FINISHED'}
    assert SESSION.run.step == 1 and SESSION.run.preset.train.lr == 0.02
    assert any(obj.get("nnviz_param") == "0.weight" for obj in bpy.data.objects)  # the kernels are drawn
    props.apply_preset(settings, load_preset(find_presets()["xor"]))  # back to sizes: the tables go
    assert settings.layer_tables == "" and props.to_preset(settings).model.layers == (2, 4, 1)


def test_layer_sizes_accept_commas_and_spaces(settings):
    assert props.parse_layers(" 2, 16 16;1 ") == [2, 16, 16, 1]
    with pytest.raises(PresetError, match=r"model\.layers"):
        props.parse_layers("2, 1.5, 1")


def test_errors_are_prefixed_with_the_setting_label(settings):
    props.apply_preset(settings, load_preset(find_presets()["xor"]))
    settings.lr = 0.0
    with pytest.raises(PresetError) as error:
        props.to_preset(settings)
    assert str(error.value).startswith("Learning rate: train.lr must be in (0,")


def test_panel_lives_in_the_sidebar_tab(settings):
    main = bpy.types.NNVIZ_PT_main
    assert (main.bl_space_type, main.bl_region_type, main.bl_category) == ('VIEW_3D', 'UI', "nnviz")
    children = [cls for cls in CLASSES if getattr(cls, "bl_parent_id", "") == "NNVIZ_PT_main"]
    shown = {name for cls in children for name in cls.names}
    # Every setting that maps to a preset key has a place in a sub-panel.
    assert {field.prop for field in props.FIELDS} <= shown
