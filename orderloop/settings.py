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
    api_token: str = SANDBOX_API_TOKEN
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    max_body_bytes: int = 1_048_576
    log_format: str = "auto"
    log_level: str = "info"
    # Run order workflows in Temporal's sandbox in production too (tests always do).
    workflow_sandbox: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
