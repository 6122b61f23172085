"""Which of the order's later behaviours an order runs: by its start revision where the
revision says (orders of `MARKERLESS_REVISION` on ask no patch at all), else by the patch
marker its history holds, asked at the same points as when it was recorded."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import MARKERLESS_REVISION
    from orderloop.wholesale import WHOLESALE_PATCH

from workflows.order.state import OrderState

# From this patch on (and for every order of revision 6 on), a resolution no sink is told of
# still reaches the notify activity (as a record-only notice) for the operations record.
PATCH_OPERATIONS_RECORD = "operations-record"


def wholesale_on(s: OrderState) -> bool:
    """The wholesale steps: the ship window's wait and deadline, case-pack holds, the line
    decisions told to the channel."""
    return s.input.revision >= MARKERLESS_REVISION or workflow.patched(WHOLESALE_PATCH)


def operations_record_on(s: OrderState) -> bool:
    """A resolution no sink is told of is still a (record-only) notice."""
    return s.input.revision >= MARKERLESS_REVISION or workflow.patched(PATCH_OPERATIONS_RECORD)
