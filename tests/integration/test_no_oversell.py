"""No oversell through the real order path: 200 orders placed at once from 4 selling channels
for a SKU with 50 units, on a real Temporal dev server with the real mapping, allocation and
ledger (SQLite and PostgreSQL). Exactly 50 orders get their unit; 150 wait in out_of_stock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.order_steps import OrderSteps
from connectors.registry import build_connectors
from orderloop.activity_models import SendResult
from orderloop.config import OrderloopConfig, parse_config
from orderloop.contracts import (
    ORDER_WORKFLOW,
    Activities,
    OrderInput,
    SearchAttributes,
    channel_task_queue,
    order_workflow_id,
    orders_task_queue,
)
from orderloop.ledger import Cause, CauseKind, Ledger
from orderloop.model import ShippingRequest
from orderloop.sandbox_env import apply_sandbox_env
from tests.db import postgres_schema, postgres_url_or_skip
from tests.temporal_env import start_dev_server
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.integration

CHANNELS = ["shop", "marketplace", "social", "wholesale"]
CONFIG = """
tenant_id: oversell-drill
locations:
  - {id: east, fulfillment_channel: wms}
channels:
"""
for _channel in CHANNELS:
    CONFIG += f"""  - id: {_channel}
    type: storefront
    role: selling
    base_url: http://127.0.0.1:9
    credentials: {{webhook_secret: ORDERLOOP_STOREFRONT_WEBHOOK_SECRET, api_token: ORDERLOOP_STOREFRONT_API_TOKEN}}
    out_of_stock_retry: 1d
"""
CONFIG += """  - id: wms
    type: wms
    role: fulfillment
    base_url: http://127.0.0.1:9
    credentials: {webhook_secret: ORDERLOOP_WMS_WEBHOOK_SECRET, api_token: ORDERLOOP_WMS_API_TOKEN}
"""


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Ledger]:
    if request.param == "sqlite":
        opened = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield opened
        await opened.close()
        return
    url = postgres_url_or_skip()
    async with postgres_schema(url, "no_oversell") as schema:
        opened = await Ledger.open(url, schema=schema)
        yield opened
        await opened.close()


@activity.defn(name=Activities.SEND_SHIPPING_REQUEST)
async def accept_request(request: ShippingRequest) -> SendResult:
    return SendResult(vendor_id=f"wms-{request.id}")


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(f"WorkflowType = '{ORDER_WORKFLOW}' AND {query}")).count


async def test_two_hundred_orders_from_four_channels_never_oversell_fifty_units(ledger: Ledger) -> None:
    apply_sandbox_env()
    config: OrderloopConfig = parse_config(CONFIG, "drill.yaml")
    prefix = f"oversell-{uuid.uuid4().hex[:8]}"
    sku = f"HOT-{uuid.uuid4().hex[:6]}".upper()
    await ledger.receive(sku, "east", 50, Cause(kind=CauseKind.OPERATOR, ref="drill"))
    connectors = build_connectors(config.channels)
    steps = OrderSteps(config, ledger, connectors, prefix)
    env = await start_dev_server()
    try:
        client = env.client
        workers = [
            Worker(
                client,
                task_queue=orders_task_queue(prefix),
                workflows=[OrderWorkflow],
                activities=[steps.ingest, steps.allocate, steps.release, steps.commit_shipment, steps.notify],
                max_concurrent_local_activities=50,
            ),
            Worker(client, task_queue=channel_task_queue(prefix, "wms"), activities=[accept_request]),
        ]
        async with workers[0], workers[1]:
            starts = [
                client.start_workflow(
                    ORDER_WORKFLOW,
                    OrderInput(
                        channel_id=channel,
                        external_id=f"{prefix}-{n}",
                        raw_payload={
                            "externalId": f"{prefix}-{n}",
                            "lineItems": [{"id": "1", "sku": sku, "quantity": 1}],
                            "shippingAddress": {
                                "address1": "1 Main St",
                                "city": "Newark",
                                "zipCodeOrPostalCode": "07102",
                                "country": "US",
                            },
                        },
                        received_at=datetime.now(UTC),
                    ),
                    id=order_workflow_id(channel, f"{prefix}-{n}"),
                    task_queue=orders_task_queue(prefix),
                )
                for channel in CHANNELS
                for n in range(50)
            ]
            await asyncio.gather(*starts)
            sent = short = 0
            # A cap, not a timing check: 200 orders on a loaded machine may take minutes.
            for _ in range(1200):
                sent = await count(client, f"{SearchAttributes.STATUS.name} = 'sent_to_fulfillment'")
                short = await count(client, f"{SearchAttributes.EXCEPTION.name} = 'out_of_stock'")
                if sent + short == 200:
                    break
                await asyncio.sleep(0.25)
        assert (sent, short) == (50, 150)
        [level] = await ledger.stock(sku)
        assert (level.on_hand, level.reserved, level.available) == (50, 50, 0)
        assert await ledger.check_invariants() == []
    finally:
        await env.shutdown()
        for connector in connectors.values():
            await connector.aclose()
