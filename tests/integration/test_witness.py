"""The witness (``infra/witness.py``, C2SP tlog-witness): it cosigns a log's checkpoint only
if it extends the last one it cosigned, answers each refusal with the spec's status, keeps
what a misbehaving log signed, and never lets two requests advance a log from the same size.

The logs here are built with ``domain/tlog.py``: leaves appended to a ``Frontier``, whose
completed subtrees give roots and consistency proofs as the store computes them."""

from __future__ import annotations

import base64
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from domain import tlog
from infra import witness
from infra.cli import cli
from infra.witness import (
    SIZE_CONTENT_TYPE,
    StaleSize,
    WitnessRefused,
    WitnessState,
    WitnessUnreachable,
    add_checkpoint,
    witness_app,
)

ORIGIN = "test.caseledger/log"
NOW = 1_800_000_000


def reads_back(key: tlog.Signer) -> bool:
    try:
        parsed = tlog.Signer.parse(key.text), tlog.Verifier.parse(key.verifier.vkey)
    except tlog.NoteError:
        return False
    return parsed == (key, key.verifier)


def parseable_key(name: str, kind: int = tlog.ED25519) -> tlog.Signer:
    """A new key, checked to read back from its text and vkey."""
    key = tlog.Signer.generate(name, kind)
    assert reads_back(key)
    return key


class Log:
    """A log in memory: its leaves' completed subtrees, its key, signed checkpoints of any
    size it has reached, consistency proofs between them."""

    def __init__(self, key: tlog.Signer, origin: str = ORIGIN, prefix: bytes = b"entry") -> None:
        self.key = key
        self.origin = origin
        self.prefix = prefix
        self.frontier = tlog.Frontier(0, [])
        self.nodes: dict[tlog.Node, bytes] = {}

    @property
    def size(self) -> int:
        return self.frontier.size

    def grow(self, to: int, prefix: bytes | None = None) -> Log:
        while self.size < to:
            entry = (prefix or self.prefix) + b" %d" % self.size
            for level, index, digest in self.frontier.append(tlog.leaf_hash(entry)):
                self.nodes[(level, index)] = digest
        return self

    def fetch(self, nodes: Iterable[tlog.Node]) -> Mapping[tlog.Node, bytes]:
        return {n: self.nodes[n] for n in nodes}

    def root(self, size: int) -> bytes:
        return tlog.root_of_size(size, self.fetch)

    def checkpoint(self, size: int | None = None, root: bytes | None = None) -> str:
        size = self.size if size is None else size
        text = tlog.Checkpoint(self.origin, size, root or self.root(size)).text
        return text + "\n" + self.key.signature_line(text)

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = self.size if new is None else new
        if old == 0:
            return []
        return tlog.proof_hashes(tlog.consistency_ranges(old, new), self.fetch)


def body(old: int, proof: list[bytes], note: str) -> bytes:
    lines = "".join(base64.b64encode(p).decode() + "\n" for p in proof)
    return f"old {old}\n{lines}\n{note}".encode()


def submit(client: TestClient, log: Log, old: int, size: int | None = None) -> httpx.Response:
    size = log.size if size is None else size
    answer: httpx.Response = client.post(
        "/add-checkpoint", content=body(old, log.proof(old, size), log.checkpoint(size))
    )
    return answer


@pytest.fixture
def log_key() -> tlog.Signer:
    return tlog.Signer.generate(ORIGIN)


@pytest.fixture
def witness_key() -> tlog.Signer:
    return tlog.Signer.generate("w1.example", tlog.COSIGNATURE)


@pytest.fixture
def state(tmp_path: Path) -> WitnessState:
    return WitnessState(tmp_path / "witness.sqlite")


