"""``/metrics`` in Prometheus text format: what an operator's dashboard reads (both stores)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.test_cases_api import ACTOR, open_case


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_count_requests_by_route_appends_the_log_head_and_read_model_lag(
    client: TestClient,
) -> None:
    case_id = open_case(client)
    note = {"type": "NoteAdded", "occurred_at": "2023-05-02T09:00:00+07:00", "data": {"text": "hi"}}
    for _ in range(2):
        assert (
            client.post(f"/v1/cases/{case_id}/events", json=note, headers=ACTOR).status_code == 201
        )
    client.get("/v1/cases/not-a-uuid", headers=ACTOR)
    deadline = time.monotonic() + 20
    while (found := scrape(client))[("caseledger_read_model_lag_events", (("name", "caseload"),))]:
        assert time.monotonic() < deadline, "the runner never caught up"
        time.sleep(0.05)

    route = "/v1/cases/{case_id}/events"
    assert (
        found[
            (
                "caseledger_http_requests_total",
                (("method", "POST"), ("route", route), ("status", "201")),
            )
        ]
        == 2
    )
    assert (
        found[
            (
                "caseledger_http_requests_total",
                (("method", "GET"), ("route", "/v1/cases/{case_id}"), ("status", "422")),
            )
        ]
        == 1
    )
    assert (
        found[
            (
                "caseledger_http_request_duration_seconds_count",
                (("method", "POST"), ("route", route)),
            )
        ]
        == 2
    )
    assert found[("caseledger_events_recorded_total", ())] == 3
    assert found[("caseledger_log_head", ())] == 3
    assert found[("caseledger_read_model_position", (("name", "timeline"),))] == 3
    assert found[("caseledger_read_model_failing_cases", (("name", "timeline"),))] == 0
    assert found[("caseledger_projection_events_applied_total", ())] >= 3
