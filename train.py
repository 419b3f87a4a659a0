"""Train a preset headless and render the run to MP4 (or animate a saved run).

    python train.py ARGS                     # numpy alone with --no-render; the bpy wheel to render
    blender -b -P train.py -- ARGS           # inside Blender

A thin entry: the command line lives in ``nnviz_addon/cli/`` (``main.py`` says what it does, ``--help``
lists the arguments). Blender runs this file as a script, not as a module, so it puts its own folder
on ``sys.path`` to find the package beside it, wherever it is run from.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nnviz_addon.cli.main import main  # after the path above

if __name__ == "__main__":
    sys.exit(main())
