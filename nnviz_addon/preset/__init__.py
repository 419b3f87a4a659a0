"""What the user asks for: the catalogue of names, the preset schema and its checks, layer tables and
the limits a run and its scene must keep. Plain data; imports only the datasets and the History."""
