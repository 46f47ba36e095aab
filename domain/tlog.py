"""The transparency log's formats, and their verification: self-contained on purpose.

This module imports nothing from the project and nothing outside the standard library but
``cryptography``: it *is* the offline verifier ``caseledger-verify`` (``main`` below), which an
inspector runs on an evidence bundle with no database, no network and no other caseledger code
(``tests/integration/test_evidence.py`` copies this file alone and runs it). The store, the
runner, the witness and the API build their proofs and notes with the same functions, so that
what is written is what is checked.

- **Merkle trees** (RFC 9162 §2.1): ``leaf_hash``, ``node_hash``; a tree of ``size`` leaves is
  addressed by its complete subtrees ``(level, index)``, covering leaves
  ``[index * 2**level, (index + 1) * 2**level)``. The store keeps those hashes as positions are
  sequenced; ``inclusion_ranges`` / ``consistency_ranges`` say which ranges a proof needs and
  ``range_nodes`` which stored subtrees make up each range, so a proof is O(log n) reads.
  ``verify_inclusion`` / ``verify_consistency`` are RFC 9162's algorithms (checked against the
  reference vectors of transparency-dev/merkle in ``tests/domain/test_merkle_vectors.py``).
- **The log's entries**: ``log_entry`` (a global log row's canonical bytes) and ``head_entry``
  (a case's last version and event hash, a leaf of the case-heads tree).
- **Signed notes** (C2SP ``signed-note``): Ed25519 log keys (type 0x01) and timestamped
  Ed25519 cosignatures (C2SP ``tlog-cosignature``, type 0x04); keys as vkeys and
  ``PRIVATE+KEY+name+id+base64`` files. ``Checkpoint`` is C2SP ``tlog-checkpoint``, with one
  extension line committing to the case-heads root.
- **Evidence bundles** (``verify_bundle``): a zip of the case's events as stored, a
  ``tlog-proof@v1`` per log entry and one for the case's head, and the cosigned checkpoint.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# --- Merkle trees (RFC 9162) ------------------------------------------------------------------

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not prove what it is offered for."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


Node = tuple[int, int]
"""A complete subtree: (level, index), covering leaves [index * 2**level, (index+1) * 2**level)."""

Range = tuple[int, int]
"""Leaves [lo, hi) of a tree, as the RFC's MTH(D[lo:hi]) reads them."""


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(lo: int, hi: int) -> list[Node]:
    """The complete subtrees that make up leaves [lo, hi), left to right: one per bit of the
    range's size, largest first. Every range a tree's root or proofs read starts at a multiple
    of a power of two at least its size, so each part is aligned; ``range_hash`` folds them."""
    nodes = []
    at = lo
    for level in range((hi - lo).bit_length() - 1, -1, -1):
        if (hi - lo) >> level & 1:
            if at % (1 << level):
                raise ValueError(f"leaves [{lo}, {hi}) are not aligned")
            nodes.append((level, at >> level))
            at += 1 << level
    return nodes


