"""The journal's Merkle tree: roots match the RFC's definition, proofs verify, and tampering shows."""

from __future__ import annotations

import pytest

from shared import merkle


def leaves(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33])
def test_the_stored_tree_root_equals_the_rfc_definition(size):
    assert merkle.MemoryTree(leaves(size)).root() == merkle.reference_root(leaves(size))


def test_every_prefix_root_can_be_read_back_from_the_grown_tree():
    tree = merkle.MemoryTree(leaves(40))
    for size in range(41):
        assert tree.root(size) == merkle.reference_root(leaves(size))


def test_an_inclusion_proof_verifies_for_every_leaf_of_every_size():
    tree = merkle.MemoryTree(leaves(21))
    for size in range(1, 22):
        expected = tree.root(size)
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, tree.read)
            leaf = merkle.leaf_hash(leaves(21)[index])
            assert merkle.verify_inclusion(leaf, index, size, proof, expected)


def test_an_inclusion_proof_fails_for_a_changed_leaf_a_wrong_index_or_a_wrong_root():
    tree = merkle.MemoryTree(leaves(13))
    proof = merkle.inclusion_proof(5, 13, tree.read)
    good = merkle.leaf_hash(b"event 5")
    assert merkle.verify_inclusion(good, 5, 13, proof, tree.root())
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"event 5, edited"), 5, 13, proof, tree.root())
    assert not merkle.verify_inclusion(good, 4, 13, proof, tree.root())
    assert not merkle.verify_inclusion(good, 5, 13, proof, tree.root(12))
    assert not merkle.verify_inclusion(good, 5, 13, proof[:-1], tree.root())
    assert not merkle.verify_inclusion(good, 13, 13, proof, tree.root())


def test_a_consistency_proof_verifies_between_every_pair_of_sizes():
    tree = merkle.MemoryTree(leaves(19))
    for second in range(1, 20):
        for first in range(0, second + 1):
            proof = merkle.consistency_proof(first, second, tree.read)
            assert merkle.verify_consistency(first, second, tree.root(first), tree.root(second), proof), (first, second)


def test_a_rewritten_history_is_not_consistent_with_the_head_signed_before():
    honest = merkle.MemoryTree(leaves(10))
    signed_size, signed_root = 6, honest.root(6)
    rewritten = leaves(10)
    rewritten[3] = b"event 3, quietly changed"
    forged = merkle.MemoryTree(rewritten)
    proof = merkle.consistency_proof(signed_size, 10, forged.read)
    assert not merkle.verify_consistency(signed_size, 10, signed_root, forged.root(), proof)


def test_leaf_and_node_hashes_are_domain_separated():
    left, right = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.node_hash(left, right) != merkle.leaf_hash(left + right)
    assert merkle.MemoryTree([]).root() == merkle.EMPTY_ROOT
