"""NetSuite as a selling channel over the real stack (the `netsuite-sales` instance, its own
sandbox): a sales order a rep enters in the ERP is read by the order poll (run now: the stack
pauses the channel's schedule), routed to our warehouses by the `netsuite-sales-from-our-
warehouses` rule card, shipped by the WMS, and its tracking ends up as exactly one item
fulfillment on the NetSuite sales order, although the first transform's answer is lost and
the activity retries (the retry finds the fulfillment by its external id). A sales order that
carries our own external id (one Orderloop entered as the fulfillment role) is never started.
Call counts come from the sandbox's request log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from connectors.netsuite.client import RECORD
from connectors.netsuite.mapping import external_id
from connectors.netsuite.sales_orders import fulfillment_external_id
from orderloop.contracts.scheduled_jobs import PollOrdersReport
from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import Api, base_url, edit_config, logged, run_schedule_now, set_channel, started
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

CHANNEL = "netsuite-sales"
ENTERED = {
    "externalId": "PO-7781",
    "currency": "USD",
    "customer": {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"},
    "shippingAddress": {
        "firstName": "Grace",
        "lastName": "Hopper",
        "address1": "1 Navy Yard",
        "city": "Arlington",
        "stateOrProvince": "VA",
        "zipCodeOrPostalCode": "22202",
        "country": "US",
    },
    "lineItems": [{"sku": "TSHIRT-BLK-M", "quantity": 2, "unitPrice": 19.0}, {"sku": "MUG-11OZ", "quantity": 1}],
}


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("netsuite-selling"))
    # An hourly poll: the stack pauses it, and the test runs it when it wants.
    edit_config(built.config_path, set_channel(**{CHANNEL: {"poll_orders_every": "1h"}}))
    async with started(built) as running:
        yield running


async def test_an_erp_order_is_polled_shipped_and_fulfilled_in_netsuite_once(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(base_url=base_url(stack, CHANNEL), timeout=10) as erp:
        entered = (await erp.post("/_sandbox/orders", json=ENTERED)).json()
        ours = external_id("order/storefront/1001/sr1")
        own = (await erp.post("/_sandbox/orders", json={**ENTERED, "netsuiteExternalId": ours})).json()
        await erp.post("/_sandbox/config", json={"lose_create_answers": 1})

        report = await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)

        assert report.started == [f"order/{CHANNEL}/{entered['id']}"]
        assert own["externalId"] == ours and f"order/{CHANNEL}/{own['id']}" not in report.started
        view = await api.wait_order(CHANNEL, entered["id"], completed)
        assert {r["request"]["locationId"] for r in view["shippingRequests"]} <= {"east", "west"}
        assert sorted((ln["sku"], ln["shipped"]) for ln in view["lines"]) == [("MUG-11OZ", 1), ("TSHIRT-BLK-M", 2)]

        fulfillments = (await erp.get(f"/_sandbox/fulfillments/{entered['id']}")).json()
        shipments = view["shipments"]
        assert len(fulfillments) == len(shipments) >= 1
        assert sorted(f["externalId"] for f in fulfillments) == sorted(
            fulfillment_external_id(s["id"]) for s in shipments
        )
        tracked = sorted(p["packageTrackingNumber"] for f in fulfillments for p in f["package"]["items"])
        assert tracked == sorted(t for s in shipments for t in s["trackingNumbers"])
        transforms = await logged(erp, "POST", f"{RECORD}/salesOrder/{entered['id']}/!transform/itemFulfillment")
        # The first answer was lost (504) after NetSuite made the fulfillment: the retry found it by
        # its external id and transformed nothing again; any later shipment is one transform.
        assert [r["status"] for r in transforms] == [504] + [204] * (len(shipments) - 1)
        assert not (await erp.get(f"/_sandbox/fulfillments/{own['id']}")).json()
