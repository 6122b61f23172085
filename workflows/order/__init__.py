"""The order workflow package: `OrderWorkflow` (the lifecycle and its handlers, `workflow.py`),
the steps after ingest (`shipping.py` on `edits.py` on `sending.py` on `holds.py`), the state
they share (`state.py`), the ship-by clock's events (`ship_by.py`), the operator-action mailbox
(`mailbox.py`), the pure bookkeeping over the order view (`bookkeeping.py`) and how activities
are called (`options.py`)."""

from workflows.order.workflow import OrderWorkflow

__all__ = ["OrderWorkflow"]
