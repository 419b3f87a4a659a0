"""The sidebar panel (View3D ▸ Sidebar ▸ nnviz): actions and progress on top, settings below."""

from __future__ import annotations

import bpy

from ..preset.config import find_presets
from . import props
from .session import SESSION, cube_of


def draw_settings(layout: bpy.types.UILayout, settings: props.NNVIZ_PG_settings,
                  names: tuple[str, ...]) -> None:
    """The named settings, one a row, leaving out those that don't apply to the others' values."""
    layout.use_property_split = True
    layout.use_property_decorate = False
    for name in names:
        if props.applies(settings, name):
            layout.prop(settings, name)


class SidebarPanel:
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "nnviz"


class NNVIZ_PT_main(SidebarPanel, bpy.types.Panel):
    bl_label = "nnviz"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.nnviz

        row = layout.row(align=True)
        row.prop(settings, "preset", text="")
        chosen = find_presets().get(settings.preset)
        load = row.operator("nnviz.load_preset", text="Load", icon='IMPORT')
        load.filepath = str(chosen) if chosen else ""
        row.operator("nnviz.load_preset", text="", icon='FILEBROWSER').filepath = ""

        layout.operator("nnviz.build", icon='MESH_CUBE')
        row = layout.row(align=True)
        if SESSION.training:
            row.operator("nnviz.stop", icon='PAUSE')
        else:
            row.operator("nnviz.train", icon='PLAY')
            row.operator("nnviz.stop", text="", icon='PAUSE')
        row.operator("nnviz.step", icon='FRAME_NEXT')
        row.operator("nnviz.reset", icon='LOOP_BACK')

        run = SESSION.run
        if run is not None:
            layout.progress(factor=run.step / run.total_steps, type='BAR', text=SESSION.status())
        if SESSION.message:
            icon = 'ERROR' if run is not None and run.diverged else 'INFO'
            layout.label(text=SESSION.message, icon=icon)

        cube = cube_of(context.active_object)
        if cube is not None and run is not None and cube[0] in run.model.parameter_arrays():
            # The selected cube's weight, live: typing a value sets it (nnviz.set_weight's job too).
            box = layout.box()
            box.label(text=f"{cube[0]}{list(cube[1])}", icon='MESH_CUBE')
            box.enabled = not SESSION.training
            box.prop(settings, "weight_value")

        row = layout.row(align=True)
        row.operator("nnviz.render", icon='RENDER_ANIMATION')
        row.operator("nnviz.import_history", text="Import History", icon='FILE_TICK')


class SettingsPanel(SidebarPanel):
    """A collapsible group of settings under the main panel."""

    bl_parent_id = "NNVIZ_PT_main"
    bl_options = frozenset({'DEFAULT_CLOSED'})
    names: tuple[str, ...] = ()

    def draw(self, context: bpy.types.Context) -> None:
        draw_settings(self.layout, context.scene.nnviz, self.names)


class NNVIZ_PT_network(SettingsPanel, bpy.types.Panel):
    bl_label = "Network"
    names = ("name", "layers", "activation", "output_activation", "norm", "dropout")

    def draw(self, context: bpy.types.Context) -> None:
        super().draw(context)
        tables = props.layer_tables(context.scene.nnviz)
        if tables:  # read-only: edit the preset file to change a layer-table network
            column = self.layout.column(align=True)
            column.label(text="Layers (from the preset file):")
            for index, table in enumerate(tables):
                column.label(text=f"{index}: {props.describe_table(table)}")


class NNVIZ_PT_data(SettingsPanel, bpy.types.Panel):
    bl_label = "Task"
    names = ("task", "table_path", "table_target", "table_features", "standardize", "samples", "data_seed",
             "noise", "mapping", "test_fraction")


class NNVIZ_PT_training(SettingsPanel, bpy.types.Panel):
    bl_label = "Training"
    names = ("loss", "optimizer", "lr", "lr_schedule", "batch_size", "steps", "record_every", "train_seed",
             "momentum", "weight_decay")


class NNVIZ_PT_display(SettingsPanel, bpy.types.Panel):
    bl_label = "Display"
    names = ("style", "camera_path", "camera_timing", "forward_pass", "forward_pass_every", "forward_pass_share",
             "color_scale", "color_values", "frames_per_record",
             "magnitude", "motion", "cubes")


class NNVIZ_PT_render(SettingsPanel, bpy.types.Panel):
    bl_label = "Render"
    names = ("engine", "quality", "resolution", "fps", "render_samples", "output_path")


CLASSES = (NNVIZ_PT_main, NNVIZ_PT_network, NNVIZ_PT_data, NNVIZ_PT_training, NNVIZ_PT_display,
           NNVIZ_PT_render)
