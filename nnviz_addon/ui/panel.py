"""The sidebar panel (View3D ▸ Sidebar ▸ nnviz): actions and progress on top, settings below."""

from __future__ import annotations

import bpy

from ..config import find_presets
from . import props
from .session import SESSION


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


class NNVIZ_PT_data(SettingsPanel, bpy.types.Panel):
    bl_label = "Task"
    names = ("task", "samples", "data_seed", "noise", "mapping")


class NNVIZ_PT_training(SettingsPanel, bpy.types.Panel):
    bl_label = "Training"
    names = ("loss", "optimizer", "lr", "batch_size", "steps", "record_every", "train_seed", "momentum",
             "weight_decay")


class NNVIZ_PT_display(SettingsPanel, bpy.types.Panel):
    bl_label = "Display"
    names = ("color_scale", "frames_per_record", "magnitude", "cubes")


class NNVIZ_PT_render(SettingsPanel, bpy.types.Panel):
    bl_label = "Render"
    names = ("engine", "resolution", "fps", "render_samples", "output_path")


CLASSES = (NNVIZ_PT_main, NNVIZ_PT_network, NNVIZ_PT_data, NNVIZ_PT_training, NNVIZ_PT_display,
           NNVIZ_PT_render)
