"""The return workflow's public contract: its name, ids, start revision and the messages that
cross its boundary (its signals, updates, query and activities are named in
`orderloop.contracts.names`: `ReturnSignals`, `ReturnUpdates`, `ReturnQueries`,
`ReturnActivities`).

One workflow per return, id `return/<channel id>/<channel's return id>`: the gateway starts it
with `USE_EXISTING` and a reuse policy that rejects duplicates, and the ledger keeps the return's
record, so a re-delivered return request starts nothing new.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from orderloop.return_policy import ExchangeOn, NotReceivedAction
from orderloop.returns_model import (
    Disposition,
    ExpectedReturn,
    ReceivedUnits,
    ReturnCondition,
    ReturnLabel,
    ReturnReceipt,
    ReturnRequest,
    ReturnView,
)

RETURN_WORKFLOW = "Return"

# What the return workflow may rely on from whoever started it. 1: the first revision.
RETURN_REVISION = 1


def return_workflow_id(channel_id: str, external_return_id: str) -> str:
    return f"return/{channel_id}/{external_return_id}"


def parse_return_workflow_id(workflow_id: str) -> tuple[str, str]:
    prefix, _, rest = workflow_id.partition("/")
    channel_id, _, external_id = rest.partition("/")
    if prefix != "return" or not channel_id or not external_id:
        raise ValueError(f"not a return workflow id: {workflow_id!r}")
    return channel_id, external_id


def exchange_order_external_id(external_return_id: str) -> str:
    """The channel-side id of an exchange's replacement order (its order workflow id derives from
    it, so a retried start starts one order)."""
    return f"exchange-{external_return_id}"


class ReturnInput(BaseModel):
    channel_id: str
    external_id: str
    raw_payload: dict[str, Any]
    received_at: datetime
    event_id: str | None = None
    # The channel's order id, when the event names it (the payload's mapping is authoritative).
    external_order_id: str | None = None
    # Set to RETURN_REVISION by every starter.
    revision: int = 0


class ReturnPolicy(BaseModel):
    """The channel's return policy as the workflow runs it, fixed when the return is prepared."""

    auto_authorise: bool = False
    restock: dict[ReturnCondition, Disposition] = Field(default_factory=dict)
    not_received_after: timedelta = timedelta(days=14)
    not_received_action: NotReceivedAction = NotReceivedAction.KEEP_WAITING
    exchange_on: ExchangeOn = ExchangeOn.AUTHORISED
    orders_task_queue: str
    selling_task_queue: str
    # The receiving location's fulfillment channel queue (None: nothing to announce to).
    fulfillment_task_queue: str | None = None
    escalation_delay: timedelta = timedelta(hours=4)


class PrepareInput(BaseModel):
    workflow_id: str
    channel_id: str
    external_id: str
    raw_payload: dict[str, Any]
    received_at: datetime


class PrepareResult(BaseModel):
    """The mapped request, its order, and what the ledger and the policy say of it."""

    policy: ReturnPolicy
    request: ReturnRequest | None = None
    # The payload cannot be mapped: why.
    error: str | None = None
    # The order's workflow id when Orderloop accepted it; None: an order it never saw.
    order_workflow_id: str | None = None
    shipment_ids: list[str] = Field(default_factory=list)
    # Refused (beyond what shipped, outside the window, a SKU the policy does not take back): why.
    refusal: str | None = None
    # Where it is received, and that location's fulfillment channel.
    location_id: str | None = None
    fulfillment_channel_id: str | None = None
    # Announced to the warehouse (None when the return goes there only after authorisation).
    expected: ExpectedReturn | None = None


class RecordStatusInput(BaseModel):
    return_id: str
    status: str
    reason: str | None = None


class RestockInput(BaseModel):
    return_id: str
    location_id: str
    lines: list[ReceivedUnits]
    restock: dict[ReturnCondition, Disposition] = Field(default_factory=dict)


class RestockResult(BaseModel):
    restocked: dict[str, int] = Field(default_factory=dict)
    non_sellable: dict[str, int] = Field(default_factory=dict)
    # False: the ledger had this receipt already (a retried activity).
    applied: bool = True


class CreateExpectedResult(BaseModel):
    vendor_id: str | None = None
    label: ReturnLabel | None = None
    supported: bool = True
    error: str | None = None


class PushReceivedInput(BaseModel):
    request: ReturnRequest
    receipt: ReturnReceipt


class PushReceivedResult(BaseModel):
    channel_ref: str | None = None
    supported: bool = True
    error: str | None = None


class StartExchangeInput(BaseModel):
    request: ReturnRequest
    return_workflow_id: str
    order_workflow_id: str


class StartExchangeResult(BaseModel):
    order_workflow_id: str
    started: bool


class ReturnOperatorRequest(BaseModel):
    """An operator's action on a return; camelCase on the wire, snake_case accepted too."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    operator: str = "operator"
    note: str | None = None


class AuthoriseReturnRequest(ReturnOperatorRequest):
    pass


class RejectReturnRequest(ReturnOperatorRequest):
    reason: str = "rejected by an operator"


class ReceiveReturnRequest(ReturnOperatorRequest):
    """Receive by hand (or replace a mismatching receipt): each SKU's units and condition."""

    lines: list[ReceivedUnits] = Field(min_length=1)
    location_id: str | None = None


class CloseReturnRequest(ReturnOperatorRequest):
    reason: str = "closed by an operator"


class ReturnUpdateResult(BaseModel):
    accepted: bool = True
    message: str
    view: ReturnView
