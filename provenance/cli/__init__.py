"""The ``provenance`` command: argument parsing and printing over the library."""

from provenance.cli.main import main

__all__ = ["main"]
