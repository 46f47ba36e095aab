"""The keys that are never in the database: the key-encryption keys (KEKs) that wrap each
person's data key, and the pseudonym key (``domain/personal.py``).

Where they live (settings): ``kek_file`` (JSON ``{"current": ID, "keys": {ID: base64}}``, the
owner alone may read it) or the same JSON inline in ``CASELEDGER_KEK`` (an orchestrator's
secret); ``pseudonym_key_file`` (base64 of 32 bytes). Outside production, a missing file is
generated at the first start, under ``var/`` by default, and only while the store holds no
data key: a store whose keys another KEK wraps refuses to start (``KeyConfigurationError``,
naming the setting) rather than wrap new keys under a KEK nobody else has.

Rotation (``caseledger keys rotate``) adds a KEK, makes it current and rewraps every data key
under it; no event is rewritten. The previous KEKs stay in the file until ``caseledger keys
retire ID``, which first rewraps whatever a process still running with the old file wrapped
meanwhile, then removes the KEK.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from domain.personal import KEY_BYTES, KeyRing, Keys
from infra.settings import Settings


class KeyConfigurationError(Exception):
    """The keys settings name are missing, malformed or not the store's: the process cannot
    start (never a fallback to plaintext)."""


def create_secret(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` (readable by its owner only) unless it exists; whether
    this call wrote it. Two processes starting together: the first one's file wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink()


def replace_secret(path: Path, content: bytes) -> None:
    """Replace ``path`` atomically (owner-only), for rotation."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def new_kek_id() -> str:
    return f"kek-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def keyring_json(keyring: KeyRing) -> bytes:
    keys = {kid: base64.b64encode(key).decode() for kid, key in keyring.keys.items()}
    return orjson.dumps({"current": keyring.current, "keys": keys}, option=orjson.OPT_INDENT_2)


def parse_keyring(text: str | bytes, source: str) -> KeyRing:
    """A keyring from its JSON; ``source`` names the setting in the error."""
    try:
        spec: Any = orjson.loads(text)
        keys = {str(k): base64.b64decode(v, validate=True) for k, v in spec["keys"].items()}
        return KeyRing(keys, str(spec["current"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, binascii.Error) as e:
        raise KeyConfigurationError(
            f"{source} is not a key-encryption keyring "
            '({"current": ID, "keys": {ID: base64 of 32 bytes}}): ' + f"{type(e).__name__}"
        ) from None
    except ValueError as e:
        raise KeyConfigurationError(f"{source}: {e}") from None


def kek_source(settings: Settings) -> str:
    return "CASELEDGER_KEK" if settings.kek else f"CASELEDGER_KEK_FILE ({settings.kek_file})"


def init_keys(settings: Settings) -> list[tuple[Path, bool]]:
    """Make the keyring file and the pseudonym key file if missing; each path and whether it
    was made now."""
    made = []
    if settings.kek is None:
        kid = new_kek_id()
        ring = KeyRing({kid: secrets.token_bytes(KEY_BYTES)}, kid)
        made.append((settings.kek_file, create_secret(settings.kek_file, keyring_json(ring))))
    pseudonym = base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n"
    made.append(
        (settings.pseudonym_key_file, create_secret(settings.pseudonym_key_file, pseudonym))
    )
    return made


def load_keys(settings: Settings) -> tuple[Keys, list[Path]]:
    """The process's keys, and the files this call generated (outside production, when they
    were missing): the caller removes them again if the store turns out not to be new."""
    generated: list[Path] = []
    may_generate = settings.environment != "production"
    if settings.kek is not None:
        keyring = parse_keyring(settings.kek.get_secret_value(), "CASELEDGER_KEK")
    else:
        path = settings.kek_file
        if not path.exists():
            if not may_generate:
                raise KeyConfigurationError(
                    f"CASELEDGER_KEK_FILE: {path} does not exist (production never generates "
                    "the key-encryption keys: give the file, or CASELEDGER_KEK)"
                )
            kid = new_kek_id()
            fresh = KeyRing({kid: secrets.token_bytes(KEY_BYTES)}, kid)
            if create_secret(path, keyring_json(fresh)):
                generated.append(path)
        keyring = parse_keyring(path.read_bytes(), kek_source(settings))
    path = settings.pseudonym_key_file
    if not path.exists():
        if not may_generate:
            raise KeyConfigurationError(
                f"CASELEDGER_PSEUDONYM_KEY_FILE: {path} does not exist (production never "
                "generates it: pseudonyms would change)"
            )
        if create_secret(path, base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n"):
            generated.append(path)
    try:
        pseudonym_key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except binascii.Error:
        pseudonym_key = b""
    if len(pseudonym_key) != KEY_BYTES:
        raise KeyConfigurationError(
            f"CASELEDGER_PSEUDONYM_KEY_FILE: {path} does not hold base64 of {KEY_BYTES} bytes"
        )
    return Keys(keyring, pseudonym_key), generated


def rotated(keyring: KeyRing) -> KeyRing:
    """The keyring with a new KEK, made current (the others kept)."""
    kid = new_kek_id()
    return KeyRing({**keyring.keys, kid: secrets.token_bytes(KEY_BYTES)}, kid)


def retired(keyring: KeyRing, kek_id: str) -> KeyRing:
    if kek_id == keyring.current:
        raise KeyConfigurationError(f"{kek_id} is the current KEK: rotate first")
    if kek_id not in keyring.keys:
        raise KeyConfigurationError(f"no KEK {kek_id!r} in the keyring")
    return KeyRing({k: v for k, v in keyring.keys.items() if k != kek_id}, keyring.current)
