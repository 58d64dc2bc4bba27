"""A team store's objects in S3-compatible storage (AWS S3, MinIO, R2, B2), with boto3.

Records name their files exactly as in a folder store (``objects/ab/<sha256>.warc.gz``), so
records, bundles and ``check`` are the same for both; in the bucket every object is the key
``PREFIX/sha256/<hex>`` (the suffix says nothing the bytes do not).

* Writing is ``PUT`` with ``If-None-Match: *``: a 412 answer means an object with that
  name, so those bytes, is there already. The request carries the SHA-256 as
  ``x-amz-checksum-sha256``, which a server that checks it uses to refuse bytes damaged
  on the way.
* Reading re-hashes every byte and refuses an object whose hash is not its name, since
  some S3-compatible servers ignore checksums and conditional writes, and a bucket can be
  written by anyone with its keys. ``check`` streams each object through SHA-256.

Uploads are spooled through a local scratch folder (the hash, so the key, is known only at
the end of a stream), which is removed when the store is closed. The endpoint and keys come
from boto3's standard settings: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` (and ``AWS_DEFAULT_REGION``, ``us-east-1`` if unset).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions

from provenance.errors import StoreError, UsageError
from provenance.store.filestore import HeadCopy, ObjectMissing, Store, StoredFile
from provenance.store.hashing import CHUNK_SIZE, canonical_json, is_sha256_hex, sha256_bytes

S3_SCHEME = "s3://"
SPOOL_IN_MEMORY = 8 << 20  # objects larger than this are read into the scratch folder
_OBJECT_NAME = re.compile(r"objects/([0-9a-f]{2})/([0-9a-f]{64})([A-Za-z0-9._-]{0,32})")
_MISSING = {"404", "NoSuchKey", "NotFound"}


def is_s3_location(location: object) -> bool:
    return isinstance(location, str) and location.lower().startswith(S3_SCHEME)


def parse_s3(location: str) -> tuple[str, str]:
    """``s3://BUCKET/PREFIX`` as (bucket, key prefix ending in ``/`` or empty)."""
    parts = urlsplit(location)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if parts.scheme.lower() != "s3" or not bucket or parts.query or parts.fragment:
        raise UsageError(f"not an S3 location: {location!r} (give s3://BUCKET/PREFIX)")
    return bucket, f"{prefix}/" if prefix else ""


def new_client() -> Any:
    """An S3 client from the standard environment, with bounded waits."""
    config = botocore.config.Config(connect_timeout=10, read_timeout=60,
                                    retries={"max_attempts": 3, "mode": "standard"})
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    return boto3.session.Session().client("s3", region_name=region, config=config)