def range_hash(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its ``range_nodes``, in order (right fold)."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes make the inclusion proof of leaf ``index`` in a tree of ``size``
    leaves (RFC 9162 §2.1.3.1 PATH), from the leaf's sibling up."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """The ranges whose hashes make the consistency proof from ``size1`` to ``size2`` (RFC 9162
    §2.1.4.1 SUBPROOF), in proof order."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to {size2}")
    out: list[Range] = []
    lo, hi, m, whole = 0, size2, size1, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (small trees held in memory: the case-heads tree)."""
    level = list(leaves)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def memory_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in a tree held in memory."""
    return [tree_root(leaves[lo:hi]) for lo, hi in inclusion_ranges(index, len(leaves))]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise ``ProofError`` unless ``proof`` shows the leaf hash ``leaf`` at
    ``index`` in the tree of ``size`` leaves whose root is ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        raise ProofError("a leaf hash and a root are 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            raise ProofError("inclusion proof too long or malformed")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2: raise ``ProofError`` unless ``proof`` shows the tree of ``size1``
    leaves with root ``root1`` is a prefix of the tree of ``size2`` leaves with root
    ``root2``. The empty tree is a prefix of every tree and needs no proof: a caller that
    allows size 0 (a witness's first checkpoint) checks that itself."""
    if size1 < 1 or size2 < size1:
        raise ProofError(f"no consistency proof from size {size1} to {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError("equal sizes with different roots")
        return
    if len(root1) != HASH_SIZE or len(root2) != HASH_SIZE:
        raise ProofError("roots are 32 bytes")
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("consistency proof empty or malformed")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof too short")
    if fr != root1 or sr != root2:
        raise ProofError("consistency proof does not lead to both roots")


def root_of_size(size: int, fetch: Callable[[Iterable[Node]], Mapping[Node, bytes]]) -> bytes:
    """The root of the first ``size`` leaves, from stored complete subtrees."""
    nodes = range_nodes(0, size)
    found = fetch(nodes)
    return range_hash([found[n] for n in nodes])


def proof_hashes(
    ranges: Sequence[Range], fetch: Callable[[Iterable[Node]], Mapping[Node, bytes]]
) -> list[bytes]:
    """The hashes of these ranges, from stored complete subtrees (one ``fetch`` of all)."""
    parts = [range_nodes(lo, hi) for lo, hi in ranges]
    found = fetch({n for nodes in parts for n in nodes})
    return [range_hash([found[n] for n in nodes]) for nodes in parts]


class Frontier:
    """The right edge of a tree being appended to: the hashes of the complete subtrees that
    make up its leaves (one per bit of the size). ``append`` returns the subtrees each new
    leaf completes, to be stored; ``root`` is the tree's root."""

    def __init__(self, size: int, hashes: Sequence[bytes]) -> None:
        self.size = size
        self.hashes = list(hashes)  # range_nodes(0, size), left to right

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index = self.size
        completed = [(0, index, leaf)]
        h, level, i = leaf, 0, index
        while i & 1:
            h = node_hash(self.hashes.pop(), h)
            level += 1
            i >>= 1
            completed.append((level, i, h))
        self.hashes.append(h)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return range_hash(self.hashes)


# --- The log's entries -------------------------------------------------------------------------

EVENT_TAG = b"caseledger/1"
GENESIS = hashlib.sha256(b"caseledger genesis").digest()


def canonical_event(values: Iterable[object]) -> bytes:
    """An event's canonical bytes: ``EVENT_TAG``, then each hashed column in order, each
    prefixed by its length (8 bytes, big-endian): bytes as they are, anything else as the UTF-8
    of its text (``domain/integrity.py`` gives the columns)."""
    joined: list[bytes] = []
    for value in (EVENT_TAG, *values):
        part = value if isinstance(value, bytes) else str(value).encode()
        joined.append(len(part).to_bytes(8, "big"))
        joined.append(part)
    return b"".join(joined)


def chain_hash(previous: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(previous + canonical).digest()


def log_entry(
    position: int,
    case_id: UUID,
    version: int,
    event_hash: bytes,
    logged_at: datetime,
    event_id: str,
) -> bytes:
    """A global log row's canonical bytes, the leaf of the log's tree at ``position - 1``:
    position (8 bytes, big-endian) ‖ case id (16) ‖ version (8) ‖ the event's hash (32) ‖ the
    time the database logged it (microseconds since 1970 UTC, 8) ‖ the event id (UTF-8, the
    rest). The log time is the database's, not the writer's: a back-dated insert shows with its
    true time."""
    return (
        position.to_bytes(8, "big", signed=True)
        + case_id.bytes
        + version.to_bytes(8, "big", signed=True)
        + event_hash
        + micros(logged_at).to_bytes(8, "big", signed=True)
        + event_id.encode()
    )


@dataclass(frozen=True)
class LogEntry:
    position: int
    case_id: UUID
    version: int
    event_hash: bytes
    logged_at: datetime
    event_id: str

    @classmethod
    def parse(cls, entry: bytes) -> LogEntry:
        if len(entry) < 72:
            raise ProofError("a log entry is at least 72 bytes")
        return cls(
            position=int.from_bytes(entry[0:8], "big", signed=True),
            case_id=UUID(bytes=entry[8:24]),
            version=int.from_bytes(entry[24:32], "big", signed=True),
            event_hash=entry[32:64],
            logged_at=from_micros(int.from_bytes(entry[64:72], "big", signed=True)),
            event_id=entry[72:].decode(),
        )

    def encode(self) -> bytes:
        return log_entry(
            self.position,
            self.case_id,
            self.version,
            self.event_hash,
            self.logged_at,
            self.event_id,
        )


def head_entry(case_id: UUID, version: int, event_hash: bytes) -> bytes:
    """A leaf of the case-heads tree: case id (16) ‖ its last version (8) ‖ that event's hash
    (32). The leaves are sorted by case id (the byte order of the UUIDs)."""
    return case_id.bytes + version.to_bytes(8, "big", signed=True) + event_hash


def micros(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- Signed notes (C2SP signed-note, tlog-checkpoint, tlog-cosignature) -----------------------

ED25519 = 0x01
COSIGNATURE = 0x04  # timestamped Ed25519 checkpoint cosignature
MAX_SIGNATURES = 32


class NoteError(ValueError):
    """A note that is malformed, or not signed as it must be."""


def key_id(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"a key name must be non-empty, without spaces or '+': {name!r}")
    return name


@dataclass(frozen=True)
class Verifier:
    """A public key as a vkey names it: ``name+hex(key id)+base64(type || public key)``."""

    name: str
    kind: int
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.kind, self.public)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([self.kind]) + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{encoded}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"not a vkey (name+id+key): {vkey!r}")
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError) as e:
            raise NoteError(f"not a vkey: {e}") from None
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE):
            raise NoteError("a vkey here is an Ed25519 key (type 0x01 or 0x04, 32 bytes)")
        verifier = cls(_check_name(name), raw[0], raw[1:])
        if verifier.id != wanted:
            raise NoteError(f"the vkey's id {hex_id} does not match its name and key")
        return verifier

    def _key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public)

    def check(self, message: bytes, signature: bytes) -> bool:
        try:
            self._key().verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key: the log's (type 0x01) or a witness's (type 0x04). Stored as one line,
    ``PRIVATE+KEY+name+hex(key id)+base64(type || 32-byte seed)``, as Go's note package does."""

    name: str
    kind: int
    seed: bytes = field(repr=False)

    @classmethod
    def generate(cls, name: str, kind: int = ED25519) -> Signer:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(_check_name(name), kind, seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("not a private key (PRIVATE+KEY+name+id+key)")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except binascii.Error as e:
            raise NoteError(f"not a private key: {e}") from None
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE):
            raise NoteError("a private key here is an Ed25519 seed (type 0x01 or 0x04)")
        signer = cls(_check_name(parts[2]), raw[0], raw[1:])
        if signer.verifier.id.hex() != parts[3]:
            raise NoteError("the private key's id does not match its name and key")
        return signer

    @property
    def text(self) -> str:
        encoded = base64.b64encode(bytes([self.kind]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{encoded}"

    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        public = self._key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.kind, public)

    def signature_line(self, text: str, timestamp: int | None = None) -> str:
        """The note signature line over ``text`` (a note's text, ending in a newline): for a
        cosigner, over the ``cosignature/v1`` message at ``timestamp``."""
        if self.kind == COSIGNATURE:
            if timestamp is None:
                raise NoteError("a cosignature needs a timestamp")
            raw = timestamp.to_bytes(8, "big") + self._key().sign(cosigned_message(text, timestamp))
        else:
            raw = self._key().sign(text.encode())
        return f"— {self.name} {base64.b64encode(self.verifier.id + raw).decode()}\n"


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class Signature:
    name: str
    id: bytes
    raw: bytes  # after the key id

    @property
    def line(self) -> str:
        return f"— {self.name} {base64.b64encode(self.id + self.raw).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A signed note split into its text (ending in a newline) and its signatures."""

    text: str
    signatures: tuple[Signature, ...]

    @classmethod
    def parse(cls, note: str) -> Note:
        if any(ord(c) < 0x20 and c != "\n" for c in note):
            raise NoteError("a note holds no control characters but newlines")
        if not note.endswith("\n"):
            raise NoteError("a note ends with a newline")
        split = note.rfind("\n\n")
        if split < 0:
            raise NoteError("a note's signatures follow an empty line")
        text, lines = note[: split + 1], note[split + 2 : -1].split("\n")
        if not lines:
            raise NoteError("a note has at least one signature")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"more than {MAX_SIGNATURES} signatures")
        signatures = []
        for line in lines:
            if not line.startswith("— "):
                raise NoteError(f"not a signature line: {line[:60]!r}")
            parts = line[2:].split(" ")
            if len(parts) != 2:
                raise NoteError(f"not a signature line: {line[:60]!r}")
            try:
                raw = base64.b64decode(parts[1], validate=True)
            except binascii.Error:
                raise NoteError(f"signature of {parts[0]} is not base64") from None
            if len(raw) < 5:
                raise NoteError(f"signature of {parts[0]} is too short")
            signatures.append(Signature(_check_name(parts[0]), raw[:4], raw[4:]))
        return cls(text, tuple(signatures))

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)

    def signed_by(self, verifier: Verifier) -> bool:
        """Whether the note carries a valid signature of ``verifier`` (the log's key). A
        signature naming this key that fails is an error, not an absence."""
        found = False
        for s in self.signatures:
            if s.name == verifier.name and s.id == verifier.id:
                if not verifier.check(self.text.encode(), s.raw):
                    raise NoteError(f"the signature of {verifier.name} does not verify")
                found = True
        return found

    def cosigned_at(self, verifier: Verifier) -> int | None:
        """The timestamp of a valid cosignature of ``verifier`` (a witness key), if any."""
        for s in self.signatures:
            if s.name == verifier.name and s.id == verifier.id:
                if len(s.raw) != 72:
                    raise NoteError(f"the cosignature of {verifier.name} is malformed")
                timestamp = int.from_bytes(s.raw[:8], "big")
                if not verifier.check(cosigned_message(self.text, timestamp), s.raw[8:]):
                    raise NoteError(f"the cosignature of {verifier.name} does not verify")
                return timestamp
        return None

    def with_signatures(self, lines: Iterable[str]) -> Note:
        """This note with more signature lines (a witness's answer), those already here kept."""
        added = Note.parse(self.text + "\n" + "".join(lines)).signatures
        known = {(s.name, s.id) for s in self.signatures}
        return Note(
            self.text, self.signatures + tuple(s for s in added if (s.name, s.id) not in known)
        )


