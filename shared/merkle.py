"""An append-only Merkle tree (RFC 6962 / RFC 9162 hashing): roots, inclusion and consistency proofs.

Leaves are stored once; every perfect, aligned subtree's hash is stored as a node ``(level, index)``
covering leaves ``[index·2^level, (index+1)·2^level)``. Appending a leaf adds at most log2(n) nodes
and never changes one, so a tree's history can only be extended. Any subtree hash the proofs need is
assembled from O(log n) stored nodes. The verifiers need no store: an auditor runs them on their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

NodeReader = Callable[[int, int], bytes]
"""``read(level, index)`` → the stored hash of that perfect subtree."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def nodes_after_append(index: int, leaf: bytes, read: NodeReader) -> list[tuple[int, int, bytes]]:
    """The nodes to store when leaf ``index`` (0-based, the tree's old size) is appended."""
    nodes = [(0, index, leaf)]
    level, position, current = 0, index, leaf
    while position % 2 == 1:
        current = node_hash(read(level, position - 1), current)
        level, position = level + 1, position // 2
        nodes.append((level, position, current))
    return nodes


def subtree_hash(start: int, end: int, read: NodeReader) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces (``start`` aligned to the range)."""
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return read(level, start >> level)
    k = _split(size)
    return node_hash(subtree_hash(start, start + k, read), subtree_hash(start + k, end, read))


def root(size: int, read: NodeReader) -> bytes:
    return subtree_hash(0, size, read)


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 §2.1.1."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    return _path(index, 0, size, read)


def _path(index: int, start: int, end: int, read: NodeReader) -> list[bytes]:
    size = end - start
    if size == 1:
        return []
    k = _split(size)
    if index < k:
        return _path(index, start, start + k, read) + [subtree_hash(start + k, end, read)]
    return _path(index - k, start + k, end, read) + [subtree_hash(start, start + k, read)]


def consistency_proof(first: int, second: int, read: NodeReader) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 6962 §2.1.2: the tree of size ``second`` extends that of ``first``."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to {second}")
    if first == 0 or first == second:
        return []
    return _subproof(first, 0, second, True, read)


def _subproof(m: int, start: int, end: int, whole: bool, read: NodeReader) -> list[bytes]:
    size = end - start
    if m == size:
        return [] if whole else [subtree_hash(start, end, read)]
    k = _split(size)
    if m <= k:
        return _subproof(m, start, start + k, whole, read) + [subtree_hash(start + k, end, read)]
    return _subproof(m - k, start + k, end, False, read) + [subtree_hash(start, start + k, read)]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Iterable[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` place ``leaf`` at ``index`` in the tree of ``size`` with this root?"""
    proof = list(proof)
    if not 0 <= index < size or not _hashes(leaf, expected_root, *proof):
        return False
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and result == expected_root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (``second``, ``second_root``) an extension of (``first``, ``first_root``)?

    A proof from the empty tree proves nothing, so it is refused, as the published test vectors expect.
    """
    if not 0 < first <= second or not _hashes(*proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_result = second_result = path[0]
    for sibling in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_result = node_hash(sibling, first_result)
            second_result = node_hash(sibling, second_result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second_result = node_hash(second_result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and first_result == first_root and second_result == second_root


def _hashes(*values: bytes) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)


class MemoryTree:
    """A tree held in a dict: for tests and for anyone recomputing a journal's root on their own."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0
        for data in leaves:
            self.append(data)

    def read(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def append(self, data: bytes) -> int:
        """Append a leaf's data; return its index."""
        for level, index, value in nodes_after_append(self.size, leaf_hash(data), self.read):
            self.nodes[(level, index)] = value
        self.size += 1
        return self.size - 1

    def root(self, size: int | None = None) -> bytes:
        return root(self.size if size is None else size, self.read)


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH computed straight from the definition, with no stored nodes (slow; for checking)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _split(len(leaves))
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))
