"""The files a command writes outside the store: ``--report``, ``--annotate``, ``--out``.

Defined once, so each such option means the same in every command. Every target is checked
(:func:`provenance.store.atomic.check_target`) before any work is done, so a typo or a refused
path costs nothing, and checked again when the file is moved into place. ``--force`` is
the one way to replace an existing file, and only a regular one; even with it, a command
never writes over its own input (the screenshot it reads) or into the evidence store.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from provenance.errors import OutputError
from provenance.store.atomic import check_target
from provenance.store.filestore import resolve_store_path


def check_targets(args: argparse.Namespace, *targets: str | None,
                  inputs: Sequence[str] = ()) -> None:
    """Refuse, before anything is read or recorded, a target that could not be written."""
    store = os.path.realpath(resolve_store_path(args.store))
    seen: dict[str, str] = {}
    for target in targets:
        if target is None:
            continue
        path = check_target(target, force=args.force)
        real = os.path.realpath(path)
        if real in seen:
            raise OutputError(f"{seen[real]} and {target} name the same file")
        seen[real] = target
        if os.path.commonpath([store, real]) == store:
            raise OutputError(f"refusing to write {target}: it is inside the evidence store "
                              f"{store}")
        for source in inputs:
            if os.path.exists(path) and os.path.exists(source) and os.path.samefile(source, path):
                raise OutputError(f"refusing to write {target}: it is the input {source}")
