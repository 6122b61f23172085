"""docker-compose.temporal.yml matches what the code expects: services, ports, search attributes,
retention. (No Docker engine here, so the file is checked by parsing it.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from orderloop.contracts import SearchAttributes, search_attribute_type

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.temporal.yml"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_compose_runs_temporal_on_postgresql_with_the_ui() -> None:
    services = compose()["services"]
    assert {"postgresql", "temporal", "temporal-setup", "temporal-ui"} <= set(services)
    assert services["temporal"]["environment"]["DB"].startswith("postgres")
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert "7233:7233" in services["temporal"]["ports"]
    assert "8233:8080" in services["temporal-ui"]["ports"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_compose_registers_exactly_the_search_attributes_the_code_uses() -> None:
    command = " ".join(compose()["services"]["temporal-setup"]["command"])
    declared = dict(re.findall(r"--name (\w+) --type (\w+)", command))
    assert declared == {key.name: search_attribute_type(key) for key in SearchAttributes.REGISTERED}
    assert declared["FulfillmentLocations"] == "KeywordList"


def test_compose_keeps_closed_orders_for_thirty_days() -> None:
    services = compose()["services"]
    assert services["temporal"]["environment"]["DEFAULT_NAMESPACE_RETENTION"] == "30d"
    assert "--retention 720h" in " ".join(services["temporal-setup"]["command"])
