"""The Merkle proofs of ``domain/tlog.py`` against the reference and against themselves.

First the reference vectors of transparency-dev/merkle (``../shared/vectors/merkle``, beside the
repository): every inclusion and consistency case, accepted when ``wantErr`` is false and refused
with ``ProofError`` when it is true. The ``subtreeinclusion`` / ``subtreeconsistency`` folders
are proofs of arbitrary subtrees ``[start, end)``, a proof type ``tlog.py`` does not have; they are
listed so that a new folder of vectors does not go unnoticed.

Then properties over trees of up to a few hundred leaves, built as the store builds them: the
subtrees each ``Frontier.append`` completes, kept in a dict, and proofs read from it with
``proof_hashes``. Honest proofs verify; a flipped bit, a dropped or an added element, another
index or another size does not.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import tlog

REPOSITORY = Path(__file__).resolve().parents[2]
VECTORS = REPOSITORY.parent / "shared" / "vectors" / "merkle" / "testdata"

# as many files as transparency-dev/merkle 417fb0c has in each folder: a vectors folder moved or
# emptied makes the count test fail instead of parametrizing over nothing
EXPECTED_FILES = {"inclusion": 98, "consistency": 98}
SUBTREE_FOLDERS = {"subtreeinclusion", "subtreeconsistency"}


def vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def vector_id(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def b64(value: str) -> bytes:
    return base64.b64decode(value)


INCLUSION = vector_files("inclusion")
CONSISTENCY = vector_files("consistency")


def test_every_vector_file_present_is_collected() -> None:
    assert VECTORS.is_dir(), f"no vectors at {VECTORS}"
    folders = {p.name for p in VECTORS.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED_FILES) | SUBTREE_FOLDERS
    assert {"inclusion": len(INCLUSION), "consistency": len(CONSISTENCY)} == EXPECTED_FILES
    for kind in EXPECTED_FILES:
        assert [p for p in (VECTORS / kind).rglob("*") if p.is_file()] != []
        assert all(p.suffix == ".json" for p in (VECTORS / kind).rglob("*") if p.is_file())


def test_the_vectors_hold_both_accepted_and_refused_cases() -> None:
    for files in (INCLUSION, CONSISTENCY):
        wanted = {load(p)["wantErr"] for p in files}
        assert wanted == {True, False}


@pytest.mark.parametrize("path", INCLUSION, ids=vector_id)
def test_inclusion_verification_agrees_with_the_reference_vector(path: Path) -> None:
    case = load(path)
    proof = [b64(p) for p in case["proof"] or []]

    def verify() -> None:
        tlog.verify_inclusion(
            case["leafIdx"], case["treeSize"], b64(case["leafHash"]), proof, b64(case["root"])
        )

    if case["wantErr"]:
        with pytest.raises(tlog.ProofError):
            verify()
    else:
        verify()


@pytest.mark.parametrize("path", CONSISTENCY, ids=vector_id)
def test_consistency_verification_agrees_with_the_reference_vector(path: Path) -> None:
    case = load(path)
    proof = [b64(p) for p in case["proof"] or []]

    def verify() -> None:
        tlog.verify_consistency(
            case["size1"], case["size2"], proof, b64(case["root1"]), b64(case["root2"])
        )

    if case["wantErr"]:
        with pytest.raises(tlog.ProofError):
            verify()
    else:
        verify()


# --- Properties over trees built as the store builds them -------------------------------------

MAX_SIZE = 300
Store = dict[tlog.Node, bytes]


class Tree:
    """A log of ``size`` distinct leaves, its subtrees stored as ``Frontier.append`` hands them
    out, and a ``fetch`` that fails on a node never stored."""

    def __init__(self, size: int, salt: bytes = b"") -> None:
        self.leaves = [tlog.leaf_hash(salt + b"entry %d" % i) for i in range(size)]
        self.store: Store = {}
        self.frontier = tlog.Frontier(0, [])
        for leaf in self.leaves:
            for level, index, h in self.frontier.append(leaf):
                assert (level, index) not in self.store
                self.store[(level, index)] = h

    def fetch(self, nodes: Iterable[tlog.Node]) -> Mapping[tlog.Node, bytes]:
        return {n: self.store[n] for n in nodes}

    def root(self, size: int) -> bytes:
        return tlog.root_of_size(size, self.fetch)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return tlog.proof_hashes(tlog.inclusion_ranges(index, size), self.fetch)

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        return tlog.proof_hashes(tlog.consistency_ranges(size1, size2), self.fetch)


@st.composite
def tree_and_size(draw: st.DrawFn, min_size: int = 1) -> tuple[Tree, int]:
    """A tree and a size at most its own (a checkpoint the log signed earlier)."""
    n = draw(st.integers(min_size, MAX_SIZE))
    tree = Tree(n, draw(st.binary(max_size=8)))
    return tree, draw(st.integers(1, n))


@st.composite
def inclusion_case(draw: st.DrawFn, min_size: int = 1) -> tuple[Tree, int, int]:
    tree, size = draw(tree_and_size(min_size))
    return tree, draw(st.integers(0, size - 1)), size


@st.composite
def consistency_case(draw: st.DrawFn, min_size: int = 1) -> tuple[Tree, int, int]:
    tree, size2 = draw(tree_and_size(min_size))
    return tree, draw(st.integers(1, size2)), size2


def sizes_but(size: int, lo: int, hi: int) -> list[int]:
    """Every size in [lo, hi] but ``size``: smaller ones too, which a proof cannot serve."""
    return [n for n in range(lo, hi + 1) if n != size]


PROPERTIES = settings(max_examples=150, deadline=None, database=None)


def refused_inclusion(tree: Tree, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        tlog.verify_inclusion(index, size, tree.leaves[index], proof, root)
    except tlog.ProofError:
        return True
    return False


def refused_consistency(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> bool:
    try:
        tlog.verify_consistency(size1, size2, proof, root1, root2)
    except tlog.ProofError:
        return True
    return False


@PROPERTIES
@given(tree_and_size())
def test_the_root_from_stored_subtrees_is_the_root_of_the_leaves(case: tuple[Tree, int]) -> None:
    tree, size = case
    assert tree.root(size) == tlog.tree_root(tree.leaves[:size])
    assert tree.root(len(tree.leaves)) == tree.frontier.root() == tlog.tree_root(tree.leaves)


@PROPERTIES
@given(tree_and_size())
def test_a_frontier_restored_from_the_store_continues_the_same_tree(
    case: tuple[Tree, int],
) -> None:
    tree, size = case
    nodes = tlog.range_nodes(0, size)
    frontier = tlog.Frontier(size, [tree.store[n] for n in nodes])
    for leaf in tree.leaves[size:]:
        for level, index, h in frontier.append(leaf):
            assert tree.store[(level, index)] == h
    assert frontier.size == len(tree.leaves)
    assert frontier.root() == tlog.tree_root(tree.leaves)


@PROPERTIES
@given(inclusion_case())
def test_an_inclusion_proof_from_stored_subtrees_verifies(case: tuple[Tree, int, int]) -> None:
    tree, index, size = case
    proof = tree.inclusion(index, size)
    assert proof == tlog.memory_proof(tree.leaves[:size], index)
    tlog.verify_inclusion(index, size, tree.leaves[index], proof, tree.root(size))


@PROPERTIES
@given(consistency_case())
def test_a_consistency_proof_from_stored_subtrees_verifies(case: tuple[Tree, int, int]) -> None:
    tree, size1, size2 = case
    proof = tree.consistency(size1, size2)
    tlog.verify_consistency(size1, size2, proof, tree.root(size1), tree.root(size2))


@PROPERTIES
@given(inclusion_case(), st.data())
def test_an_inclusion_proof_with_a_flipped_bit_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    tree, index, size = case
    proof = tree.inclusion(index, size)
    if not proof:  # a tree of one leaf: the leaf is the root, nothing to flip
        assert size == 1
        return
    at = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 8 * tlog.HASH_SIZE - 1), label="bit")
    flipped = bytearray(proof[at])
    flipped[bit // 8] ^= 1 << (bit % 8)
    proof[at] = bytes(flipped)
    assert refused_inclusion(tree, index, size, proof, tree.root(size))


@PROPERTIES
@given(consistency_case(), st.data())
def test_a_consistency_proof_with_a_flipped_bit_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    tree, size1, size2 = case
    proof = tree.consistency(size1, size2)
    if not proof:  # equal sizes: the proof is empty
        assert size1 == size2
        return
    at = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 8 * tlog.HASH_SIZE - 1), label="bit")
    flipped = bytearray(proof[at])
    flipped[bit // 8] ^= 1 << (bit % 8)
    proof[at] = bytes(flipped)
    assert refused_consistency(size1, size2, proof, tree.root(size1), tree.root(size2))


def test_every_bit_of_every_proof_hash_counts() -> None:
    """Exhaustively, on one tree whose proofs have both left and right siblings."""
    tree = Tree(13)
    for index, size in ((5, 13), (12, 13), (0, 8)):
        proof = tree.inclusion(index, size)
        for at in range(len(proof)):
            for bit in range(8 * tlog.HASH_SIZE):
                tampered = list(proof)
                tampered[at] = (int.from_bytes(proof[at], "big") ^ (1 << bit)).to_bytes(32, "big")
                assert refused_inclusion(tree, index, size, tampered, tree.root(size))
    for size1, size2 in ((5, 13), (8, 13), (1, 13)):
        proof = tree.consistency(size1, size2)
        for at in range(len(proof)):
            for bit in range(8 * tlog.HASH_SIZE):
                tampered = list(proof)
                tampered[at] = (int.from_bytes(proof[at], "big") ^ (1 << bit)).to_bytes(32, "big")
                assert refused_consistency(
                    size1, size2, tampered, tree.root(size1), tree.root(size2)
                )


@PROPERTIES
@given(inclusion_case(), st.data())
def test_an_inclusion_proof_with_an_element_dropped_or_added_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    tree, index, size = case
    proof = tree.inclusion(index, size)
    root = tree.root(size)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="dropped")
        assert refused_inclusion(tree, index, size, proof[:at] + proof[at + 1 :], root)
    at = data.draw(st.integers(0, len(proof)), label="added at")
    extra = data.draw(
        st.sampled_from([*proof, root, tree.leaves[index]])
        | st.binary(min_size=tlog.HASH_SIZE, max_size=tlog.HASH_SIZE),
        label="added",
    )
    assert refused_inclusion(tree, index, size, [*proof[:at], extra, *proof[at:]], root)


@PROPERTIES
@given(consistency_case(), st.data())
def test_a_consistency_proof_with_an_element_dropped_or_added_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    tree, size1, size2 = case
    proof = tree.consistency(size1, size2)
    root1, root2 = tree.root(size1), tree.root(size2)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="dropped")
        assert refused_consistency(size1, size2, proof[:at] + proof[at + 1 :], root1, root2)
    at = data.draw(st.integers(0, len(proof)), label="added at")
    extra = data.draw(
        st.sampled_from([*proof, root1, root2])
        | st.binary(min_size=tlog.HASH_SIZE, max_size=tlog.HASH_SIZE),
        label="added",
    )
    assert refused_consistency(size1, size2, [*proof[:at], extra, *proof[at:]], root1, root2)


@PROPERTIES
@given(inclusion_case(), st.data())
def test_an_inclusion_proof_offered_for_another_index_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    tree, index, size = case
    proof, root = tree.inclusion(index, size), tree.root(size)
    other = data.draw(st.integers(-1, size + 1).filter(lambda i: i != index), label="index")
    try:
        tlog.verify_inclusion(other, size, tree.leaves[index], proof, root)
    except tlog.ProofError:
        return
    pytest.fail(f"leaf {index}'s proof in a tree of {size} was accepted for leaf {other}")


@PROPERTIES
@given(inclusion_case(min_size=2), st.data())
def test_an_inclusion_proof_offered_for_another_tree_size_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    """Against the root of the size claimed: a proof in the tree of one checkpoint offered with
    another checkpoint. (The size alone is bound through the root: the proof of leaf 0 of 3
    leaves is also the path of leaf 0 of 4, so the same root with another size may pass.)"""
    tree, index, size = case
    proof = tree.inclusion(index, size)
    other = data.draw(st.sampled_from(sizes_but(size, 1, len(tree.leaves))), label="size")
    assert refused_inclusion(tree, index, other, proof, tree.root(other))
    if other > index and path_shape(index, other) != path_shape(index, size):
        assert refused_inclusion(tree, index, other, proof, tree.root(size))


def path_shape(index: int, size: int) -> list[bool]:
    """Which side each sibling of an inclusion path is on (True: left), leaf up."""
    return [hi <= index for _, hi in tlog.inclusion_ranges(index, size)]


def test_the_same_path_in_trees_of_two_sizes_is_one_proof() -> None:
    """Why a size is checked with its own root: leaf 0 has siblings [1, 2) and [2, 3) in a tree
    of 3 leaves, and [1, 2) and [2, 4) in a tree of 4, both on the right."""
    assert path_shape(0, 3) == path_shape(0, 4) == [False, False]
    assert path_shape(2, 3) == [True] != path_shape(2, 4) == [False, True]


@PROPERTIES
@given(inclusion_case(), st.data())
def test_a_subtree_hash_offered_as_the_leaf_with_the_rest_of_the_path_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    """The proof's length is checked against the index and size: the hash of an interior node
    above the leaf, with the path above that node, does not pass for the leaf's proof."""
    tree, index, size = case
    proof = tree.inclusion(index, size)
    if not proof:
        return
    k = data.draw(st.integers(1, len(proof)), label="levels folded")
    ranges = [(index, index + 1), *tlog.inclusion_ranges(index, size)[:k]]
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    node = tlog.tree_root(tree.leaves[lo:hi])
    root = tree.root(size)
    try:
        tlog.verify_inclusion(index, size, node, proof[k:], root)
    except tlog.ProofError:
        return
    pytest.fail(f"the hash of leaves [{lo}, {hi}) passed for leaf {index} of {size}")


