"""The return poll of a fulfillment channel (`ReturnPoll.poll_channel_returns`): each return the
ledger shows awaited at one of the channel's locations is asked for its receipt; a receipt found
is signalled to its workflow under the poll's own delivery id; a return at another location, one
the channel refuses to answer for, or one whose workflow is gone does not stop the others."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.return_poll import ReturnPoll
from connectors.base import FulfillmentConnector, InboundEvent, PermanentError, ShippingReceipt, ShippingRequirements
from orderloop.config import load_config
from orderloop.contracts.names import ReturnSignals
from orderloop.contracts.scheduled_jobs import PollReturnsInput
from orderloop.ledger import Ledger
from orderloop.ledger.types import ReturnRecord
from orderloop.model import ShippingRequest
from orderloop.returns_model import ReceivedUnits, ReturnCondition, ReturnReceipt

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 12, 4, tzinfo=UTC)


def record(return_id: str, location: str, status: str = "authorised") -> ReturnRecord:
    return ReturnRecord(
        return_id=return_id,
        channel_id="shopify",
        external_id=return_id.rpartition("/")[2],
        location_id=location,
        status=status,
        created_at=AT,
        updated_at=AT,
    )


class Warehouse(FulfillmentConnector):
    """Answers a receipt for the returns it has received; refuses the ones in `refused`."""

    supports_returns = True

    def __init__(self, received: set[str], refused: set[str]) -> None:
        super().__init__(load_config(ROOT / "orderloop.yaml").channel("shiphero"))
        self.received, self.refused = received, refused
        self.asked: list[str] = []

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        raise NotImplementedError

    async def create_shipping_request(
        self, request: ShippingRequest, requirements: ShippingRequirements | None = None
    ) -> ShippingReceipt:
        raise NotImplementedError

    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        raise NotImplementedError

    async def fetch_return_receipt(self, return_id: str, vendor_id: str | None) -> ReturnReceipt | None:
        self.asked.append(return_id)
        if return_id in self.refused:
            raise PermanentError(f"{return_id}: the warehouse cannot read it")
        if return_id not in self.received:
            return None
        line = ReceivedUnits(sku="POSTER-A2", quantity=1, condition=ReturnCondition.SELLABLE)
        return ReturnReceipt(return_id=return_id, lines=[line], location_id="shiphero-pa", event_id="vendor-id")


@dataclass
class Returns:
    """The ledger's `list_returns`, by status."""

    records: list[ReturnRecord]

    async def list_returns(
        self, channel_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[ReturnRecord]:
        return [r for r in self.records if r.status == status][:limit]


@dataclass
class Handle:
    workflow_id: str
    client: Workflows

    async def signal(self, name: str, arg: Any) -> None:
        if self.workflow_id in self.client.gone:
            raise RPCError(f"workflow not found for ID: {self.workflow_id}", RPCStatusCode.NOT_FOUND, b"")
        self.client.signals.append((self.workflow_id, name, arg))


@dataclass
class Workflows:
    gone: set[str] = field(default_factory=set)
    signals: list[tuple[str, str, Any]] = field(default_factory=list)

    def get_workflow_handle(self, workflow_id: str) -> Handle:
        return Handle(workflow_id, self)


async def test_the_poll_signals_the_receipts_found_at_the_channels_locations_and_skips_the_rest() -> None:
    records = [
        record("return/shopify/1", "shiphero-pa"),
        record("return/shopify/2", "shiphero-pa", status="label_issued"),
        record("return/shopify/3", "shipbob-nj"),  # another channel's location: not asked
        record("return/shopify/4", "shiphero-pa"),  # refused by the warehouse: skipped
        record("return/shopify/5", "shiphero-pa", status="in_transit"),  # its workflow is gone
        record("return/shopify/6", "shiphero-pa"),  # not received yet
        record("return/shopify/7", "shiphero-pa", status="closed"),  # done: not asked
    ]
    warehouse = Warehouse(
        received={"return/shopify/1", "return/shopify/2", "return/shopify/3", "return/shopify/5"},
        refused={"return/shopify/4"},
    )
    workflows = Workflows(gone={"return/shopify/5"})
    poll = ReturnPoll(cast(Ledger, Returns(records)), {"shiphero": warehouse}, "test")
    inp = PollReturnsInput(channel_id="shiphero", task_queue="test/channel/shiphero", locations=["shiphero-pa"])

    report = await ActivityEnvironment(client=cast(Client, workflows)).run(poll.poll_channel_returns, inp)

    assert sorted(warehouse.asked) == [f"return/shopify/{n}" for n in (1, 2, 4, 5, 6)]
    assert sorted(report.received) == ["return/shopify/1", "return/shopify/2"]
    assert report.seen == 5
    assert sorted((wid, name) for wid, name, _ in workflows.signals) == [
        ("return/shopify/1", ReturnSignals.RECEIPT),
        ("return/shopify/2", ReturnSignals.RECEIPT),
    ]
    # The poll's own delivery id, stable per return: a second poll's receipt counts once.
    assert {arg.event_id for _, _, arg in workflows.signals} == {
        "receipt-poll/return/shopify/1",
        "receipt-poll/return/shopify/2",
    }
