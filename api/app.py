"""The app factory: ``create_app(settings)`` wires everything; nothing is built at import time."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi_swagger import patch_fastapi

from api import metrics
from api.errors import install_error_handlers
from api.limits import BodyLimit
from api.metrics import Metrics
from api.openapi import install_openapi
from api.routes import (
    audit,
    caseloads,
    cases,
    emergency,
    events,
    health,
    inspections,
    persons,
    units,
)
from domain.application import CaseLedger
from domain.policy import packaged_policy
from domain.units import registry
from infra.collector import frozen_after_full_collections
from infra.logging import configure_logging
from infra.settings import Settings
from infra.store import build_application, build_runner
from infra.tokens import TokenVerifier
from projections import read_models
from projections.db import ViewDatabase
from projections.generations import ensure
from projections.notices import Notices

log = structlog.get_logger("caseledger.http")


def create_app(settings: Settings, ledger: CaseLedger | None = None) -> FastAPI:
    """Build the HTTP app; pass ``ledger`` to share an application (tests, the CLI)."""
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = ledger is None
        app.state.ledger = ledger or build_application(settings)
        app.state.views = ViewDatabase(settings)
        # one LISTEN feed for the process: the runner waits on the log, requests on the views
        app.state.notices = Notices(
            app.state.views.listen_conninfo(),
            [app.state.ledger.log_channel, app.state.views.channel],
        )
        registry()  # the org-unit registry is read at start, not by the first request
        runner = None
        if settings.create_tables:
            ensure(app.state.views, read_models())
        if settings.run_projections:
            runner = build_runner(settings, app.state.ledger, notices=app.state.notices)
            app.state.runner = runner
            ensure(runner.db, runner.models)
            thread = runner.start()
        log.info("started", store=settings.store, projections=bool(runner))
        try:
            with frozen_after_full_collections():  # no pause over every cached case
                yield
        finally:
            if runner is not None:
                runner.stop()
                thread.join(timeout=10)
                runner.db.close()
            app.state.notices.close()
            app.state.views.close()
            if owned:
                app.state.ledger.close()

    app = FastAPI(
        title="caseledger",
        version="1",
        description="Event-sourced, audit-grade case records for drug-addiction treatment "
        "and rehabilitation case management.",
        lifespan=lifespan,
        docs_url=None,  # served from the package's own assets below, not from a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    patch_fastapi(app, docs_url="/docs", redirect_from_root_to_docs=False)
    if ledger is not None:
        app.state.ledger = ledger
    install_error_handlers(app)
    install_openapi(app)
    app.state.settings = settings
    app.state.policy = packaged_policy()
    app.state.tokens = TokenVerifier(settings)
    app.state.metrics = Metrics(app.state)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.middleware("http")(app.state.metrics.observe)
    app.middleware("http")(_request_log)  # added last: outermost, it logs every answer
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(cases.router)
    app.include_router(events.router)
    app.include_router(audit.router)
    app.include_router(emergency.router)
    app.include_router(persons.router)
    app.include_router(caseloads.router)
    app.include_router(inspections.router)
    app.include_router(units.router)
    return app


async def _request_log(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """One log line per request; its request id is also the recorded events' correlation id."""
    incoming = request.headers.get("x-request-id", "")
    request_id = incoming if 0 < len(incoming) <= 128 else str(uuid.uuid4())
    request.state.request_id = request_id
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        response.headers["X-Request-ID"] = request_id
        return response
    finally:
        log.info(
            "request",
            request_id=request_id,
            method=request.method,
            path=request.url.path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            actor=getattr(getattr(request.state, "principal", None), "sub", None),
        )
