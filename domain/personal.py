"""Personal data at rest: encrypted per person, erasable, pseudonymous.

**What is encrypted.** Every field the catalogue marks PII (``domain.events.pii_paths``: names,
date of birth, national id, address, note text, and the other free-text fields about a person)
is stored as ``{"enc": base64(nonce || AES-256-GCM ciphertext and tag)}`` in place of its value,
under the person's own **data key** (one per case: a case is one person's record). The
associated data binds each ciphertext to its case, its event id and its field path, so a
ciphertext copied to another case, event or field fails to decrypt. An ``EntryCorrected`` may
change any field: its changed values are encrypted when their key is a PII path of any type.
The store's hash chain covers the payload exactly as stored, ciphertext included, so
verification needs no key.

**Where the keys live.** A data key is stored only wrapped (AES-256-GCM, associated data: the
case id and the key-encryption key's id) by a **key-encryption key** (KEK) that is not in the
database: ``KeyRing``, loaded from the file or environment variable that settings name
(``infra/keys.py``). Each wrapped key records its KEK's id, so a new KEK is added and every
data key rewrapped under it (``caseledger keys rotate``) without rewriting any event.

**Erasure** (crypto-shredding) destroys the wrapped data key (``Store.erase_data_key``); the
ciphertexts stay, chained and verifiable, and decrypt to nothing ever again: each reads as
``ERASED``. The case's ``PersonalDataErased`` entry scrubs whatever a process still holds in
memory (``scrubbed``), and decrypting a case's fields after that entry is never attempted.

**Pseudonyms** are a keyed hash of the case id (HMAC-SHA256 under a key outside the database):
stable, the same on every channel, meaningless without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import CaseLedgerError
from domain.events import CATALOGUE, pii_paths
from domain.state import CaseState

ERASED = "[erased]"
"""What a personal field reads as once the person's data key is destroyed."""

CIPHERTEXT = "enc"
"""The key of the object that stands for an encrypted value in a stored payload."""

_FIELD_AAD = b"caseledger/pii/1"
_KEY_AAD = b"caseledger/dek/1"
NONCE_BYTES = 12
KEY_BYTES = 32


class KeyUnavailable(CaseLedgerError):
    """The key-encryption key a stored data key names is not configured, or does not open it:
    a configuration error of the deployment, never a reason to write or show plaintext."""


class DataKeyMissing(KeyUnavailable):
    """A case holds encrypted fields but the store has no data key for it, erased or not: the
    key's row was removed behind the store's back (its triggers refuse it)."""


class TamperedField(CaseLedgerError):
    """A stored ciphertext failed authentication: it was altered, or moved from another case,
    event or field."""

    def __init__(self, case_id: UUID, event_id: str, path: str, version: int | None = None) -> None:
        at = f" (version {version})" if version is not None else ""
        super().__init__(
            f"the personal field {path} of event {event_id}{at} of case {case_id} fails "
            "authentication: the stored ciphertext was altered or moved"
        )
        self.case_id, self.event_id, self.path, self.version = case_id, event_id, path, version


@dataclass(frozen=True)
class WrappedKey:
    """A person's data key as the store holds it: wrapped by the KEK ``kek_id``; ``wrapped``
    is None once erased."""

    case_id: UUID
    kek_id: str
    wrapped: bytes | None

    @property
    def erased(self) -> bool:
        return self.wrapped is None


class KeyStore(Protocol):
    """Where wrapped data keys are kept (both recorders: ``caseledger_person_keys``). A case's
    first event is stored with its key in one transaction (``CaseStoredEvent.data_key``)."""

    def data_key(self, case_id: UUID) -> WrappedKey | None:
        """The case's wrapped key (``wrapped`` None once erased), or None if it has none."""

    def add_data_key(self, key: WrappedKey) -> WrappedKey:
        """Store the key unless the case has one already; return the one stored."""

    def erase_data_key(self, case_id: UUID) -> bool:
        """Destroy the wrapped key (its row stays, marked erased); whether there was one."""

    def data_keys(self, after: UUID | None, limit: int) -> list[WrappedKey]:
        """Stored keys not erased, in case id order after ``after``: a page, for rotation."""

    def rewrap(self, keys: Sequence[WrappedKey]) -> int:
        """Replace these cases' wrapped keys (not erased ones); how many were replaced."""

    def kek_samples(self) -> list[WrappedKey]:
        """One stored key (not erased) per KEK id in use: the start checks each opens."""


