"""RFC 6962 Merkle trees: roots, inclusion proofs, and proofs that must fail."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from provenance.store.merkle import (
    MerkleTree,
    inclusion_steps,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_inclusion,
)

leaves_st = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70)


def reference_root(leaves):
    """RFC 6962 section 2.1, written as the RFC states it."""
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k])
                          + reference_root(leaves[k:])).digest()


def test_known_shapes():
    a, b, c = (bytes([i]) * 32 for i in range(3))
    assert merkle_root([a]) == leaf_hash(a)
    assert merkle_root([a, b]) == node_hash(leaf_hash(a), leaf_hash(b))
    assert merkle_root([a, b, c]) == node_hash(node_hash(leaf_hash(a), leaf_hash(b)),
                                               leaf_hash(c))


def test_leaf_and_node_prefixes_differ():
    a, b = b"a" * 32, b"b" * 32
    assert leaf_hash(a + b) != node_hash(a, b)


@given(leaves_st)
def test_root_matches_the_rfc(leaves):
    tree = MerkleTree(leaves)
    assert tree.root == reference_root(leaves)
    assert hashlib.sha256(tree.root_preimage()).digest() == tree.root


@given(leaves_st, st.data())
def test_every_proof_verifies(leaves, data):
    tree = MerkleTree(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = tree.inclusion_proof(index)
    assert len(proof) <= max(1, len(leaves) - 1).bit_length()
    assert verify_inclusion(leaves[index], index, len(leaves), proof, tree.root)


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True),
       st.data())
def test_any_change_breaks_the_proof(leaves, data):
    tree = MerkleTree(leaves)
    n = len(leaves)
    index = data.draw(st.integers(0, n - 1))
    proof = tree.inclusion_proof(index)
    leaf = leaves[index]
    other = bytes([leaf[0] ^ 1]) + leaf[1:]
    assert not verify_inclusion(other, index, n, proof, tree.root)
    if n > 1:
        assert not verify_inclusion(leaf, (index + 1) % n, n, proof, tree.root)
        at = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = list(proof)
        bad[at] = bad[at][:bit // 8] + bytes([bad[at][bit // 8] ^ (1 << bit % 8)]) + \
            bad[at][bit // 8 + 1:]
        assert not verify_inclusion(leaf, index, n, bad, tree.root)
        assert not verify_inclusion(leaf, index, n, proof[:-1], tree.root)
        assert not verify_inclusion(leaf, index, n, [*proof, proof[0]], tree.root)
    assert not verify_inclusion(leaf, index, n, proof, bytes(32))


def test_out_of_range():
    tree = MerkleTree([b"x" * 32, b"y" * 32])
    assert not verify_inclusion(b"x" * 32, 2, 2, tree.inclusion_proof(0), tree.root)
    assert not verify_inclusion(b"x" * 32, -1, 2, tree.inclusion_proof(0), tree.root)


def test_a_thousand_leaves_are_quick():
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(1000)]
    tree = MerkleTree(leaves)
    for i in range(1000):
        assert verify_inclusion(leaves[i], i, 1000, tree.inclusion_proof(i), tree.root)


def test_one_walk_gives_the_steps_and_the_verdict():
    """The bundle's step files and verify_inclusion come from the same walk: the last step
    hashes to the root, each step's hash is a half of the next, and a proof for another
    index (or a truncated one) gives no steps at all."""
    leaves = [bytes([i]) * 32 for i in range(7)]
    tree = MerkleTree(leaves)
    for index in range(7):
        proof = tree.inclusion_proof(index)
        steps = inclusion_steps(leaves[index], index, 7, proof)
        assert steps is not None and hashlib.sha256(steps[-1]).digest() == tree.root
        assert steps[0] == b"\x00" + leaves[index]
        for before, after in zip(steps, steps[1:], strict=False):
            assert hashlib.sha256(before).digest() in (after[1:33], after[33:])
        assert verify_inclusion(leaves[index], index, 7, proof, tree.root)
    assert inclusion_steps(leaves[0], 0, 7, tree.inclusion_proof(0)[:-1]) is None
    assert inclusion_steps(leaves[0], 7, 7, []) is None
