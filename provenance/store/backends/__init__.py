"""Where a store lives: a folder with its SQLite ledger (the default), or a team store whose
ledger is in PostgreSQL (:mod:`.postgres`) and whose objects are in an S3 bucket
(:mod:`.objects_s3`) or a shared folder.

``--store``/``PROVENANCE_STORE`` names the ledger (a folder, or ``postgresql://…``);
``--objects``/``PROVENANCE_OBJECTS`` names where a team store keeps its objects
(``s3://BUCKET/PREFIX`` or a folder). Both backends offer what the rest of the code uses:
a :class:`~provenance.store.filestore.Store` (put, ``read_object``/``open_object``/
``hash_object``, ``read_verified``) and a :class:`~provenance.store.ledger.Ledger`
(append, query, scan, head). psycopg and boto3 are imported only for a team store
(``pip install 'provenance[team]'``).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from provenance.errors import UsageError
from provenance.store.filestore import STORE_ENV, Store
from provenance.store.ledger import Ledger

OBJECTS_ENV = "PROVENANCE_OBJECTS"
_EXTRA = {"psycopg", "psycopg_binary", "boto3", "botocore"}  # the ``team`` extra
TEAM_SCHEMES = ("postgresql://", "postgres://")


def _optional(module: str, needs: str) -> ModuleType:
    """A backend module, loaded only when a team store is opened: psycopg and boto3 are an
    optional extra and take a quarter of a second each to import, which no folder-store
    command should pay."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:  # only the extra's own packages: a bug stays a bug
        if (exc.name or "").split(".")[0] not in _EXTRA:
            raise
        raise UsageError(f"{needs}: pip install 'provenance[team]'") from None


load_team_module = _optional
"""A module that needs the ``team`` extra (the watch queue of ``worker`` and ``watch
--team``), imported when a team command runs, or one line saying what to install."""


class StoreLocation(str):
    """A ``--store`` value with the ``--objects`` given beside it (a plain ``str`` for every
    caller that only needs the store)."""

    objects: str | None

    def __new__(cls, store: str, objects: str | None) -> StoreLocation:
        made = super().__new__(cls, store)
        made.objects = objects
        return made


def with_objects(store: str | None, objects: str | None) -> str | None:
    """``--store`` carrying ``--objects`` (as given on the command line) to :func:`open_team`."""
    if objects is None:
        return store
    return StoreLocation(store if store is not None else os.environ.get(STORE_ENV, ""), objects)


def team_location(path: object) -> str | None:
    """The PostgreSQL URL if ``path`` (or, for None, ``$PROVENANCE_STORE``) names one."""
    value = os.environ.get(STORE_ENV) if path is None else os.fspath(path)  # type: ignore[call-overload]
    if isinstance(value, str) and value.lower().startswith(TEAM_SCHEMES):
        return value
    return None


def objects_location(path: object) -> str | None:
    """``--objects`` if given with ``path``, else ``$PROVENANCE_OBJECTS``."""
    given = getattr(path, "objects", None)
    return given if given else (os.environ.get(OBJECTS_ENV) or None)


def open_team(url: str, objects: str | None, *, write: bool,
              create: bool = True) -> tuple[Store, Ledger]:
    """The team store whose ledger is at ``url`` and whose objects are at ``objects``; only
    ``create`` (and ``write``) makes the tables in a database that has none."""
    if not objects:
        raise UsageError("a team store needs its objects too: give --objects s3://BUCKET/PREFIX "
                         f"(or a shared folder), or set {OBJECTS_ENV}")
    ledgers = _optional("provenance.store.backends.postgres", "a team store needs psycopg")
    store: Store
    if objects.lower().startswith("s3://"):
        buckets = _optional("provenance.store.backends.objects_s3", "objects on S3 need boto3")
        store = buckets.S3Store(objects, writable=write)
    else:
        store = Store(objects, create=write, writable=write)
    try:
        return store, ledgers.PostgresLedger(url, store, writable=write, create=create)
    except BaseException:
        store.close()
        raise