@dataclass(frozen=True)
class Keys:
    """The keys a process needs that are never in the database: the key-encryption keys and
    the pseudonym key (``infra/keys.py`` loads them from the files settings name)."""

    keyring: KeyRing
    pseudonym_key: bytes


class Sealing(Protocol):
    """A mapper that encrypts personal fields on the way to the store and decrypts them on
    the way back (``infra.serialization.CaseEventMapper``), with this process's vault."""

    personal: PersonalData | None


class KeyRing:
    """The key-encryption keys, by id; ``current`` wraps new data keys."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError(f"the current KEK {current!r} is not among the keys")
        for kid, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"KEK {kid!r} is not {KEY_BYTES} bytes")
        self.keys, self.current = dict(keys), current

    def wrap(self, case_id: UUID, data_key: bytes, kek_id: str | None = None) -> WrappedKey:
        kid = kek_id or self.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[kid]).encrypt(nonce, data_key, _key_aad(case_id, kid))
        return WrappedKey(case_id, kid, nonce + sealed)

    def unwrap(self, key: WrappedKey) -> bytes:
        if key.wrapped is None:
            raise KeyUnavailable(f"the data key of case {key.case_id} was erased")
        kek = self.keys.get(key.kek_id)
        if kek is None:
            raise KeyUnavailable(
                f"the data key of case {key.case_id} is wrapped by KEK {key.kek_id!r}, which "
                "is not configured"
            )
        nonce, sealed = key.wrapped[:NONCE_BYTES], key.wrapped[NONCE_BYTES:]
        try:
            return AESGCM(kek).decrypt(nonce, sealed, _key_aad(key.case_id, key.kek_id))
        except InvalidTag:
            raise KeyUnavailable(
                f"KEK {key.kek_id!r} does not open the data key of case {key.case_id}: a "
                "different key under the same id, or the wrapped key was altered"
            ) from None


def _key_aad(case_id: UUID, kek_id: str) -> bytes:
    return b"\0".join((_KEY_AAD, str(case_id).encode(), kek_id.encode()))


def _field_aad(case_id: UUID, event_id: str, path: str) -> bytes:
    return b"\0".join((_FIELD_AAD, str(case_id).encode(), event_id.encode(), path.encode()))


# --- which fields ------------------------------------------------------------------------------

PII_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    name: tuple(tuple(p.split(".")) for p in pii_paths(t.model)) for name, t in CATALOGUE.items()
}
"""Each type's PII fields, as paths into its payload."""

CORRECTABLE_PII = frozenset(
    ".".join(p[:n]) for paths in PII_PATHS.values() for p in paths for n in range(1, len(p) + 1)
)
"""Keys of an ``EntryCorrected``'s ``changes`` whose values are encrypted: a PII path of any
type, or an object holding one (``person`` as a whole); the correction's target type is not
in the correction itself."""


