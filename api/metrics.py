"""``GET /metrics``: Prometheus text format (``prometheus-client``), one registry per app.

Requests by route template and status, and their latency; events recorded by this process;
the log's head; each read model's position, lag, failing cases and whether it stopped; the
in-process runner's rounds and applied events. The store figures are read at each scrape.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from projections.generations import active_generations

router = APIRouter(tags=["operations"])


class Metrics:
    """The app's registry and its request metrics."""

    def __init__(self, app_state: Any) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "caseledger_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "caseledger_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(app_state))

    async def observe(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.latency.labels(request.method, template).observe(time.perf_counter() - started)
            self.requests.labels(request.method, template, str(status)).inc()


class _StoreCollector(Collector):
    """What the store and the read models say at the moment of the scrape."""

    def __init__(self, app_state: Any) -> None:
        self.state = app_state

    def collect(self) -> Iterator[Any]:
        ledger = getattr(self.state, "ledger", None)
        views = getattr(self.state, "views", None)
        if ledger is None or views is None:
            return
        recorded = CounterMetricFamily(
            "caseledger_events_recorded", "Events this process recorded (repeats excluded)"
        )
        recorded.add_metric([], ledger.recorded_events)
        yield recorded
        try:
            head = ledger.head()
            generations = active_generations(views)
        except Exception:  # the store is away: /ready says so; the scrape goes on
            return
        yield GaugeMetricFamily("caseledger_log_head", "The global log's last position", head)
        position = GaugeMetricFamily(
            "caseledger_read_model_position", "Log position a read model applied", labels=["name"]
        )
        lag = GaugeMetricFamily(
            "caseledger_read_model_lag_events", "Events a read model is behind", labels=["name"]
        )
        failing = GaugeMetricFamily(
            "caseledger_read_model_failing_cases",
            "Cases a read model set aside",
            labels=["name"],
        )
        stopped = GaugeMetricFamily(
            "caseledger_read_model_stopped",
            "1 if a read model stopped on an error",
            labels=["name"],
        )
        for g in generations:
            position.add_metric([g.name], g.position)
            lag.add_metric([g.name], max(head - g.position, 0))
            failing.add_metric([g.name], g.failing)
            stopped.add_metric([g.name], 1 if g.error else 0)
        yield from (position, lag, failing, stopped)
        runner = getattr(self.state, "runner", None)
        if runner is not None:
            rounds = CounterMetricFamily(
                "caseledger_projection_rounds",
                "Rounds of the in-process runner that applied events",
            )
            rounds.add_metric([], runner.rounds)
            applied = CounterMetricFamily(
                "caseledger_projection_events_applied",
                "Events the in-process runner applied, summed over its read models",
            )
            applied.add_metric([], runner.events_applied)
            yield from (rounds, applied)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
