"""The API against its own OpenAPI document, by a peer: schemathesis generates requests for every
operation from ``/openapi.json`` (valid and invalid ones) and runs all of its checks on each
answer: no 5xx, status codes, content types, headers and bodies as documented, invalid input
refused, valid input accepted.

The app runs on SQLite with its runner, as ``make run`` has it; every request carries a valid
identity. Dates and instants are drawn inside the window the API declares (1900-2100, instants
not in the future), and the rules between fields are kept (``within_cross_field_rules``): outside
those the API answers 422 by design, which the generator would otherwise propose as valid input.

Under ``CI=true`` the cases are the same each run (a failure there is reproducible); elsewhere
each run draws new ones. The counts are printed (``pytest -s``).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.schemas import APIOperation

from api.app import create_app
from domain.events import ACTING_BODIES, UNIT_CODE_PATTERN
from infra.settings import Settings
from tests.api.identity import IDENTITY

EXAMPLES_PER_OPERATION = 50
load_all_checks()
ALL_CHECKS = CHECKS.get_all()

schemathesis.openapi.format("date", st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(str))
schemathesis.openapi.format(
    "date-time",
    st.datetimes(
        datetime(1900, 1, 2),
        datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1),
        timezones=st.just(UTC),
    ).map(datetime.isoformat),
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FastAPI]]:
    """The app served over HTTP by uvicorn in a thread, as ``make run`` serves it."""
    path = tmp_path_factory.mktemp("contract") / "ledger.sqlite3"
    app = create_app(Settings(environment="test", database_url=f"sqlite:///{path}"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=30)


def test_every_operation_keeps_the_documented_contract(served: tuple[str, FastAPI]) -> None:
    base_url, app = served
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    calls: dict[str, int] = {}
    failures: dict[str, str] = {}

    def call(case: schemathesis.Case, label: str) -> None:
        within_cross_field_rules(case, app.state.ledger.head())
        calls[label] += 1
        # the identity given as explicit auth: the auth checks then probe the operation without
        # it and with an invalid one (both must be refused), instead of guessing
        case.call_and_validate(base_url=base_url, checks=ALL_CHECKS, headers=IDENTITY)

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.method.upper()} {operation.path} ({mode.value})"
            calls[label] = 0
            try:
                exercise(operation, mode, lambda case, label=label: call(case, label))
            except Unsatisfiable:  # nothing to make invalid: an operation without parameters
                assert mode is GenerationMode.NEGATIVE, label
            except (
                Exception,
                BaseExceptionGroup,
            ) as e:  # every operation is tried; all failures are reported together
                failures[label] = f"{type(e).__name__}: {e}"

    print(
        f"schemathesis: {len(operations)} operations, {sum(calls.values())} cases, "
        f"{len(failures)} failing operations"
    )
    assert len(operations) >= 12, sorted(calls)
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


def exercise(
    operation: APIOperation, mode: GenerationMode, call: Callable[[schemathesis.Case], None]
) -> None:
    # the identity is fixed: negative cases break the request itself, not who sends it
    @given(case=operation.as_strategy(generation_mode=mode, headers=IDENTITY))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=os.environ.get("CI", "").lower() == "true",  # CI: the same cases each run
    )
    def run(case: schemathesis.Case) -> None:
        # an empty list or object in the query is sent as nothing at all: not an invalid request
        assume(not any(v in ([], {}) for v in (case.query or {}).values()))
        call(case)

    run()


def within_cross_field_rules(case: schemathesis.Case, head: int) -> None:
    """Rules between a value and the state or another field, which a schema cannot say and the
    API answers 422 by design: ``min_position`` no further than the log head, ``from`` no later
    than ``to``, org-unit codes naming units on the event's date (and a declared code list no
    later than it). Positive cases are kept inside them; negative ones break them anyway."""
    body = case.body if isinstance(case.body, dict) else {}
    for event in [body, *(e for e in body.get("events", []) if isinstance(e, dict))]:
        kinds = ACTING_BODIES.get(str(event.get("type")))
        if kinds:  # the types of Law 120/2025 name the bodies whose acts they are
            event["acting_body"] = {"kind": min(kinds), "unit": "01"}
        if isinstance(event.get("occurred_at"), str):
            on_the_map(event, event["occurred_at"])
    query = case.query
    if not isinstance(query, dict):
        return
    position = query.get("min_position")
    if isinstance(position, int) or (isinstance(position, str) and position.isdigit()):
        query["min_position"] = min(int(position), head)
    start, end = query.get("from"), query.get("to")
    if isinstance(start, str) and isinstance(end, str) and start > end:
        query["from"], query["to"] = end, start


UNIT_CODE = re.compile(UNIT_CODE_PATTERN)


def on_the_map(body: dict[str, Any], occurred_at: str) -> None:
    """Put every org-unit code of a generated event on the map of its date: the commune of the
    test identity (Việt Hưng, Long Biên: ``01.004.00127`` before 1 Jul 2025, ``01.00127``
    since). A declared code list later than the event goes."""
    try:
        day = datetime.fromisoformat(occurred_at).astimezone(timezone(timedelta(hours=7))).date()
    except ValueError:
        return
    code = "01.004.00127" if day < date(2025, 7, 1) else "01.00127"
    as_of = body.get("unit_codes_as_of")
    if isinstance(as_of, str) and as_of > day.isoformat():
        del body["unit_codes_as_of"]
    elif isinstance(as_of, str):
        code = "01.004.00127" if as_of < "2025-07-01" else "01.00127"

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key.endswith("unit") and isinstance(item, str) and UNIT_CODE.match(item):
                    value[key] = code  # a schema-valid code; an invalid one stays invalid
                else:
                    visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(body)
