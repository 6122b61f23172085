"""The shipped configuration's rule card for the NetSuite selling instance: an order entered in
the ERP ships from East or West, never from the ERP-managed centre (which would enter it in
NetSuite a second time), even where only that centre holds the stock; a rule naming only
`netsuite-sales` leaves the decisions of the other channels' orders as they were."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from orderloop.cli import app

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = {"country": "US", "stateOrProvince": "OH", "zipCodeOrPostalCode": "43215"}


def decided(folder: Path, channel: str, stock: dict[str, dict[str, int]]) -> Any:
    order = {"channelId": channel, "lineItems": [{"id": "1", "sku": "HOODIE-GRY-L", "quantity": 1}]}
    (folder / "order.json").write_text(json.dumps({**order, "shippingAddress": ADDRESS}))
    (folder / "stock.json").write_text(json.dumps(stock))
    args = ["route", "--dry-run", str(folder / "order.json"), "--config", str(ROOT / "orderloop.yaml")]
    result = CliRunner().invoke(app, [*args, "--stock", str(folder / "stock.json"), "--json"])
    return result.exit_code, json.loads(result.output)


def test_an_erp_order_ships_from_our_warehouses_never_the_erp_centre(tmp_path: Path) -> None:
    code, decision = decided(tmp_path, "netsuite-sales", {"HOODIE-GRY-L": {"netsuite-oh": 9, "west": 1}})
    assert code == 0
    assert [a["locationId"] for a in decision["assignments"]] == ["west"]
    assert decision["rule"] == "netsuite-sales-from-our-warehouses"

    code, decision = decided(tmp_path, "netsuite-sales", {"HOODIE-GRY-L": {"netsuite-oh": 9}})
    assert code == 1 and decision["assignments"] == []


def test_another_channels_order_keeps_its_own_rule(tmp_path: Path) -> None:
    code, decision = decided(tmp_path, "bigcommerce", {"HOODIE-GRY-L": {"netsuite-oh": 9, "west": 1}})
    assert code == 0
    assert decision["rule"] == "bigcommerce-hoodies-from-netsuite"
    assert [a["locationId"] for a in decision["assignments"]] == ["netsuite-oh"]
