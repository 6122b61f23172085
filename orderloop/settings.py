"""Process settings from the environment (pydantic-settings), read through one cached getter."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

SANDBOX_API_TOKEN = "orderloop-sandbox-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERLOOP_", extra="ignore")

    config: str = "orderloop.yaml"
    database_url: str = "sqlite:///.orderloop/ledger.db"
    temporal_address: str = "127.0.0.1:7233"
    namespace: str = "default"
    # Prefix of every task queue, so that tests and several stacks on one server never mix.
    task_queue_prefix: str = "orderloop"
    # The shared operator token: the demo identity "operator" (role act), refused in production.
    api_token: str = SANDBOX_API_TOKEN
    # "production" refuses the shared api_token: operators use named credentials
    # (`orderloop operators add`, docs/operators.md).
    environment: str = "development"
    # The token the `orderloop` CLI sends to the operator API: a named operator's; default api_token.
    operator_token: str | None = None
    # An identity header set by a trusted proxy (e.g. X-Forwarded-User), honoured only from the
    # trusted_proxies addresses (comma-separated addresses or networks, e.g. "10.0.0.5,10.1.0.0/16");
    # role act unless operator_role_header says read.
    operator_header: str | None = None
    operator_role_header: str | None = None
    trusted_proxies: str = ""
    # Bad bearer tokens from one client address: this many within the window lock it out.
    auth_failures_allowed: int = 10
    auth_failure_window_seconds: float = 60.0
    auth_lockout_seconds: float = 300.0
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    max_body_bytes: int = 1_048_576
    log_format: str = "auto"
    # The worker's Prometheus `/metrics` port (ORDERLOOP_WORKER_METRICS_PORT; unset: not served)
    # and the Temporal SDK's own worker metrics (ORDERLOOP_TEMPORAL_METRICS_PORT), both on
    # `metrics_host`. The gateway serves its metrics at `GET /metrics` on its own port.
    worker_metrics_port: int | None = None
    temporal_metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    log_level: str = "info"
    # Run order workflows in Temporal's sandbox in production too (tests always do).
    workflow_sandbox: bool = False
    # Origins of the Temporal Web UI allowed to call the codec server (/codec) from the browser
    # (a JSON list in ORDERLOOP_CODEC_CORS_ORIGINS). The payload keys themselves are read from
    # ORDERLOOP_PAYLOAD_KEYS / ORDERLOOP_PAYLOAD_KEY_FILE by orderloop/payload_keys.py.
    codec_cors_origins: list[str] = ["http://localhost:8233", "http://127.0.0.1:8233"]

    @property
    def production(self) -> bool:
        return self.environment.strip().lower() == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()