HEADS_EXTENSION = "caseledger/case-heads"


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP checkpoint's text: origin, tree size, root; and ours, one extension line,
    ``caseledger/case-heads <number of cases> <base64 root>``: the root of the tree of each
    case's head at this size (``head_entry``, sorted by case id)."""

    origin: str
    size: int
    root: bytes
    heads: int | None = None
    heads_root: bytes | None = None

    @property
    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.heads_root is not None:
            encoded = base64.b64encode(self.heads_root).decode()
            lines.append(f"{HEADS_EXTENSION} {self.heads} {encoded}")
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint is at least three non-empty lines")
        origin, size, root = lines[:3]
        if not (size.isascii() and size.isdigit()) or (size != "0" and size.startswith("0")):
            raise NoteError(f"not a tree size: {size!r}")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("the root hash is not base64") from None
        if len(root_hash) != HASH_SIZE:
            raise NoteError("the root hash is not 32 bytes")
        heads = heads_root = None
        for line in lines[3:-1]:
            parts = line.split(" ")
            if parts[0] != HEADS_EXTENSION:
                continue  # another extension: opaque
            if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
                raise NoteError(f"not a case-heads line: {line[:80]!r}")
            heads = int(parts[1])
            try:
                heads_root = base64.b64decode(parts[2], validate=True)
            except binascii.Error:
                raise NoteError("the case-heads root is not base64") from None
            if len(heads_root) != HASH_SIZE:
                raise NoteError("the case-heads root is not 32 bytes")
        return cls(origin, int(size), root_hash, heads, heads_root)


