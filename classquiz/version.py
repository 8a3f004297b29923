"""The server's version, in a module of its own so that any module can read it without
importing `classquiz/__init__.py` (which builds the whole app, and so imports them)."""

__version__ = "0.1.0"
