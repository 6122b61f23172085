"""What one order workflow holds between its steps: the order view (the `status` query's
answer), the inboxes its signals fill, the operator-action mailbox, and the small state the
steps share (phase, routing overrides, retries so far, published search attributes)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey
from temporalio.workflow import ActivityHandle

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import (
        ChannelCancel,
        ChannelEdit,
        ChannelException,
        FulfillmentCancel,
        FulfillmentUpdate,
        OrderInput,
        SearchAttributes,
    )
    from orderloop.model import ExceptionKind, Order, OrderStatus, OrderView, Shipment, TimelineEntry
    from orderloop.playbooks import Playbook

from workflows.order import bookkeeping
from workflows.order.bookkeeping import SearchAttributeValue
from workflows.order.mailbox import ActionMailbox
from workflows.order.ship_by import ShipByClock


class Woke(StrEnum):
    """What ended an exception wait."""

    ACTION = "action"
    CANCEL = "cancel"
    TIMER = "auto_retry"
    EDIT = "edit"
    RESTOCK = "restock"
    # A case the selling channel raised reached an order waiting before send.
    CHANNEL_CASE = "channel_case"


class OrderState:
    """The order's state: what its handlers write (inboxes, cancel, mailbox) and its steps read."""

    def __init__(self, inp: OrderInput, workflow_id: str) -> None:
        self.input = inp
        self.id = workflow_id
        self.view = OrderView(
            workflow_id=workflow_id,
            channel_id=inp.channel_id,
            external_id=inp.external_id,
            status=OrderStatus.RECEIVED,
            received_at=inp.received_at,
            raw_payload=inp.raw_payload,
        )
        self.phase = OrderStatus.RECEIVED
        self.mailbox = ActionMailbox()
        self.edits: list[ChannelEdit] = []
        # An edit after release waiting in edit_after_release: its payload and mapped order.
        self.released_edit: tuple[ChannelEdit, Order] | None = None
        # The newest channel version (updated_at) of the edits taken so far.
        self.edit_version: datetime | None = None
        self.cancel_reason: str | None = None
        self.cancel_handled = False
        self.inbox: list[Shipment] = []
        self.seen_shipments: set[str] = set()
        self.unpushed: list[Shipment] = []
        self.vendor_cancels: list[FulfillmentCancel] = []
        self.fulfillment_updates: list[FulfillmentUpdate] = []
        # Cases the selling channel raised, waiting for the step that opens them; and those
        # taken so far (kind, reference), so a case reported again opens nothing new.
        self.channel_exceptions: list[ChannelException] = []
        self.channel_cases: set[tuple[str, str]] = set()
        # SKUs whose availability rose since the order last tried to allocate (restock watcher).
        self.restocked: set[str] = set()
        self.force_location: str | None = None
        self.exclude: list[str] = []
        # Auto-retries so far per exception kind: the backoff of the next one.
        self.retries: Counter[ExceptionKind] = Counter()
        # What this order writes: orders older than the KeywordList keep the Keyword they had.
        self.search_keys = SearchAttributes.written_by(inp.revision)
        self.published: dict[str, SearchAttributeValue] = {}
        # Armed at ingest for orders of revision 2 on (older ones time the SLA after send).
        self.ship_by: ShipByClock | None = None
        # Revision 4: the playbook each exception opened under (by its index; None: the
        # default), the rules that acted on each, who is resolving the open one now (a rule),
        # whether the cancel under way must be told to the selling channel, and the resolved
        # notices still going out (awaited before the workflow returns).
        self.playbooks: dict[int, Playbook | None] = {}
        self.rules_tried: set[tuple[int, str]] = set()
        self.actor: str | None = None
        self.tell_channel = False
        # Also the replies to the channel's cases (`ChannelExceptionReplied`), drained the same way.
        self.notices: list[ActivityHandle[Any]] = []
        # A channel that confirms allocations was told the line decisions (once per order).
        self.allocation_confirmed = False
        if inp.revision >= 1:
            # The starter set these search attributes (an absent one is unset): not upserted
            # again unless they change.
            given = {pair.key.name: pair.value for pair in workflow.info().typed_search_attributes}
            self.published = {key.name: _published(key, given.get(key.name)) for key in self.search_keys}

    @property
    def order(self) -> Order:
        assert self.view.order is not None
        return self.view.order

    @property
    def terminal(self) -> bool:
        return bookkeeping.is_terminal(self.view)

    def set_order(self, order: Order) -> None:
        self.view.order = order
        self.view.lines = bookkeeping.line_progress(order)

    def edit_applies(self) -> bool:
        """An edit is queued that can still apply to the order as it is: nothing is with a
        fulfillment channel (revision 2; older orders never queued one after a request)."""
        return bool(self.edits) and (self.input.revision < 2 or not bookkeeping.released(self.view))

    def edit_after_release(self) -> bool:
        """An edit is queued that came after the order was released (revision 2)."""
        return bool(self.edits) and self.input.revision >= 2 and bookkeeping.released(self.view)

    def edit_known(self, edit: ChannelEdit) -> bool:
        """An edit the order holds already: older than the channel version it has (a stale
        re-delivery), or, found by the order poll, that very version (the webhook brought it).
        Edits without a version (older histories, channels that give none) are never known."""
        if edit.updated_at is None:
            return False
        versions = [v for v in (self.view.order.updated_at if self.view.order else None, self.edit_version) if v]
        held = max(versions, default=None)
        if held is not None and (edit.updated_at < held or (edit.polled and edit.updated_at == held)):
            self.note("edit ignored", f"the order holds the channel's version of {held.isoformat()} already")
            return True
        self.edit_version = edit.updated_at
        return False

    def cancel_known(self, cancel: ChannelCancel) -> bool:
        """A second cancel of an order whose cancel is under way (the webhook's, then the poll's);
        cancels without a version (older histories) are taken as before."""
        if cancel.updated_at is None or self.cancel_reason is None:
            return False
        self.note("cancel ignored", "a cancel was requested already")
        return True

    def restock_arrived(self) -> bool:
        return bool(self.restocked & bookkeeping.order_skus(self.view))

    def set_phase(self, status: OrderStatus) -> None:
        self.phase = status
        if self.view.open_exception is None or status in bookkeeping.TERMINAL:
            self.view.status = status
        self.publish()

    def note(self, event: str, detail: str | None = None) -> None:
        self.view.timeline.append(TimelineEntry(at=workflow.now(), event=event, detail=detail))

    def finish_action(self, message: str) -> None:
        """Answer the operator whose action has now played out (see `ActionMailbox`)."""
        self.mailbox.finish(message, self.terminal)

    def publish(self) -> None:
        """Upsert the search attributes that changed since the last upsert."""
        changes = bookkeeping.search_attribute_changes(self.view, self.published, self.search_keys)
        if not changes:
            return
        self.published.update(changes)
        workflow.upsert_search_attributes(
            [
                key.value_set(changes[key.name]) if changes[key.name] else key.value_unset()
                for key in self.search_keys
                if key.name in changes
            ]
        )


def _published(key: SearchAttributeKey[Any], value: object) -> SearchAttributeValue:
    """A start search attribute as the bookkeeping compares it (absent = unset)."""
    if key.indexed_value_type is SearchAttributeIndexedValueType.KEYWORD_LIST:
        return [str(v) for v in value] if isinstance(value, list | tuple) else []
    return "" if value is None else str(value)
