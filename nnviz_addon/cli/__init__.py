"""``train.py``'s body: the headless command line and its console output."""
