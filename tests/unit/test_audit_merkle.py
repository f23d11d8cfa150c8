"""The journal's Merkle tree: roots match the RFC's definition, proofs verify, and tampering shows.

The published RFC 6962 / RFC 9162 test vectors come from transparency-dev/merkle (Apache-2.0), copied
unchanged into ``tests/unit/data/rfc9162_vectors.json`` with their source, commit and licence: the leaf
inputs and the root of every size of ``testonly/constants.go``, and every inclusion and consistency probe
of ``testdata/`` (the happy paths and the tampered ones, each with the verdict it must get).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from shared import merkle

VECTORS = json.loads((Path(__file__).parent / "data" / "rfc9162_vectors.json").read_text(encoding="utf-8"))


def _raw(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


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
        for first in range(1, second + 1):
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


def test_a_proof_from_the_empty_tree_proves_nothing_and_is_refused():
    tree = merkle.MemoryTree(leaves(5))
    assert merkle.consistency_proof(0, 5, tree.read) == []
    assert not merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, tree.root(), [])


def test_the_roots_of_the_published_vectors_for_every_size():
    inputs = [bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"]]
    tree = merkle.MemoryTree(inputs)
    assert [tree.root(size).hex() for size in range(len(inputs) + 1)] == VECTORS["root_hashes_hex"]
    assert [merkle.reference_root(inputs[:n]).hex() for n in range(len(inputs) + 1)] == VECTORS["root_hashes_hex"]


@pytest.mark.parametrize("probe", VECTORS["inclusion"], ids=lambda p: p["file"].split("testdata/")[1])
def test_the_published_inclusion_probes_get_their_verdicts(probe):
    verdict = merkle.verify_inclusion(_raw(probe["leafHash"]), probe["leafIdx"], probe["treeSize"],
                                      [_raw(p) for p in probe["proof"] or []], _raw(probe["root"]))
    assert verdict is not probe["wantErr"], probe["desc"]


@pytest.mark.parametrize("probe", VECTORS["consistency"], ids=lambda p: p["file"].split("testdata/")[1])
def test_the_published_consistency_probes_get_their_verdicts(probe):
    verdict = merkle.verify_consistency(probe["size1"], probe["size2"], _raw(probe["root1"]), _raw(probe["root2"]),
                                        [_raw(p) for p in probe["proof"] or []])
    assert verdict is not probe["wantErr"], probe["desc"]


def test_our_proofs_equal_the_published_happy_paths():
    """Not only do their proofs verify with our code: our tree produces the very same proofs."""
    tree = merkle.MemoryTree(bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"])
    happy = [p for p in VECTORS["inclusion"] if p["desc"] == "happy path" and p["treeSize"] <= tree.size]
    assert happy
    for probe in happy:
        ours = merkle.inclusion_proof(probe["leafIdx"], probe["treeSize"], tree.read)
        assert ours == [_raw(p) for p in probe["proof"] or []]
    for probe in (p for p in VECTORS["consistency"] if p["desc"] == "happy path" and p["size2"] <= tree.size):
        ours = merkle.consistency_proof(probe["size1"], probe["size2"], tree.read)
        assert ours == [_raw(p) for p in probe["proof"] or []]
