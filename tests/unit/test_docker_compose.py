"""docker-compose.temporal.yml comes up in order on every start: Temporal's schema job, then the
server, then Orderloop's setup job (namespace, search attributes, retention, retried until done),
then the gateway and worker, which wait for that job; Temporal's current images (no auto-setup).
No Docker engine runs here: the file is checked by parsing it, and by `docker compose config`
where the compose client exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.temporal.yml"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def waits_for(service: str, other: str, condition: str) -> bool:
    return bool(services()[service]["depends_on"][other]["condition"] == condition)


def test_the_stack_runs_temporal_on_postgresql_with_the_ui_gateway_and_worker() -> None:
    found = services()
    assert {"postgresql", "temporal-schema", "temporal", "orderloop-setup", "gateway", "worker", "temporal-ui"} <= set(
        found
    )
    assert found["temporal"]["environment"]["DB"].startswith("postgres")
    assert "7233:7233" in found["temporal"]["ports"] and "8233:8080" in found["temporal-ui"]["ports"]
    assert "8000:8000" in found["gateway"]["ports"]
    ledger = found["gateway"]["environment"]["ORDERLOOP_DATABASE_URL"]
    assert ledger.startswith("postgresql+asyncpg://") and ledger.endswith("@postgresql:5432/orderloop")
    assert "ORDERLOOP_PAYLOAD_KEYS" in found["worker"]["environment"], "the worker encrypts customer data"
    assert "ORDERLOOP_PAYLOAD_KEYS" not in found["orderloop-setup"]["command"]


def test_no_service_uses_the_deprecated_auto_setup_image() -> None:
    images = {name: s.get("image", "") for name, s in services().items()}
    assert not [name for name, image in images.items() if "auto-setup" in image]
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")


def test_every_start_waits_for_the_step_before_it() -> None:
    assert waits_for("temporal-schema", "postgresql", "service_healthy")
    assert waits_for("temporal", "temporal-schema", "service_completed_successfully")
    assert waits_for("orderloop-setup", "temporal", "service_healthy")
    assert waits_for("gateway", "orderloop-setup", "service_completed_successfully")
    assert waits_for("worker", "orderloop-setup", "service_completed_successfully")
    assert services()["orderloop-setup"]["restart"].startswith("on-failure")


def test_the_setup_job_prepares_the_namespace_with_thirty_days_of_retention() -> None:
    command = services()["orderloop-setup"]["command"]
    assert command[:3] == ["orderloop", "temporal", "setup"]
    assert "--create-namespace" in command and command[command.index("--retention-days") + 1] == "30"


def test_the_files_the_stack_mounts_are_in_the_repository() -> None:
    found = services()
    dynamic = found["temporal"]["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    assert (ROOT / "deploy/temporal/dynamicconfig" / Path(dynamic).name).exists()
    script = (ROOT / "deploy/temporal/setup-postgres.sh").read_text()
    assert found["temporal-schema"]["command"] == ["/deploy/setup-postgres.sh"]
    assert re.search(r"for db in temporal temporal_visibility", script) and "update-schema" in script
    assert "CREATE DATABASE orderloop" in (ROOT / "deploy/postgres/orderloop-ledger.sql").read_text()
    assert (ROOT / "Dockerfile").exists()


def _compose_client() -> list[str] | None:
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        if subprocess.run([*command, "version"], capture_output=True).returncode == 0:
            return command
    return None


def test_docker_compose_accepts_the_file() -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client on this machine (the docker CLI has no compose plugin)")
    result = subprocess.run(
        [*client, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"ORDERLOOP_API_TOKEN": "t", "ORDERLOOP_PAYLOAD_KEYS": "k1:a2V5", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stderr
