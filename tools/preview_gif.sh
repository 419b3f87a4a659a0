#!/usr/bin/env bash
# The README's animated previews: render a preset small, then turn the MP4 into a GIF. Needs ffmpeg
# (`apt-get install -y ffmpeg`), which nnviz itself does not: Blender writes the MP4.
#   bash tools/preview_gif.sh [preset] [output.gif] [diagram|film]
# The diagram plays at 12 fps, 720 px wide; the film (Workbench, its shadows and cavity) is drawn at
# 480x270 and played twice as fast, so a whole run's camera path fits a few seconds and ~2 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-spiral}
style=${3:-diagram}
case $style in
  diagram) gif=${2:-docs/$preset.gif}; look=(--resolution 960x540); filters="fps=12,scale=720:-1:flags=lanczos" ;;
  film) gif=${2:-docs/film_$preset.gif}; look=(--resolution 480x270 --style film --engine workbench)
        filters="setpts=0.5*PTS,fps=12" ;;
  *) echo "style $style: choose diagram or film" >&2; exit 2 ;;
esac
movie=$(mktemp --suffix=.mp4)
palette=$(mktemp --suffix=.png)
trap 'rm -f "$movie" "$palette"' EXIT
.venv/bin/python train.py --preset "$preset" "${look[@]}" --out "$movie"
ffmpeg -loglevel error -y -i "$movie" -vf "$filters,palettegen=max_colors=128" "$palette"
ffmpeg -loglevel error -y -i "$movie" -i "$palette" -lavfi "$filters [x]; [x][1:v] paletteuse=dither=bayer:bayer_scale=5" "$gif"
echo "wrote $gif ($(du -h "$gif" | cut -f1))"
