"""The ``tf-roundtrip`` command line's parts: its arguments, its progress display, its printing (``cli.py`` runs them)."""
