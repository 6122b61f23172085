"""The sandbox trading partner keeps its interchange control numbers across restarts."""

from __future__ import annotations

from pathlib import Path

from connectors.edi.sandbox.partner import TradingPartner
from connectors.edi.settings import edi_settings
from tests.connectors.edi.conftest import partner_channel


def test_a_restarted_partner_keeps_raising_its_control_numbers(tmp_path: Path) -> None:
    # A retailer's ISA13 only grows: a sandbox partner started again on the same folders (a
    # second `make run`) must not resend 1001, which the brand's ledger holds as a duplicate.
    settings = edi_settings(partner_channel())
    first = TradingPartner(settings, tmp_path).place_order({"lines": [{"sku": "MUG-11OZ", "quantity": 6}]})
    again = TradingPartner(settings, tmp_path).place_order({"lines": [{"sku": "MUG-11OZ", "quantity": 6}]})

    assert again.control_number > first.control_number