class S3Store(Store):
    """The objects of a team store in the bucket ``s3://BUCKET/PREFIX``."""

    def __init__(self, location: str, *, writable: bool = True, client: Any = None) -> None:
        self.bucket, self.prefix = parse_s3(location)
        self._location = f"s3://{self.bucket}/{self.prefix}"
        self.client = client if client is not None else new_client()
        scratch = tempfile.mkdtemp(prefix="provenance-s3-")
        super().__init__(scratch, create=True, writable=True)
        self.writable = writable
        self._reachable()

    @property
    def location(self) -> str:
        return self._location

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def holds_evidence(self) -> bool:
        return False  # the ledger is in the database; a bucket never stands in for it

    def key(self, relative: str) -> str:
        """The bucket key of the stored file a record names."""
        match = _OBJECT_NAME.fullmatch(relative) if isinstance(relative, str) else None
        if match is None or match[1] != match[2][:2]:
            raise StoreError(f"path {relative!r} is not the name of a stored object")
        return f"{self.prefix}sha256/{match[2]}"

    def path(self, relative: str) -> Path:
        raise StoreError(f"{relative} is in {self._location}, not a local file")

    # -- writing -------------------------------------------------------------------------------

    def put_bytes(self, data: bytes, *, role: str, suffix: str = "") -> StoredFile:
        digest = sha256_bytes(data)
        self._put(digest, data)
        return StoredFile(role, self.object_path(digest, suffix), digest, len(data))

    def put_stream(self, stream: BinaryIO, *, role: str, suffix: str = "") -> StoredFile:
        temp_path, digest, size = self._spool(stream)
        try:
            with open(temp_path, "rb") as spooled:
                self._put(digest, spooled)
        finally:
            os.unlink(temp_path)
        return StoredFile(role, self.object_path(digest, suffix), digest, size)

    def _put(self, digest: str, body: bytes | BinaryIO) -> None:
        """``PUT`` unless the object is there (412); the server checks the SHA-256 if it can."""
        if not self.writable:
            raise StoreError(f"store {self._location} is open read-only")
        key = f"{self.prefix}sha256/{digest}"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*",
                                   ChecksumSHA256=base64.b64encode(bytes.fromhex(digest))
                                   .decode("ascii"))
        except botocore.exceptions.ClientError as exc:
            if _status(exc) == 412 or _code(exc) == "PreconditionFailed":
                return  # the same name, so the same bytes, is there already
            raise StoreError(f"cannot write {key} to {self._location}: {_said(exc)}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise StoreError(f"cannot write {key} to {self._location}: {exc}") from None

    # -- reading -------------------------------------------------------------------------------

    def _body(self, relative: str) -> Any:
        key = self.key(relative)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in _MISSING or _status(exc) == 404:
                raise ObjectMissing(f"{relative} is missing from {self._location}") from None
            raise StoreError(f"cannot read {relative} from {self._location}: "
                             f"{_said(exc)}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise StoreError(f"cannot read {relative} from {self._location}: {exc}") from None

    def _stream(self, relative: str, sink: Any, response: Any = None) -> str:
        """Copy the object into ``sink`` (or only hash it: None); its SHA-256 as read."""
        body = (response or self._body(relative))["Body"]
        hasher = hashlib.sha256()
        try:
            for block in iter(lambda: body.read(CHUNK_SIZE), b""):
                hasher.update(block)
                if sink is not None:
                    sink.write(block)
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            raise StoreError(f"cannot read {relative} from {self._location}: {exc}") from None
        finally:
            body.close()
        return hasher.hexdigest()

    def hash_object(self, relative: str) -> str:
        return self._stream(relative, None)

    def open_object(self, relative: str) -> BinaryIO:
        """The object, re-hashed while it is read into a spooled file: an object whose hash
        is not its name is refused, never handed on."""
        response = self._body(relative)
        spool: BinaryIO
        if int(response.get("ContentLength") or 0) <= SPOOL_IN_MEMORY:
            spool = io.BytesIO()
        else:  # a real file (its mode "rb+" tells gzip it is for reading, unlike a spool)
            spool = cast(BinaryIO, tempfile.TemporaryFile(dir=self.tmp))
        try:
            found = self._stream(relative, spool, response)
            self._refuse_altered(relative, found)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def read_object(self, relative: str) -> bytes:
        with self.open_object(relative) as handle:
            return handle.read()

    def read_verified(self, entry: Any, *, limit: int | None = None) -> bytes:
        relative, expected = entry.get("path"), entry.get("sha256")
        if not isinstance(relative, str) or not isinstance(expected, str):
            raise StoreError(f"file entry {dict(entry)!r} names no path and sha256")
        with self.open_object(relative) as handle:  # a large object is spooled to disk
            data = handle.read() if limit is None else handle.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise StoreError(f"{relative} is larger than {limit} bytes")
        if sha256_bytes(data) != expected:
            raise StoreError(f"{relative} was altered (its sha256 is not the record's)")
        return data

    def _refuse_altered(self, relative: str, found: str) -> None:
        if found != self.key(relative).rsplit("/", 1)[1]:
            raise StoreError(f"{relative} was altered in {self._location} "
                             f"(its sha256 is {found}, not its name)")

    # -- copies of the ledger head -----------------------------------------------------------

    def copy_head(self, seq: int, record_hash: str) -> None:
        """Write-once ``PREFIX/heads/<seq>.json``: whoever rewrites the database's chain
        (a superuser) must also hold the bucket's keys to hide it from ``check``."""
        key = f"{self.prefix}heads/{seq:020d}.json"
        body = canonical_json({"seq": seq, "record_hash": record_hash}) + b"\n"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*")
        except botocore.exceptions.ClientError as exc:
            if _status(exc) == 412 or _code(exc) == "PreconditionFailed":
                return  # kept already (check compares it with the ledger)
            raise StoreError(f"cannot write {key} to {self._location}: {_said(exc)}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise StoreError(f"cannot write {key} to {self._location}: {exc}") from None

    def head_copies(self) -> Iterator[HeadCopy]:
        prefix = f"{self.prefix}heads/"
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    yield self._head_copy(item["Key"])
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise StoreError(f"cannot list the head copies in {self._location}: {exc}") from None

    def _head_copy(self, key: str) -> HeadCopy:
        name = key[len(self.prefix):]
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                data = json.loads(body.read(4096))
            finally:
                body.close()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError,
                ValueError):
            return HeadCopy(name, None, None)
        seq = data.get("seq") if isinstance(data, dict) else None
        digest = data.get("record_hash") if isinstance(data, dict) else None
        if type(seq) is not int or not is_sha256_hex(digest):
            return HeadCopy(name, None, None)
        return HeadCopy(name, seq, digest)

    def _reachable(self) -> None:
        """Say now, in one line, if the bucket cannot be used at all."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            self.close()
            raise StoreError(f"cannot use the bucket {self.bucket}: {_said(exc)}") from None
        except botocore.exceptions.BotoCoreError as exc:
            self.close()
            raise StoreError(f"cannot reach the bucket {self.bucket}: {exc}") from None


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: botocore.exceptions.ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _said(exc: botocore.exceptions.ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', _status(exc))}: {error.get('Message', '')}".rstrip(": ")

