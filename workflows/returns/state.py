"""What a return workflow holds: its view (the status query's answer), the channel's and the
warehouse's messages not yet taken, and the operator's action in flight."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts.names import ErrorTypes, ReturnUpdates
    from orderloop.contracts.returns import ReturnInput, ReturnPolicy
    from orderloop.model import TimelineEntry
    from orderloop.returns_model import (
        ReturnException,
        ReturnExceptionKind,
        ReturnProgress,
        ReturnReceipt,
        ReturnStatus,
        ReturnView,
    )


@dataclass
class Action:
    name: ReturnUpdates
    request: BaseModel
    seq: int
    answer: str | None = None


@dataclass
class ReturnState:
    input: ReturnInput
    id: str
    view: ReturnView = field(init=False)
    policy: ReturnPolicy | None = None
    progress: list[ReturnProgress] = field(default_factory=list)
    receipts: list[ReturnReceipt] = field(default_factory=list)
    action: Action | None = None
    # When the customer's parcel is due to have arrived by (the not-received timer).
    receive_by: datetime | None = None
    announced: bool = False
    _accepts: frozenset[ReturnUpdates] = frozenset()
    _seq: int = 0
    _seen_events: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.view = ReturnView(
            workflow_id=self.id,
            channel_id=self.input.channel_id,
            external_id=self.input.external_id,
            status=ReturnStatus.REQUESTED,
            received_at=self.input.received_at,
            raw_payload=self.input.raw_payload,
        )

    @property
    def accepts(self) -> frozenset[ReturnUpdates]:
        """What the waiting step takes from an operator now (validators refuse the rest); the
        view shows it as `actions`."""
        return self._accepts

    @accepts.setter
    def accepts(self, names: frozenset[ReturnUpdates]) -> None:
        self._accepts = names
        self.view.actions = sorted(name.removeprefix("return_") for name in names)

    # --- bookkeeping -----------------------------------------------------------------------

    def note(self, event: str, detail: str | None = None) -> None:
        self.view.timeline.append(TimelineEntry(at=workflow.now(), event=event, detail=detail))

    def set_status(self, status: ReturnStatus, detail: str | None = None) -> None:
        if self.view.status is not status:
            self.view.status = status
            self.note(f"return {status}", detail)

    def raise_exception(self, kind: ReturnExceptionKind, message: str, detail: dict[str, object] | None = None) -> None:
        self.view.exceptions.append(
            ReturnException(kind=kind, message=message, detail=detail or {}, raised_at=workflow.now())
        )
        self.set_status(ReturnStatus.EXCEPTION, f"{kind}: {message}")

    def resolve_open(self, resolution: str) -> None:
        exc = self.view.open_exception
        if exc is not None:
            exc.resolved_at = workflow.now()
            exc.resolution = resolution
            self.note(f"{exc.kind} resolved", resolution)

    def open_kind(self) -> ReturnExceptionKind | None:
        exc = self.view.open_exception
        return exc.kind if exc else None

    def first_time(self, event_id: str | None) -> bool:
        """False for a message whose delivery id was taken before (a re-delivered webhook)."""
        if event_id is None:
            return True
        if event_id in self._seen_events:
            return False
        self._seen_events.add(event_id)
        return True

    # --- operator actions --------------------------------------------------------------------

    def check(self, name: ReturnUpdates) -> None:
        """Refuse (in a validator) an action the return cannot take now."""
        view = self.view
        if view.status.terminal:
            raise _refusal(f"return is {view.status}: nothing to {name.removeprefix('return_')}")
        if self.action is not None:
            raise _refusal("another operator action is still being applied; try again in a moment")
        if name not in self.accepts:
            kind = self.open_kind()
            state = f"{view.status}" + (f" ({kind})" if kind else "")
            possible = ", ".join(sorted(a.removeprefix("return_") for a in self.accepts)) or "none"
            what = name.removeprefix("return_")
            raise _refusal(f"cannot {what} while the return is {state}; possible now: {possible}")

    async def submit(self, name: ReturnUpdates, request: BaseModel) -> str:
        """Queue an action; answered once the step that takes it has played out."""
        self._seq += 1
        action = Action(name, request, self._seq)
        self.action = action
        await workflow.wait_condition(lambda: action.answer is not None)
        assert action.answer is not None
        return action.answer

    def take(self) -> Action:
        assert self.action is not None
        return self.action

    def answer(self, message: str) -> None:
        if self.action is not None:
            self.action.answer = message
            self.action = None


def _refusal(message: str) -> ApplicationError:
    return ApplicationError(message, type=ErrorTypes.ACTION_NOT_APPLICABLE, non_retryable=True)
