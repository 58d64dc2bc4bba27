"""Merkle trees over ledger record hashes, as RFC 6962 / RFC 9162 (Certificate Transparency).

One time-stamp covers a whole batch: the TSA signs the tree's root, and each record keeps
the short inclusion proof (``log2 n`` hashes) that links its hash to that root.

* leaf hash  ``SHA-256(0x00 || leaf)`` where ``leaf`` is a record hash (32 raw bytes)
* node hash  ``SHA-256(0x01 || left || right)``
* a tree of ``n`` leaves splits at ``k``, the largest power of two below ``n``.

The distinct prefixes keep a leaf from ever passing for a node (second pre-image attacks).
The root is the SHA-256 of a short byte string, :func:`root_preimage`: the bundle ships it
so ``openssl ts -verify -data`` can check a Merkle stamp without this tool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """A tree over ``leaves``; every subtree hash is computed once, so all proofs are cheap."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        self.leaves = list(leaves)
        self._cache: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self.leaves)

    def _hash(self, lo: int, hi: int) -> bytes:
        key = (lo, hi)
        found = self._cache.get(key)
        if found is None:
            if hi - lo == 1:
                found = leaf_hash(self.leaves[lo])
            else:
                k = _split(hi - lo)
                found = node_hash(self._hash(lo, lo + k), self._hash(lo + k, hi))
            self._cache[key] = found
        return found

    @property
    def root(self) -> bytes:
        return self._hash(0, len(self.leaves))

    def root_preimage(self) -> bytes:
        """The bytes whose SHA-256 is the root (``0x00||leaf`` or ``0x01||left||right``)."""
        n = len(self.leaves)
        if n == 1:
            return LEAF_PREFIX + self.leaves[0]
        k = _split(n)
        return NODE_PREFIX + self._hash(0, k) + self._hash(k, n)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index`` (RFC 6962 section 2.1.1), nearest sibling first."""
        if not 0 <= index < len(self.leaves):
            raise IndexError(f"leaf {index} is not in a tree of {len(self.leaves)}")
        path: list[bytes] = []
        lo, hi = 0, len(self.leaves)
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._hash(lo, lo + k))
                lo = lo + k
        path.reverse()
        return path


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return MerkleTree(leaves).root


def inclusion_steps(leaf: bytes, index: int, size: int, proof: Sequence[bytes]
                    ) -> list[bytes] | None:
    """The byte strings hashed on the way from leaf ``index`` of a ``size``-leaf tree to its
    root, in order (``0x00||leaf``, then each ``0x01||left||right``): the SHA-256 of the last
    is the root. The one proof walk (RFC 9162 section 2.1.3.2), used to verify a proof and
    to write it out step by step in a bundle. None for a malformed proof; never raises."""
    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return None
    steps = [LEAF_PREFIX + leaf]
    fn, sn = index, size - 1
    current = leaf_hash(leaf)
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            steps.append(NODE_PREFIX + sibling + current)
            current = node_hash(sibling, current)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            steps.append(NODE_PREFIX + current + sibling)
            current = node_hash(current, sibling)
        fn >>= 1
        sn >>= 1
    return steps if sn == 0 else None


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True if ``leaf`` is leaf ``index`` of the ``size``-leaf tree with ``root`` (RFC 9162
    section 2.1.3.2). Never raises on malformed input: a bad proof is simply False."""
    steps = inclusion_steps(leaf, index, size, proof)
    return steps is not None and hashlib.sha256(steps[-1]).digest() == root
