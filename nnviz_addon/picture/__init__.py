"""What a frame shows, as plain numpy data computed once; the scene writers only write it (no bpy)."""