def personal_paths(type_: str, data: dict[str, Any]) -> Iterable[tuple[str, ...]]:
    """The paths of this payload that hold personal data (present or not)."""
    yield from PII_PATHS.get(type_, ())
    if type_ == "EntryCorrected" and isinstance(data.get("changes"), dict):
        for key in data["changes"]:
            if key in CORRECTABLE_PII:
                yield ("changes", key)


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _with(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at ``path`` (the dicts along it copied)."""
    out = dict(data)
    node = out
    for part in path[:-1]:
        node[part] = node = dict(node[part])
    node[path[-1]] = value
    return out


def scrubbed(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """The payload with every personal value present replaced by ``ERASED``."""
    for path in personal_paths(type_, data):
        if _get(data, path) is not None:
            data = _with(data, path, ERASED)
    return data


def is_ciphertext(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {CIPHERTEXT}


def plain_paths(type_: str, data: dict[str, Any]) -> list[str]:
    """The personal fields of a stored payload held in plain (recorded before encryption)."""
    return [
        ".".join(p)
        for p in personal_paths(type_, data)
        if _get(data, p) is not None and not is_ciphertext(_get(data, p))
    ]


# --- legal holds ------------------------------------------------------------------------------

COURT_STAGES = frozenset(
    {
        "sent_to_court",
        "accepted_by_court",
        "session_scheduled",
        "session_postponed",
        "session_held",
        "decided",
        "appealed",
        "appeal_decided",
        "in_effect",
        "execution_deferred",
    }
)


def legal_holds(
    state: CaseState, last_recorded: datetime, now: datetime, retention_days: int
) -> list[str]:
    """What stops erasing the person's data now (Law 91/2025 lets a controller keep data a
    legal duty needs): the case still managed (not closed), a compulsory-rehab dossier still
    being compiled, a court procedure not ended, or fewer than ``retention_days`` since the
    case's last entry (settings: ``personal_data_retention_days``)."""
    holds = []
    if not state.closed:
        holds.append("case_open")
    open_dossiers = [d for d in state.dossiers.values() if not d.closed]
    if any(d.status not in COURT_STAGES for d in open_dossiers):
        holds.append("open_dossier")
    if any(d.status in COURT_STAGES for d in open_dossiers):
        holds.append("court_procedure")
    if retention_days and now < last_recorded + timedelta(days=retention_days):
        holds.append("retention_period")
    return holds


# --- the vault ---------------------------------------------------------------------------------


