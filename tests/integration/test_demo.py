"""`orderloop demo` against the running stack: orders placed on every selling channel's
sandbox are followed to the end and summarised."""

from __future__ import annotations

from collections import Counter

import pytest

from orderloop.config import load_config
from orderloop.demo import run_demo
from orderloop.demo_returns import return_demo_orders
from orderloop.loopback_stack import TOKEN
from orderloop.stack import Stack

pytestmark = pytest.mark.integration


async def test_demo_orders_flow_from_every_selling_channel(stack: Stack) -> None:
    config = load_config(stack.config_path)
    summary = await run_demo(
        config, stack.gateway_url, TOKEN, 27, bad_address_ratio=0.0, seed=7, show_progress=False, timeout=90
    )
    assert summary.unfinished == []
    assert summary.channels == {
        "storefront": 3,
        "shopify": 3,
        "amazon": 3,
        "walmart": 3,
        "tiktok": 3,
        "bigcommerce": 3,
        "edi-acme": 3,  # placed as the partner's 850s, read by the order poll
        "b2b": 3,
        "netsuite-sales": 3,  # entered in the ERP, read by the order poll (SuiteQL)
    }
    assert sum(summary.statuses.values()) == 27
    # The demo stock is generous except POSTER-A2 at East: anything not completed waits for it.
    assert set(summary.exceptions) <= {"out_of_stock"}
    assert summary.statuses["completed"] + summary.exceptions["out_of_stock"] == 27
    assert summary.statuses["completed"] >= 4 and len(summary.latencies) == summary.statuses["completed"]
    # `orderloop up --demo-orders` then returns a few of the shipped storefront orders.
    returnable = [w for w in summary.completed if w.startswith("order/storefront/")]
    returned = await return_demo_orders(config, stack.gateway_url, TOKEN, sorted(summary.completed), count=2)
    assert returnable and returned == Counter({"closed": min(2, len(returnable))})
