"""The service's settings: environment variables ``BACKGRID_*``, else a TOML file, else the defaults.

The file is ``$BACKGRID_SETTINGS`` when set, else ``<home>/service.toml`` when it exists; its keys are
the fields' names (``workers = 4``). Embedded (the default) everything lives under the home: the SQLite
store ``service.sqlite``, the artifacts folder, the market-data store, and the signing key ``secret.key``
(made once, readable by its owner only). Scaled out, set ``BACKGRID_DATABASE_URL`` to a PostgreSQL URL
(``postgresql+psycopg://user@host/db``), ``BACKGRID_EXECUTOR=procrastinate`` and a shared
``BACKGRID_SECRET_KEY`` on every machine.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Limits", "Settings", "default_home"]


def default_home() -> Path:
    """``$BACKGRID_HOME``, else ``~/.backgrid``: the home every face of backgrid shares."""
    return Path(os.environ.get("BACKGRID_HOME") or "~/.backgrid").expanduser()


def _settings_file() -> Path:
    given = os.environ.get("BACKGRID_SETTINGS")
    return Path(given).expanduser() if given else default_home() / "service.toml"


class Limits(BaseModel):
    """One tier's limits (``BACKGRID_TIERS`` or the file's ``[tiers.NAME]`` tables replace the defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    runs_per_hour: int = Field(default=100, ge=1, description="Runs a user may create per hour.")
    concurrent_runs: int = Field(default=4, ge=1, description="Runs a user may have queued or running at once.")
    bar_sets_per_run: int = Field(default=50_000_000, ge=1, description="Bars × parameter sets one run may simulate.")
    requests_per_minute: int = Field(default=600, ge=1, description="API requests per minute (429 with Retry-After).")


def _default_tiers() -> dict[str, Limits]:
    return {"free": Limits(), "pro": Limits(runs_per_hour=2_000, concurrent_runs=16,
                                            bar_sets_per_run=2_000_000_000, requests_per_minute=6_000)}


class Settings(BaseSettings):
    """Every setting of ``backgrid serve`` and ``backgrid worker`` (see the module docstring)."""

    model_config = SettingsConfigDict(env_prefix="BACKGRID_", extra="forbid", frozen=True)

    home: Path = Field(default_factory=default_home, description="Folder of the store, artifacts and data.")
    database_url: str = Field(default="", description="SQLAlchemy URL of the store (default: SQLite under the home).")
    executor: Literal["lease", "procrastinate"] = Field(default=
        "lease", description="lease: workers claim runs from the runs table; procrastinate: PostgreSQL queue.")
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0,
                         description="Worker processes `serve` starts (0: none, run `backgrid worker`).")
    worker_threads: int = Field(default=1, ge=1, description="Threads each worker's kernels use. One worker "
                                "process per core, so 1: more made two workers on two cores 2x slower each.")
    worker_nice: int = Field(default=5, ge=0, le=19, description="How much lower worker processes (of `serve` "
                             "and of `backgrid worker`) run than the process that started them (Unix nice): on "
                             "cores the API shares, it still answers at once.")
    series_cache_mb: int = Field(default=256, ge=0, description="Decoded market data each worker process keeps "
                                 "in memory between runs (MiB; 0: none): repeated runs on a series skip reading it.")
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the API listens on.")
    auth: Literal["local", "users"] = Field(default=
        "local", description="local: one implicit user, for `serve` on this machine; users: accounts and tokens.")
    secret_key: SecretStr = Field(default=SecretStr(""),
                                  description="Key that signs tokens (default: made once in the home).")
    access_token_minutes: int = Field(default=15, ge=1, description="Lifetime of an access token.")
    refresh_token_days: int = Field(default=30, ge=1, description="Lifetime of a refresh token.")
    registration: Literal["open", "invite", "closed"] = Field(default=
        "invite", description="Who may register: anybody, holders of an invite code, nobody.")
    lease_seconds: float = Field(default=30.0, gt=0, description="How long a claim holds a run without a heartbeat.")
    heartbeat_seconds: float = Field(default=2.0, gt=0, description="How often a worker renews its lease.")
    max_attempts: int = Field(default=3, ge=1, description="Attempts before a run goes to the dead letter.")
    retry_backoff_seconds: float = Field(default=2.0, ge=0, description="First retry's delay; doubled per attempt.")
    poll_seconds: float = Field(default=0.2, gt=0, description="Longest wait of an idle worker between claims.")
    max_request_bytes: int = Field(default=10_000_000, ge=1_000, description="Largest request body accepted (413).")
    tiers: dict[str, Limits] = Field(default_factory=_default_tiers, description="Limits per user tier.")
    rate_limit_storage: str = Field(default="memory://",
                                    description="Where request counts live: memory:// (one API process), redis://...")
    log_format: Literal["console", "json"] = Field(default="console", description="Log lines for people or machines.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info", description="Least level logged.")
    cluster: str | None = Field(default=None, description="Dask scheduler address that sweeps inside a job fan out on.")
    smtp_host: str | None = Field(default=None, description="SMTP server of the weekly digest (none: no digest).")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_sender: str = Field(default="backgrid@localhost", description="From address of the digest.")
    smtp_user: str | None = Field(default=None, description="SMTP login.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    refresh_every_minutes: float = Field(default=60.0, gt=0, description="How often watched symbols are refreshed.")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the TOML file."""
        del dotenv_settings, file_secret_settings
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=_settings_file())

    @model_validator(mode="after")
    def _free_tier(self) -> Settings:
        if "free" not in self.tiers:
            msg = f"tiers: a 'free' tier is required (new users get it); found {sorted(self.tiers)}"
            raise ValueError(msg)
        return self

    @property
    def store_url(self) -> str:
        """The store's URL: ``database_url``, else SQLite under the home."""
        return self.database_url or f"sqlite:///{self.home / 'service.sqlite'}"

    def limits(self, tier: str) -> Limits:
        """The limits of ``tier`` (a tier no longer configured gets the free tier's)."""
        return self.tiers.get(tier) or self.tiers["free"]

    @property
    def artifacts(self) -> Path:
        """Folder of the artifacts runs publish."""
        return self.home / "artifacts"

    def signing_key(self) -> str:
        """The token-signing key: the setting, else ``<home>/secret.key`` (made once, mode 0600)."""
        if value := self.secret_key.get_secret_value():
            return value
        path = self.home / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def documented(self) -> list[dict[str, Any]]:
        """Every setting with its environment variable, default and help line (for `backgrid serve --help`)."""
        rows = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            secret = isinstance(value, SecretStr)
            if secret:
                value = "***"
            elif name == "tiers":  # as BACKGRID_TIERS takes it
                value = json.dumps({tier: limits.model_dump() for tier, limits in value.items()})
            rows.append({"setting": name, "variable": f"BACKGRID_{name.upper()}", "value": value,
                         "description": field.description or "", "secret": secret})
        return rows
