#!/usr/bin/env bash
# The README's animated preview: render a preset small, then turn the MP4 into a GIF (needs ffmpeg,
# which nnviz itself does not: Blender writes the MP4).
#   bash tools/preview_gif.sh [preset] [output.gif]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-spiral}
gif=${2:-docs/$preset.gif}
movie=$(mktemp --suffix=.mp4)
palette=$(mktemp --suffix=.png)
trap 'rm -f "$movie" "$palette"' EXIT
.venv/bin/python train.py --preset "$preset" --resolution 960x540 --out "$movie"
filters="fps=12,scale=720:-1:flags=lanczos"
ffmpeg -loglevel error -y -i "$movie" -vf "$filters,palettegen=max_colors=128" "$palette"
ffmpeg -loglevel error -y -i "$movie" -i "$palette" -lavfi "$filters [x]; [x][1:v] paletteuse=dither=bayer:bayer_scale=5" "$gif"
echo "wrote $gif"
