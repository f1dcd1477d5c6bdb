"""The clean process: a fresh interpreter that sees installed packages only, and its worker."""
