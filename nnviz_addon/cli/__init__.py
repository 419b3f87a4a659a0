"""The headless command line ``train.py`` runs: its arguments, the run, its console output."""
