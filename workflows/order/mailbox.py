"""The order workflow's mailbox for operator actions (the `retry`, `reroute`, `cancel`,
`amend_address` and `mark_shipped` updates)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import ErrorTypes, Updates
    from orderloop.model import OrderView

from workflows.order import bookkeeping


@dataclass
class Action:
    name: Updates
    request: BaseModel
    seq: int


class ActionMailbox:
    """One operator action at a time, answered after it has played out.

    Invariant: an update handler queues its action (`submit`) and waits; the step that can
    apply it takes it (`consume`), and the operator is answered (`finish`) only after the step
    the action triggers has played out, with a message that says where the order stands then.
    While an action is queued or being applied, a second one is refused (`check`), and so is
    one the current step does not take (`accepts`, set by the step that waits for actions; or
    `accepts_from`, asked at each action, by a step whose actions change with the order while
    it works, such as the shipment phase when an edit opens edit_after_release)."""

    def __init__(self) -> None:
        self.pending: Action | None = None
        self._consumed: Action | None = None
        self._seq = 0
        self._handled_seq = 0
        # The answer the next finished action gets; steps may set it before `finish`.
        self.message = ""
        self.accepts: frozenset[Updates] = frozenset()
        # Validators only: what decides the workflow's commands (playbook rules) reads `accepts`.
        self.accepts_from: Callable[[], frozenset[Updates]] | None = None

    async def submit(self, name: Updates, request: BaseModel) -> str:
        """Queue an action and wait until it has been answered; returns the answer."""
        self._seq += 1
        seq = self._seq
        self.pending = Action(name, request, seq)
        await workflow.wait_condition(lambda: self._handled_seq >= seq)
        return self.message

    def enqueue(self, name: Updates, request: BaseModel) -> None:
        """Queue an action nobody waits for (an auto-resolve rule's): applied as an operator's is."""
        self._seq += 1
        self.pending = Action(name, request, self._seq)

    def operator(self) -> str | None:
        """Who asked for the action being applied (or queued) now."""
        action = self._consumed or self.pending
        return getattr(action.request, "operator", None) if action is not None else None

    def consume(self) -> Action:
        """Take the queued action to apply it; it is answered at the next `finish`."""
        assert self.pending is not None
        self._consumed, self.pending = self.pending, None
        return self._consumed

    def finish(self, message: str, terminal: bool) -> None:
        """Answer the operator whose action has now played out (and, once the order is
        `terminal`, the one still queued: nothing will apply it)."""
        if self._consumed is None and self.pending is None:
            return
        self.message = message
        if self._consumed is not None:
            self._handled_seq = max(self._handled_seq, self._consumed.seq)
            self._consumed = None
        if terminal and self.pending is not None:
            self._handled_seq = self.pending.seq
            self.pending = None

    def check(self, name: Updates, view: OrderView) -> None:
        """Refuse (in an update validator) an action the order in `view` cannot take now: it is
        completed or cancelled, another action is in flight, or the current step does not take it."""
        if bookkeeping.is_terminal(view):
            raise ApplicationError(
                f"order is {view.status}: nothing to {name}", type=ErrorTypes.ACTION_NOT_APPLICABLE, non_retryable=True
            )
        if self.pending is not None or self._consumed is not None:
            raise ApplicationError(
                "another operator action is still being applied; try again in a moment",
                type=ErrorTypes.ACTION_NOT_APPLICABLE,
                non_retryable=True,
            )
        accepts = self.accepts_from() if self.accepts_from is not None else self.accepts
        if name not in accepts:
            exc = view.open_exception
            state = f"{view.status}" + (f" ({exc.kind})" if exc else "")
            possible = ", ".join(sorted(accepts)) or "none (the order is being processed)"
            raise ApplicationError(
                f"cannot {name} while the order is {state}; possible now: {possible}",
                type=ErrorTypes.ACTION_NOT_APPLICABLE,
                non_retryable=True,
            )
