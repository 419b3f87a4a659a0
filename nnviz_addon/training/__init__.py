"""A run that makes a History: ``run`` trains a preset with the engine, ``probes`` records what the
network does at each record, ``record`` records a real PyTorch run into the same History."""
