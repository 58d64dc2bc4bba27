"""The files a command writes outside the store: ``--report``, ``--annotate``, ``--out``.

Defined once, so each such option means the same in every command. Every target is checked
(:func:`provenance.atomic.check_target`) before any work is done, so a typo or a refused
path costs nothing, and checked again when the file is moved into place. ``--force`` is
the one way to replace an existing file, and only a regular one.
"""

from __future__ import annotations

import argparse

from provenance.atomic import check_target


def force_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--force", action="store_true",
                     help="replace an existing file named by --report, --annotate or --out "
                     "(a symbolic link, FIFO, device or folder is always refused, and a "
                     "missing folder is never created)")


def check_targets(args: argparse.Namespace, *targets: str | None) -> None:
    """Refuse, before anything is read or recorded, a target that could not be written."""
    for target in targets:
        if target is not None:
            check_target(target, force=args.force)