# --- Evidence bundles and the offline verifier (caseledger-verify) ----------------------------

EVENT_FIELDS = (
    "event_id",
    "case_id",
    "version",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "actor",
    "payload",
)
"""The columns an event's hash covers, in canonical order (``domain.integrity.EventColumns``;
a test keeps the two in step)."""

LATE_SECONDS = 300
"""An event logged more than this after its ``recorded_at`` is reported as a late recording."""


class BundleError(ValueError):
    """What a bundle failed to prove, in words an inspector can act on."""


@dataclass(frozen=True)
class TlogProof:
    """A C2SP ``tlog-proof@v1``: extra data, leaf index, inclusion proof, checkpoint note."""

    extra: bytes
    index: int
    proof: tuple[bytes, ...]
    note: str

    @classmethod
    def parse(cls, text: str) -> TlogProof:
        head, sep, note = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or lines[0] != "c2sp.org/tlog-proof@v1":
            raise BundleError("not a c2sp.org/tlog-proof@v1")
        extra = b""
        rest = lines[1:]
        try:
            if rest and rest[0].startswith("extra "):
                extra = base64.b64decode(rest.pop(0)[6:], validate=True)
            if not rest or not rest[0].startswith("index "):
                raise BundleError("a tlog-proof names its index")
            index_text = rest.pop(0)[6:]
            if not (index_text.isascii() and index_text.isdigit()):
                raise BundleError(f"not an index: {index_text!r}")
            proof = tuple(base64.b64decode(line, validate=True) for line in rest)
        except binascii.Error:
            raise BundleError("a tlog-proof line is not base64") from None
        return cls(extra, int(index_text), proof, note)