@PROPERTIES
@given(inclusion_case(min_size=2), st.data())
def test_an_inclusion_proof_is_refused_for_another_leaf_or_root(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    tree, index, size = case
    proof, root = tree.inclusion(index, size), tree.root(size)
    other = data.draw(st.sampled_from(sizes_but(size, 1, len(tree.leaves))), label="other root")
    with pytest.raises(tlog.ProofError):
        tlog.verify_inclusion(index, size, tree.leaves[index], proof, tree.root(other))
    leaf = data.draw(st.sampled_from(sizes_but(index, 0, len(tree.leaves) - 1)), label="leaf")
    with pytest.raises(tlog.ProofError):
        tlog.verify_inclusion(index, size, tree.leaves[leaf], proof, root)


@PROPERTIES
@given(consistency_case(min_size=2), st.data())
def test_a_consistency_proof_is_refused_with_another_root_for_either_size(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    """Equal sizes included: the empty proof between a size and itself holds only for one
    root."""
    tree, size1, size2 = case
    proof = tree.consistency(size1, size2)
    root1, root2 = tree.root(size1), tree.root(size2)
    random = st.binary(min_size=tlog.HASH_SIZE, max_size=tlog.HASH_SIZE)
    n = len(tree.leaves)
    wrong1 = data.draw(st.sampled_from([tree.root(m) for m in sizes_but(size1, 1, n)]) | random)
    wrong2 = data.draw(st.sampled_from([tree.root(m) for m in sizes_but(size2, 1, n)]) | random)
    assert refused_consistency(size1, size2, proof, wrong1, root2)
    assert refused_consistency(size1, size2, proof, root1, wrong2)
    assert refused_consistency(size1, size2, proof, root2, root1) or root1 == root2


@PROPERTIES
@given(consistency_case(min_size=2), st.data())
def test_a_consistency_proof_offered_for_another_first_size_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    tree, size1, size2 = case
    proof = tree.consistency(size1, size2)
    other = data.draw(st.sampled_from(sizes_but(size1, 1, len(tree.leaves))), label="size1")
    assert refused_consistency(other, size2, proof, tree.root(other), tree.root(size2))


@PROPERTIES
@given(consistency_case(min_size=2), st.data())
def test_a_consistency_proof_offered_for_another_second_size_is_refused(
    case: tuple[Tree, int, int], data: st.DataObject
) -> None:
    tree, size1, size2 = case
    proof = tree.consistency(size1, size2)
    other = data.draw(st.sampled_from(sizes_but(size2, 1, len(tree.leaves))), label="size2")
    assert refused_consistency(size1, other, proof, tree.root(size1), tree.root(other))
