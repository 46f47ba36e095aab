"""The one typed settings class. Read from ``CASELEDGER_*`` environment variables (and ``PORT``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, AwareDatetime, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASELEDGER_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="sqlite:///var/caseledger.sqlite3",
        description="sqlite:///relative/path, sqlite:////absolute/path or postgresql://user@host/db",
    )
    database_schema: str = Field(default="public", description="PostgreSQL schema for the tables")
    pool_size: int = Field(default=10, ge=1, le=200)
    aggregate_cache: int = Field(
        default=5000,
        ge=0,
        description="cases kept in memory between requests (brought up to date from the store "
        "at each load); 0 replays every case from the store each time",
    )
    create_tables: bool = Field(
        default=True,
        description="create the store's tables at start; false when the application connects "
        "as a role that may only record and read (run `caseledger migrate` as the owner first)",
    )
    run_projections: bool = Field(
        default=True,
        description="keep the read models up to date inside the API process; false when "
        "`caseledger projections run` runs as its own process (the PostgreSQL deployment)",
    )
    projection_poll_seconds: float = Field(
        default=0.1, gt=0, le=10, description="how often the runner polls SQLite for new events"
    )
    projection_batch: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="most events a read model applies per transaction",
    )
    projection_cases: int = Field(
        default=4000,
        ge=1,
        description="cases the projection runner keeps in memory (about 2 KB per event): an "
        "event on a case kept there is judged without reading the case from the store",
    )
    recheck_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how often the runner re-judges cases whose next deadline has passed",
    )
    evaluate_as_of: AwareDatetime | None = Field(
        default=None,
        description="judge the read models as of this instant instead of the clock "
        "(reproducible reports and tests)",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="request bodies larger than this are refused (413) before they are read",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="the identity provider whose tokens the API accepts (its issuer URL); "
        "unset: the embedded issuer (a key under var/, `caseledger token issue`)",
    )
    oidc_audience: str = Field(
        default="caseledger", description="the audience every accepted token must name"
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description="where to fetch the provider's keys, if not the jwks_uri its discovery "
        "document names (a provider reached by another address inside the network)",
    )
    token_key_file: Path = Field(
        default=Path("var/token-signing-key.pem"),
        description="the embedded issuer's Ed25519 signing key: generated at first use",
    )
    emergency_minutes: int = Field(
        default=60, ge=1, le=24 * 60, description="how long an emergency grant lasts"
    )
    emergency_review_days: int = Field(
        default=3,
        ge=1,
        description="an emergency grant left unreviewed longer than this shows in /ready",
    )
    kek_file: Path = Field(
        default=Path("var/kek.json"),
        description="the key-encryption keys that wrap each person's data key, as JSON "
        '{"current": ID, "keys": {ID: base64 of 32 bytes}}: generated at first start of an '
        "empty development store, never in production; keep it out of the database's backups",
    )
    kek: SecretStr | None = Field(
        default=None,
        description="the same JSON given inline (an orchestrator's secret) instead of kek_file",
    )
    pseudonym_key_file: Path = Field(
        default=Path("var/pseudonym.key"),
        description="the key of the persons' pseudonyms (base64 of 32 bytes): generated at "
        "first start of an empty development store; changing it changes every pseudonym",
    )
    personal_data_retention_days: int = Field(
        default=0,
        ge=0,
        description="an erasure request is held (processing restricted instead) until this "
        "many days after the case's last entry; 0: no retention hold beyond the legal ones",
    )
    log_origin: str = Field(
        default="caseledger.local/log",
        pattern=r"^[^\s+]+$",
        description="the checkpoints' origin line and the log key's name: name the deployment "
        "(e.g. caseledger.hanoi.gov.vn/log); witnesses know the log by it",
    )
    log_key_file: Path = Field(
        default=Path("var/log-signing.key"),
        description="the log's Ed25519 checkpoint key (PRIVATE+KEY+origin+id+key, C2SP note "
        "format): generated at first use outside production; never in the database",
    )
    checkpoint_seconds: float = Field(
        default=10.0, gt=0, description="the runner signs a checkpoint at most this often..."
    )
    checkpoint_positions: int = Field(
        default=1000, ge=1, description="...or as soon as the log grew by this many positions"
    )
    witnesses: list[str] = Field(
        default_factory=list,
        description="witnesses the runner submits each checkpoint to, each 'URL VKEY' (the "
        "submission prefix, and the witness's cosignature vkey)",
    )
    witness_quorum: int = Field(
        default=0,
        ge=0,
        description="how many of the witnesses must cosign for a checkpoint to count as "
        "witnessed (0: all of them)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, validation_alias=AliasChoices("CASELEDGER_PORT", "PORT"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool | None = Field(default=None, description="JSON logs; default: when not a TTY")

    @property
    def store(self) -> Literal["sqlite", "postgres"]:
        return "sqlite" if self.database_url.startswith("sqlite:") else "postgres"

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        scheme = self.database_url.split(":", 1)[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("database_url must start with sqlite: or postgresql:")
        if self.environment == "production" and self.store == "sqlite":
            raise ValueError("production runs on PostgreSQL: set CASELEDGER_DATABASE_URL")
        return self