@dataclass
class BundleReport:
    case_id: UUID
    events: int
    size: int
    origin: str
    log_key: str
    witnesses: list[str]
    known_witnesses: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        witnessed = (
            f"cosigned by {len(self.witnesses)} of {self.known_witnesses} witnesses"
            + (f" ({', '.join(self.witnesses)})" if self.witnesses else "")
            if self.known_witnesses
            else "no witness keys given: not checked against witnesses"
        )
        lines = [
            f"case {self.case_id}: {self.events} events, complete at tree size {self.size:,}, "
            f"checkpoint signed by {self.origin} (key {self.log_key}), {witnessed}",
            *self.notes,
        ]
        return "\n".join(lines)


def _event_hashes(records: Sequence[Mapping[str, str]]) -> tuple[UUID, list[bytes]]:
    """Check the events' chain; answer the case and each event's hash."""
    if not records:
        raise BundleError("the bundle holds no event")
    case_id = UUID(records[0]["case_id"])
    previous, hashes = GENESIS, []
    for expected, record in enumerate(records, 1):
        if UUID(record["case_id"]) != case_id:
            raise BundleError(f"event {record['event_id']} belongs to another case")
        if int(record["version"]) != expected:
            raise BundleError(
                f"case {case_id}: version {expected} is missing (the bundle jumps to "
                f"{record['version']})"
            )
        values: list[object] = [
            base64.b64decode(record[name]) if name == "payload" else record[name]
            for name in EVENT_FIELDS
        ]
        digest = chain_hash(previous, canonical_event(values))
        if digest.hex() != record["hash"]:
            raise BundleError(
                f"case {case_id} version {expected} (event {record['event_id']}): the stored "
                "bytes do not hash to the stored hash, or the chain is broken"
            )
        hashes.append(digest)
        previous = digest
    return case_id, hashes