@pytest.fixture
def app(witness_key: tlog.Signer, log_key: tlog.Signer, state: WitnessState) -> FastAPI:
    return witness_app(witness_key, {ORIGIN: log_key.verifier}, state, clock=lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def cosigned(note: str, answer: str, witness_key: tlog.Signer) -> int | None:
    lines = answer.splitlines(keepends=True)
    return tlog.Note.parse(note).with_signatures(lines).cosigned_at(witness_key.verifier)


# --- Cosigning ----------------------------------------------------------------------------------


def test_the_first_checkpoint_is_cosigned_from_old_size_zero(
    client: TestClient, log_key: tlog.Signer, witness_key: tlog.Signer, state: WitnessState
) -> None:
    log = Log(log_key).grow(5)

    answer = submit(client, log, 0)

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith("— w1.example ") and answer.text.endswith("\n")
    assert cosigned(log.checkpoint(), answer.text, witness_key) == NOW
    assert state.latest(ORIGIN) == witness.TreeHead(5, log.root(5))


def test_consistent_growth_is_cosigned_each_time(
    client: TestClient, log_key: tlog.Signer, witness_key: tlog.Signer, state: WitnessState
) -> None:
    log = Log(log_key)
    old = 0
    for size in (1, 2, 3, 4, 8, 12, 13, 32, 33, 100):
        log.grow(size)
        answer = submit(client, log, old)
        assert answer.status_code == 200, f"{old} -> {size}: {answer.text}"
        assert cosigned(log.checkpoint(), answer.text, witness_key) == NOW
        old = size
    assert state.latest(ORIGIN).size == 100


def test_the_same_checkpoint_again_is_cosigned_again(
    client: TestClient, log_key: tlog.Signer
) -> None:
    log = Log(log_key).grow(7)
    assert submit(client, log, 0).status_code == 200

    assert submit(client, log, 7).status_code == 200


def test_an_empty_log_is_cosigned_with_the_empty_root_only(
    client: TestClient, log_key: tlog.Signer
) -> None:
    log = Log(log_key)

    assert submit(client, log, 0).status_code == 200
    wrong = client.post("/add-checkpoint", content=body(0, [], log.checkpoint(0, b"\x01" * 32)))

    assert wrong.status_code == 422
    assert "size 0" in wrong.text


def test_other_signatures_on_the_note_are_ignored(client: TestClient, log_key: tlog.Signer) -> None:
    log = Log(log_key).grow(3)
    stranger = tlog.Signer.generate("stranger.example")
    note = log.checkpoint()
    note += stranger.signature_line(tlog.Note.parse(note).text)

    assert client.post("/add-checkpoint", content=body(0, [], note)).status_code == 200


# --- Refusals -------------------------------------------------------------------------------


def test_a_stale_old_size_is_answered_with_the_size_the_witness_knows(
    client: TestClient, log_key: tlog.Signer
) -> None:
    log = Log(log_key).grow(12)
    assert submit(client, log, 0).status_code == 200
    log.grow(15)

    answer = submit(client, log, 5)

    assert answer.status_code == 409
    assert answer.headers["content-type"] == SIZE_CONTENT_TYPE
    assert answer.text == "12\n"
    assert submit(client, log, 0).text == "12\n"  # a log that knows nothing learns the size


def test_a_rewritten_history_is_refused_and_kept_as_evidence(
    client: TestClient, log_key: tlog.Signer, state: WitnessState
) -> None:
    log = Log(log_key).grow(12)
    assert submit(client, log, 0).status_code == 200
    # the same key signs a tree whose first 10 leaves are the same and the 11th on differ
    forked = Log(log_key).grow(10).grow(15, prefix=b"rewritten")
    request = body(12, forked.proof(12), forked.checkpoint())

    answer = client.post("/add-checkpoint", content=request)

    assert answer.status_code == 422
    assert answer.text.startswith("consistency proof from 12 to 15 does not verify: ")
    assert state.latest(ORIGIN) == witness.TreeHead(12, log.root(12))
    [refusal] = state.refusals(ORIGIN)
    assert refusal.body == request
    assert refusal.reason == answer.text.strip()
    assert refusal.at == NOW


def test_a_different_root_at_the_same_size_is_refused(
    client: TestClient, log_key: tlog.Signer, state: WitnessState
) -> None:
    log = Log(log_key).grow(12)
    assert submit(client, log, 0).status_code == 200
    forked = Log(log_key).grow(11).grow(12, prefix=b"rewritten")

    answer = client.post("/add-checkpoint", content=body(12, [], forked.checkpoint()))

    assert answer.status_code == 422
    assert "root cosigned at that size" in answer.text
    assert len(state.refusals(ORIGIN)) == 1


def test_a_proof_with_old_size_zero_is_refused(client: TestClient, log_key: tlog.Signer) -> None:
    log = Log(log_key).grow(4)

    answer = client.post("/add-checkpoint", content=body(0, [log.root(2)], log.checkpoint()))

    assert answer.status_code == 422
    assert "must be empty" in answer.text


def test_an_unknown_origin_is_not_found(client: TestClient) -> None:
    other = Log(tlog.Signer.generate("other.example/log"), origin="other.example/log").grow(3)

    answer = submit(client, other, 0)

    assert answer.status_code == 404
    assert "other.example/log" in answer.text


def test_a_forged_log_signature_is_forbidden(
    client: TestClient, log_key: tlog.Signer, state: WitnessState
) -> None:
    log = Log(log_key).grow(3)
    note = tlog.Note.parse(log.checkpoint())
    [real] = note.signatures
    forged = tlog.Note(note.text, (tlog.Signature(real.name, real.id, bytes(64)),))

    answer = client.post("/add-checkpoint", content=body(0, [], str(forged)))

    assert answer.status_code == 403
    assert "does not verify" in answer.text
    assert state.latest(ORIGIN).size == 0
    assert state.refusals() == []  # no proof of anything: the log did not sign it


def test_a_checkpoint_signed_by_an_unknown_key_only_is_forbidden(
    client: TestClient, state: WitnessState
) -> None:
    impostor = Log(tlog.Signer.generate(ORIGIN)).grow(3)  # same name, another key

    answer = submit(client, impostor, 0)

    assert answer.status_code == 403
    assert "no signature of the log key" in answer.text
    assert state.latest(ORIGIN).size == 0


def test_an_old_size_past_the_checkpoint_is_a_bad_request(
    client: TestClient, log_key: tlog.Signer
) -> None:
    log = Log(log_key).grow(5)

    answer = client.post("/add-checkpoint", content=body(6, [], log.checkpoint()))

    assert answer.status_code == 400
    assert "old size 6 is larger than the tree size 5" in answer.text


def _good_note(log_key: tlog.Signer) -> str:
    return Log(log_key).grow(2).checkpoint()


@pytest.mark.parametrize(
    "make",
    [
        lambda note: b"",
        lambda note: b"\xff\xfe garbage",
        lambda note: b"hello world\n",
        lambda note: ("old 0\n" + note).encode(),  # no empty line
        lambda note: ("\n" + note).encode(),  # no old line
        lambda note: ("old 00\n\n" + note).encode(),
        lambda note: ("old -1\n\n" + note).encode(),
        lambda note: ("old 0 \n\n" + note).encode(),
        lambda note: ("old 1\nnot base64!\n\n" + note).encode(),
        lambda note: ("old 1\nAAAA\n\n" + note).encode(),  # base64, not 32 bytes
        lambda note: ("old 1\n" + ("A" * 43 + "=\n") * 64 + "\n" + note).encode(),  # 64 lines
        lambda note: b"old 0\n\nnot a note\n",
        lambda note: ("old 0\n\n" + note.replace("\n", "\n\n", 1)).encode(),  # not a checkpoint
    ],
)
def test_a_malformed_body_is_a_bad_request(
    client: TestClient, log_key: tlog.Signer, make: Callable[[str], bytes]
) -> None:
    answer = client.post("/add-checkpoint", content=make(_good_note(log_key)))

    assert answer.status_code == 400
    assert answer.text.startswith("malformed request: ")


def test_a_tree_size_in_other_digits_than_ascii_is_a_bad_request(
    client: TestClient, log_key: tlog.Signer
) -> None:
    text = f"{ORIGIN}\n\u0661\u0662\n{base64.b64encode(bytes(32)).decode()}\n"  # Arabic-Indic 12
    note = text + "\n" + log_key.signature_line(text)

    answer = client.post("/add-checkpoint", content=body(0, [], note))

    assert answer.status_code == 400


def test_a_body_past_the_limit_is_too_large(client: TestClient) -> None:
    answer = client.post("/add-checkpoint", content=b"old 0\n" + b"A" * witness.MAX_BODY)

    assert answer.status_code == 413


def test_a_body_past_the_limit_without_a_length_is_too_large(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(witness.MAX_BODY // 1024 + 1):
            yield b"A" * 1024

    answer = client.post("/add-checkpoint", content=chunks())

    assert answer.status_code == 413


def test_only_post_is_served(client: TestClient) -> None:
    assert client.get("/add-checkpoint").status_code == 405


# --- State ------------------------------------------------------------------------------------


def test_the_state_outlives_the_app(
    witness_key: tlog.Signer, log_key: tlog.Signer, tmp_path: Path
) -> None:
    path = tmp_path / "w" / "state.sqlite"
    log = Log(log_key).grow(9)
    with TestClient(witness_app(witness_key, {ORIGIN: log_key.verifier}, WitnessState(path))) as c:
        assert submit(c, log, 0).status_code == 200

    again = witness_app(witness_key, {ORIGIN: log_key.verifier}, WitnessState(path))
    with TestClient(again) as c:
        assert submit(c, log.grow(10), 0).text == "9\n"
        assert submit(c, log, 9).status_code == 200


def test_two_submissions_from_the_same_old_size_one_wins(
    witness_key: tlog.Signer, log_key: tlog.Signer, state: WitnessState
) -> None:
    log = Log(log_key).grow(4)
    requests = [body(4, log.grow(size).proof(4, size), log.checkpoint(size)) for size in (6, 9)]
    # in the race, every request has passed its checks (read size 4) before any signs and
    # records its new size
    racing = threading.Event()
    checked = threading.Barrier(len(requests), timeout=10)

    def clock() -> float:
        if racing.is_set():
            checked.wait()
        return NOW

    app = witness_app(witness_key, {ORIGIN: log_key.verifier}, state, clock=clock)
    with TestClient(app) as c:
        assert submit(c, log, 0, 4).status_code == 200
        racing.set()
        with ThreadPoolExecutor(len(requests)) as pool:
            answers = list(pool.map(lambda r: c.post("/add-checkpoint", content=r), requests))

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409], [a.text for a in answers]
    winner = 6 if answers[0].status_code == 200 else 9
    assert state.latest(ORIGIN) == witness.TreeHead(winner, log.root(winner))
    [loser] = [a for a in answers if a.status_code == 409]
    assert loser.text == f"{winner}\n"


def test_compare_and_set_refuses_a_moved_head(state: WitnessState) -> None:
    first = witness.TreeHead(3, b"\x03" * 32)
    assert state.compare_and_set(ORIGIN, witness.NEVER_COSIGNED, first, "note", NOW)

    assert not state.compare_and_set(ORIGIN, witness.NEVER_COSIGNED, first, "note", NOW)
    assert not state.compare_and_set(
        ORIGIN, witness.TreeHead(3, b"\x04" * 32), witness.TreeHead(5, b"\x05" * 32), "", NOW
    )
    assert state.latest(ORIGIN) == first


def test_the_refusals_are_append_only(state: WitnessState) -> None:
    import sqlite3

    state.record_refusal(ORIGIN, NOW, "inconsistent", b"body")

    with sqlite3.connect(state.path) as db, pytest.raises(sqlite3.DatabaseError, match="append"):
        db.execute("DELETE FROM refused")
    assert len(state.refusals()) == 1


def test_monitors_get_the_latest_cosigned_checkpoint(
    client: TestClient, log_key: tlog.Signer, witness_key: tlog.Signer
) -> None:
    import hashlib

    path = f"/{hashlib.sha256(ORIGIN.encode()).hexdigest()}/checkpoint"
    assert client.get(path).status_code == 404
    log = Log(log_key).grow(6)
    assert submit(client, log, 0).status_code == 200

    answer = client.get(path)

    assert answer.status_code == 200
    note = tlog.Note.parse(answer.text)
    assert note.signed_by(log_key.verifier)
    assert note.cosigned_at(witness_key.verifier) == NOW
    assert tlog.Checkpoint.parse(note.text).size == 6


def test_keys_of_the_wrong_kind_are_refused(
    witness_key: tlog.Signer, log_key: tlog.Signer, state: WitnessState
) -> None:
    with pytest.raises(ValueError, match="cosigner key"):
        witness_app(log_key, {ORIGIN: log_key.verifier}, state)
    with pytest.raises(ValueError, match="Ed25519 note key"):
        witness_app(witness_key, {ORIGIN: witness_key.verifier}, state)


# --- The log's side, against a running witness ----------------------------------------------


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn in a thread, on a free port; its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the witness did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_the_client_gets_cosignatures_and_learns_a_stale_size(
    served: str, log_key: tlog.Signer, witness_key: tlog.Signer
) -> None:
    log = Log(log_key).grow(10)
    lines = add_checkpoint(served, 0, [], log.checkpoint())
    assert cosigned(log.checkpoint(), "".join(lines), witness_key) == NOW

    log.grow(20)
    with pytest.raises(StaleSize) as stale:
        add_checkpoint(served + "/", 4, log.proof(4), log.checkpoint())
    assert stale.value.known_size == 10

    lines = add_checkpoint(served, stale.value.known_size, log.proof(10), log.checkpoint())
    assert cosigned(log.checkpoint(), "".join(lines), witness_key) == NOW


def test_the_client_reports_a_refusal_with_its_reason(served: str, log_key: tlog.Signer) -> None:
    log = Log(log_key).grow(10)
    assert add_checkpoint(served, 0, [], log.checkpoint())
    forked = Log(log_key).grow(10, prefix=b"rewritten").grow(12)

    with pytest.raises(WitnessRefused) as refused:
        add_checkpoint(served, 10, forked.proof(10), forked.checkpoint())

    assert refused.value.status == 422
    assert "consistency proof from 10 to 12 does not verify" in refused.value.reason


def test_the_client_reports_an_unreachable_witness() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there now

    with pytest.raises(WitnessUnreachable):
        add_checkpoint(f"http://127.0.0.1:{port}", 0, [], "note\n", timeout=2)


# --- The command line ---------------------------------------------------------------------------


def invoke(args: list[str]) -> Result:
    """``caseledger ARGS``, its errors on lines wide enough to read whole."""
    return CliRunner().invoke(cli, args, env={"COLUMNS": "400"})


def test_keygen_writes_an_owner_only_key_once_and_prints_its_vkey(tmp_path: Path) -> None:
    out = tmp_path / "keys" / "witness.key"

    made = invoke(["witness", "keygen", "--name", "w9.example", "--out", str(out)])

    assert made.exit_code == 0, made.output
    signer = tlog.Signer.parse(out.read_text())
    assert signer.kind == tlog.COSIGNATURE
    assert made.stdout.strip() == signer.verifier.vkey
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    again = CliRunner().invoke(
        cli, ["witness", "keygen", "--name", "w9.example", "--out", str(out)]
    )
    assert again.exit_code == 1
    assert tlog.Signer.parse(out.read_text()) == signer


def test_serve_pairs_each_log_key_with_its_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "witness.key"
    invoke(["witness", "keygen", "--name", "w1.example", "--out", str(key_file)])
    a, b = parseable_key("a.example/log"), parseable_key("b.example/log")
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(witness, "serve", lambda *args, **kw: calls.append((*args, kw)))
    args = ["witness", "serve", "--key", str(key_file)]
    args += ["--log-key", a.verifier.vkey, "--origin", "a.example/log"]
    args += ["--log-key", b.verifier.vkey, "--origin", "b.example/log"]

    ran = invoke([*args, "--state", str(tmp_path / "s.sqlite"), "--port", "9"])

    assert ran.exit_code == 0, ran.output
    [(signer, logs, state, options)] = calls
    assert signer == tlog.Signer.parse(key_file.read_text())
    assert logs == {"a.example/log": a.verifier, "b.example/log": b.verifier}
    assert isinstance(state, WitnessState) and state.path == tmp_path / "s.sqlite"
    assert options == {"host": "127.0.0.1", "port": 9}

    unpaired = invoke([*args, "--log-key", a.verifier.vkey])
    assert unpaired.exit_code == 2
    assert "3 --log-key for 2 --origin" in unpaired.output
    wrong_kind = ["--key", str(key_file), "--log-key", signer.verifier.vkey, "--origin", "x"]
    refused = invoke(["witness", "serve", *wrong_kind])
    assert refused.exit_code == 2
    assert "Ed25519 note key" in refused.output
    log_key_file = tmp_path / "log.key"
    log_key_file.write_text(a.text + "\n")
    not_a_cosigner = ["--key", str(log_key_file), "--log-key", a.verifier.vkey, "--origin", "x"]
    refused = invoke(["witness", "serve", *not_a_cosigner])
    assert refused.exit_code == 2
    assert "not a cosigner key" in refused.output


def test_the_served_witness_cosigns_and_stops_cleanly(tmp_path: Path) -> None:
    """``caseledger witness serve`` as a process of its own, stopped by SIGTERM."""
    key = parseable_key("w1.example", tlog.COSIGNATURE)
    log_key = parseable_key(ORIGIN)
    (tmp_path / "witness.key").write_text(key.text + "\n")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    command = [
        sys.executable, "-c", "from infra.cli import main; main()",
        "witness", "serve", "--key", str(tmp_path / "witness.key"),
        "--log-key", log_key.verifier.vkey, "--origin", ORIGIN,
        "--state", str(tmp_path / "state.sqlite"), "--port", str(port),
    ]  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        log = Log(log_key).grow(3)
        deadline = time.monotonic() + 20
        while True:
            try:
                lines = add_checkpoint(url, 0, [], log.checkpoint())
                break
            except WitnessUnreachable:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the witness did not start"
                time.sleep(0.1)
        assert tlog.Note.parse(log.checkpoint()).with_signatures(lines).cosigned_at(key.verifier)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    # uvicorn shuts down, then re-raises the SIGTERM it caught, as a process is expected to
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert "Traceback" not in stderr, stderr
    assert f"witness {key.verifier.vkey}" in stderr
    assert os.path.exists(tmp_path / "state.sqlite")


def test_serve_takes_a_vkey_with_a_plus_in_its_base64(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "witness.key"
    key_file.write_text(parseable_key("w1.example", tlog.COSIGNATURE).text + "\n")
    while "+" not in (log_key := tlog.Signer.generate(ORIGIN)).verifier.vkey.split("+", 2)[2]:
        pass
    monkeypatch.setattr(witness, "serve", lambda *args, **kw: None)
    args = ["--key", str(key_file), "--log-key", log_key.verifier.vkey, "--origin", ORIGIN]
    args += ["--state", str(tmp_path / "state.sqlite")]

    ran = invoke(["witness", "serve", *args])

    assert ran.exit_code == 0, ran.output
