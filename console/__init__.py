"""boop-console: a terminal control console for a BOOP Network cutover."""

__version__ = "0.1.0"
