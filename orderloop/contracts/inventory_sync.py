"""The inventory sync's contract: one workflow per selling channel, its name and id, its
input (where the channel's sync stands in the outbox, handed on at each continue-as-new), its
progress, and the outbox consumer name it saves its cursor under."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

INVENTORY_SYNC_WORKFLOW = "InventorySync"


def inventory_sync_workflow_id(channel_id: str) -> str:
    return f"inventory-sync/{channel_id}"


def inventory_sync_consumer(channel_id: str) -> str:
    """The outbox consumer name of one selling channel's inventory sync."""
    return f"inventory-sync/{channel_id}"


class InventorySyncInput(BaseModel):
    """Where one selling channel's inventory sync stands: the last outbox row it pushed."""

    channel_id: str
    task_queue: str
    # -1: nothing pushed yet, so the first run publishes every SKU before following the outbox.
    cursor: int = -1
    # How long one activity run drains before the workflow continues as new (bounded history).
    run_for: timedelta = timedelta(minutes=30)
    # Changes made by this worker process wake the sync at once; others are polled this often.
    poll_interval: timedelta = timedelta(milliseconds=200)
    # At most one push per this window (and never faster than the channel's rate limit): the
    # changes of a busy moment go out together, each SKU once, with its newest quantity.
    coalesce: timedelta = timedelta(milliseconds=100)


class InventorySyncProgress(BaseModel):
    cursor: int
    pushes: int = 0
    skus_pushed: int = 0