class PersonalData:
    """Encryption of personal fields with each person's data key, erasure and pseudonyms.

    Unwrapped data keys are kept in memory for a few minutes (``cache_seconds``), at most
    ``cache_size`` of them, so that appends and reads of a busy case do not read its key each
    time; erasure drops the key here at once, and other processes' copies expire (their reads
    are scrubbed meanwhile by the case's ``PersonalDataErased`` entry).
    """

    def __init__(
        self,
        keyring: KeyRing,
        keys: KeyStore,
        pseudonym_key: bytes,
        cache_size: int = 10_000,
        cache_seconds: float = 300.0,
    ) -> None:
        self.keyring, self.keys = keyring, keys
        self._pseudonym_key = pseudonym_key
        self._cache: OrderedDict[UUID, tuple[bytes, float]] = OrderedDict()
        self._cache_size, self._cache_seconds = cache_size, cache_seconds
        self._lock = threading.Lock()

    # --- fields ---

    def seal(
        self, case_id: UUID, event_id: str, type_: str, data: dict[str, Any], first: bool
    ) -> tuple[dict[str, Any], WrappedKey | None]:
        """The payload with its personal values encrypted under the person's key; for a case's
        ``first`` event, a new key is made and returned wrapped, to be stored with the event."""
        new = None
        if first:
            plain = AESGCM.generate_key(256)
            new = self.keyring.wrap(case_id, plain)
            self._keep(case_id, plain)
        paths = [p for p in personal_paths(type_, data) if _get(data, p) is not None]
        if not paths:
            return data, new
        aead = AESGCM(self._data_key(case_id, create=True)[0])
        for path in paths:
            dotted = ".".join(path)
            nonce = os.urandom(NONCE_BYTES)
            plain_value = orjson.dumps(_get(data, path))
            sealed = aead.encrypt(nonce, plain_value, _field_aad(case_id, event_id, dotted))
            data = _with(data, path, {CIPHERTEXT: base64.b64encode(nonce + sealed).decode()})
        return data, new

    def open(self, case_id: UUID, event_id: str, type_: str, data: dict[str, Any]) -> Any:
        """The payload with its personal values decrypted; ``ERASED`` where the person's key
        was destroyed. A value that fails authentication raises ``TamperedField``."""
        if type_ == "PersonalDataErased":
            self.forget(case_id)
        paths = [p for p in personal_paths(type_, data) if is_ciphertext(_get(data, p))]
        if not paths:
            return data
        key, cached = self._data_key(case_id, create=False)
        if key is None:
            return scrubbed(type_, data)
        try:
            return _decrypted(key, case_id, event_id, data, paths)
        except TamperedField:
            if not cached:
                raise
        # a key this process made for a case whose opening lost a race: the stored one decides
        self.forget(case_id)
        key, _ = self._data_key(case_id, create=False)
        if key is None:
            return scrubbed(type_, data)
        return _decrypted(key, case_id, event_id, data, paths)

    def check(self, case_id: UUID, event_id: str, type_: str, data: dict[str, Any]) -> list[str]:
        """The personal fields of a stored payload that fail authentication (for verify), or
        that have no data key to open them; none can be checked once the key is erased."""
        paths = [p for p in personal_paths(type_, data) if is_ciphertext(_get(data, p))]
        if not paths:
            return []
        try:
            key, _ = self._data_key(case_id, create=False)
        except DataKeyMissing:
            return [".".join(p) + " (no data key)" for p in paths]
        failed: list[str] = []
        for path in paths:
            if key is None:
                continue
            try:
                _decrypted(key, case_id, event_id, data, [path])
            except TamperedField:
                failed.append(".".join(path))
        return failed

    # --- keys ---

    def erase(self, case_id: UUID) -> bool:
        """Destroy the person's data key; whether there was one to destroy."""
        self.forget(case_id)
        erased = self.keys.erase_data_key(case_id)
        self.forget(case_id)
        return erased

    def forget(self, case_id: UUID) -> None:
        with self._lock:
            self._cache.pop(case_id, None)

    def _keep(self, case_id: UUID, key: bytes) -> None:
        with self._lock:
            self._cache[case_id] = (key, time.monotonic() + self._cache_seconds)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _data_key(self, case_id: UUID, create: bool) -> tuple[Any, bool]:
        """The person's key and whether it came from this process's cache; None if it has
        none (or it was erased) and ``create`` is false."""
        with self._lock:
            cached = self._cache.get(case_id)
            if cached is not None and cached[1] > time.monotonic():
                self._cache.move_to_end(case_id)
                return cached[0], True
        stored = self.keys.data_key(case_id)
        if stored is None and create:  # a case recorded before its events were encrypted
            stored = self.keys.add_data_key(self.keyring.wrap(case_id, AESGCM.generate_key(256)))
        if stored is None:
            raise DataKeyMissing(
                f"case {case_id} holds encrypted personal fields but the store has no data key "
                "for it, nor a record of its erasure: the key was removed behind the store's back"
            )
        if stored.erased:
            if create:
                raise KeyUnavailable(f"the personal data of case {case_id} was erased")
            return None, False
        key = self.keyring.unwrap(stored)
        self._keep(case_id, key)
        return key, False

    # --- pseudonyms ---

    def pseudonym(self, case_id: UUID | str) -> str:
        return pseudonym(self._pseudonym_key, case_id)


def _decrypted(
    key: bytes, case_id: UUID, event_id: str, data: dict[str, Any], paths: list[tuple[str, ...]]
) -> dict[str, Any]:
    aead = AESGCM(key)
    for path in paths:
        dotted = ".".join(path)
        try:
            raw = base64.b64decode(_get(data, path)[CIPHERTEXT], validate=True)
            plain = aead.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], _field_aad(case_id, event_id, dotted)
            )
            value = orjson.loads(plain)
        except (InvalidTag, ValueError, TypeError):
            raise TamperedField(case_id, event_id, dotted) from None
        data = _with(data, path, value)
    return data


def pseudonym(key: bytes, case_id: UUID | str) -> str:
    """``P-`` and 16 base32 characters of HMAC-SHA256(key, case id): stable per person."""
    digest = hmac.new(key, str(case_id).encode(), hashlib.sha256).digest()
    return "P-" + base64.b32encode(digest[:10]).decode()