def verify_bundle(
    bundle: bytes,
    log_key: Verifier,
    witness_keys: Sequence[Verifier] = (),
    quorum: int | None = None,
    after: bytes | None = None,
) -> BundleReport:
    """Check an evidence bundle (``domain/evidence.py``); raise ``BundleError`` saying what
    failed. ``quorum``: how many of ``witness_keys`` must have cosigned (default: all).
    ``after``: a bundle of the same case taken earlier, which this one must extend: its
    events a prefix of these, its checkpoint's tree a prefix of this one's (by the
    consistency proof this bundle carries from that size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as z:
            files = {name: z.read(name) for name in z.namelist()}
    except (zipfile.BadZipFile, OSError) as e:
        raise BundleError(f"not a bundle (zip): {e}") from None
    for name in ("events.jsonl", "checkpoint", "case-head.tlog-proof"):
        if name not in files:
            raise BundleError(f"the bundle lacks {name}")
    note_text = files["checkpoint"].decode()
    try:
        note = Note.parse(note_text)
        checkpoint = Checkpoint.parse(note.text)
        if checkpoint.origin != log_key.name:
            raise BundleError(
                f"the checkpoint's origin is {checkpoint.origin}, the log key's {log_key.name}"
            )
        if not note.signed_by(log_key):
            raise BundleError(f"the checkpoint is not signed by the log key {log_key.vkey}")
        cosigners = [w.name for w in witness_keys if note.cosigned_at(w) is not None]
    except NoteError as e:
        raise BundleError(f"checkpoint: {e}") from None
    needed = len(witness_keys) if quorum is None else quorum
    if len(cosigners) < needed:
        raise BundleError(
            f"the checkpoint is cosigned by {len(cosigners)} of the {len(witness_keys)} witnesses "
            f"given ({', '.join(cosigners) or 'none'}); the policy needs {needed}"
        )
    if checkpoint.heads_root is None or checkpoint.heads is None:
        raise BundleError("the checkpoint commits to no case-heads root")
    try:
        records = [json.loads(line) for line in files["events.jsonl"].splitlines() if line]
    except ValueError as e:
        raise BundleError(f"events.jsonl: {e}") from None
    case_id, hashes = _event_hashes(records)
    report = BundleReport(
        case_id,
        len(records),
        checkpoint.size,
        checkpoint.origin,
        log_key.id.hex(),
        cosigners,
        len(witness_keys),
    )
    for record, digest in zip(records, hashes, strict=True):
        version = int(record["version"])
        where = f"case {case_id} version {version} (event {record['event_id']})"
        name = f"entries/{version}.tlog-proof"
        if name not in files:
            raise BundleError(f"{where}: the bundle lacks its log entry ({name})")
        proof = TlogProof.parse(files[name].decode())
        if proof.note != note_text:
            raise BundleError(f"{where}: its proof is against another checkpoint")
        entry = LogEntry.parse(proof.extra)
        if (entry.case_id, entry.version, entry.event_hash, entry.event_id) != (
            case_id,
            version,
            digest,
            record["event_id"],
        ):
            raise BundleError(f"{where}: the log entry names another event or hash")
        if entry.position != proof.index + 1:
            raise BundleError(f"{where}: the log entry's position is not its index")
        try:
            verify_inclusion(
                proof.index, checkpoint.size, leaf_hash(proof.extra), proof.proof, checkpoint.root
            )
        except ProofError as e:
            raise BundleError(
                f"{where}: not in the log at position {entry.position} of the checkpoint ({e})"
            ) from None
        recorded = datetime.fromisoformat(record["recorded_at"].replace("Z", "+00:00"))
        if (entry.logged_at - recorded).total_seconds() > LATE_SECONDS and micros(entry.logged_at):
            report.notes.append(
                f"version {version}: recorded_at {record['recorded_at']} but logged at "
                f"{entry.logged_at.isoformat()} (a late recording: the log time is the "
                "database's)"
            )
    head = TlogProof.parse(files["case-head.tlog-proof"].decode())
    if head.note != note_text:
        raise BundleError("the case-head proof is against another checkpoint")
    if head.extra != head_entry(case_id, len(records), hashes[-1]):
        raise BundleError(
            f"case {case_id}: the case-head entry does not name version {len(records)} and its "
            "hash: the bundle does not hold the case's last event at this tree size"
        )
    try:
        verify_inclusion(
            head.index, checkpoint.heads, leaf_hash(head.extra), head.proof, checkpoint.heads_root
        )
    except ProofError as e:
        raise BundleError(
            f"case {case_id}: its head (version {len(records)}) is not the one the checkpoint "
            f"commits to ({e}): events are missing from the bundle or were added to the log"
        ) from None
    if after is not None:
        _check_extends(after, files, records, checkpoint, log_key)
        report.notes.append("extends the earlier bundle: same events, consistent log")
    return report


def _check_extends(
    after: bytes,
    files: Mapping[str, bytes],
    records: Sequence[Mapping[str, str]],
    checkpoint: Checkpoint,
    log_key: Verifier,
) -> None:
    earlier = verify_bundle(after, log_key)
    with zipfile.ZipFile(io.BytesIO(after)) as z:
        old_records = [json.loads(line) for line in z.read("events.jsonl").splitlines() if line]
        old = Checkpoint.parse(Note.parse(z.read("checkpoint").decode()).text)
    if earlier.case_id != UUID(records[0]["case_id"]):
        raise BundleError("the earlier bundle is of another case")
    for old_record, record in zip(old_records, records, strict=False):
        if old_record != record:
            raise BundleError(
                f"case {earlier.case_id} version {old_record['version']}: the event differs "
                "from the earlier bundle's: the record was rewritten"
            )
    if len(records) < len(old_records):
        raise BundleError(
            f"case {earlier.case_id}: the earlier bundle holds {len(old_records)} events, this "
            f"one {len(records)}: events were removed"
        )
    if "consistency.proof" not in files:
        raise BundleError(
            f"the bundle carries no consistency proof from tree size {old.size} (ask for it "
            f"with ?since={old.size})"
        )
    lines = files["consistency.proof"].decode().splitlines()
    if not lines or lines[0] != f"old {old.size}":
        raise BundleError(f"the consistency proof is not from tree size {old.size}")
    try:
        hashes = [base64.b64decode(line, validate=True) for line in lines[1:]]
        verify_consistency(old.size, checkpoint.size, hashes, old.root, checkpoint.root)
    except (ProofError, binascii.Error) as e:
        raise BundleError(
            f"the log at tree size {checkpoint.size} is not an extension of the log at "
            f"{old.size} the earlier bundle was proved against ({e}): the log was rewritten"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """``caseledger-verify BUNDLE --log-key VKEY [--witness-key VKEY]... [--policy N]
    [--after EARLIER_BUNDLE]``: exit 0 and say what was proved, or exit 1 and say what
    failed."""
    parser = argparse.ArgumentParser(
        prog="caseledger-verify",
        description="Verify a caseledger evidence bundle offline: the case's hash chain, each "
        "event's inclusion in the log, the case's completeness at the checkpoint, the log's "
        "signature and the witnesses' cosignatures.",
    )
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--log-key", required=True, help="the log's vkey (GET /v1/log/key)")
    parser.add_argument("--witness-key", action="append", default=[], help="a witness's vkey")
    parser.add_argument(
        "--policy", type=int, default=None, help="cosignatures needed (default: every witness)"
    )
    parser.add_argument("--after", type=Path, help="an earlier bundle this one must extend")
    args = parser.parse_args(argv)
    try:
        log_key = Verifier.parse(args.log_key)
        witnesses = [Verifier.parse(k) for k in args.witness_key]
        report = verify_bundle(
            args.bundle.read_bytes(),
            log_key,
            witnesses,
            args.policy,
            args.after.read_bytes() if args.after else None,
        )
    except (BundleError, NoteError, OSError, ValueError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
