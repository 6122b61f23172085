"""The order's ship-by clock inside the workflow: its deadline, its warning time, and which of
its events is due next. It calls no Temporal API; `ExceptionSteps.wait` asks it while the order
waits in any state and acts on the event (orders of revision 2 on)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SlaEvent(StrEnum):
    WARN = "warn"
    # The deadline passed: sla_breach opens, or, while another exception is open, the breach is
    # noted and notified beside it...
    BREACH = "breach"
    # ...and sla_breach opens once that exception is resolved and the order still has not shipped.
    RAISE = "raise"


@dataclass
class ShipByClock:
    deadline: datetime
    warn_at: datetime | None
    warned: bool = False
    breached: bool = False
    # The sla_breach exception was opened (or a shipment came first): it is not opened again.
    raised: bool = False

    def next_event(self, exception_open: bool) -> tuple[datetime, SlaEvent] | None:
        """The next event and when it is due (a due time in the past means now)."""
        if not self.breached:
            if not self.warned and self.warn_at is not None:
                return self.warn_at, SlaEvent.WARN
            return self.deadline, SlaEvent.BREACH
        if not self.raised and not exception_open:
            return self.deadline, SlaEvent.RAISE
        return None
