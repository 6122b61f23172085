"""Exceptions of the order workflow: opening and resolving one (search attribute, timeline,
notification), waiting in it for whatever can move the order on, and escalating it when
nobody resolves it in time; the ship-by clock's warning and breach, due in any wait. The base
of the order's steps, built with the order's policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import Notification, NotificationLevel
    from orderloop.contracts import Activities, OrderPolicy, Updates
    from orderloop.model import ExceptionKind, Order, OrderException, OrderStatus
    from orderloop.sla import ship_by_deadline, warning_at

from workflows.order import bookkeeping
from workflows.order.options import CALL_TIMEOUT, NOTIFY_RETRY, OOS_RETRY_CAP, failure_message
from workflows.order.ship_by import ShipByClock, SlaEvent
from workflows.order.state import OrderState, Woke


class ExceptionSteps:
    """The order's steps that need its policy start here: there is no policy before ingest."""

    def __init__(self, state: OrderState, policy: OrderPolicy) -> None:
        self.s = state
        # Replaced when an edit is mapped again (the ingest activity hands it out each time).
        self.policy = policy

    async def hold_for(
        self,
        kind: ExceptionKind,
        message: str,
        *,
        accepts: set[Updates],
        detail: dict[str, object] | None = None,
        auto_retry: bool = False,
        wake: Callable[[], bool] | None = None,
        restock: bool = False,
    ) -> Woke:
        """Open (or keep) an exception and wait until something can move the order on: an
        operator action (still queued in the mailbox), a cancel, an edit, stock arriving for
        one of the order's SKUs (with `restock`), or the auto-retry timer."""
        s = self.s
        # The order shows the exception before its notification has gone out: the actions that
        # resolve it are taken from then on (queued, applied once the wait below starts).
        s.mailbox.accepts = frozenset({*accepts, Updates.CANCEL})
        await self.open_exception(kind, message, detail or {})
        s.finish_action(f"order is in exception {kind}: {message}")
        retry_at = None
        if auto_retry:
            # Re-check on a doubling backoff: 1, 2, 4 ... 16 times the channel's retry interval.
            step = min(2 ** s.retries[kind], OOS_RETRY_CAP)
            retry_at = workflow.now() + self.policy.out_of_stock_retry * step

        def woken() -> bool:
            return (
                s.mailbox.pending is not None
                or s.cancel_reason is not None
                or bool(wake and wake())
                or (restock and s.restock_arrived())
            )

        try:
            reached = await self.wait(woken, retry_at)
        finally:
            s.mailbox.accepts = frozenset()
        if s.mailbox.pending is not None and s.mailbox.pending.name != Updates.CANCEL:
            return Woke.ACTION
        if s.cancel_reason is not None:
            return Woke.CANCEL
        if wake is not None and wake():
            return Woke.EDIT
        if restock and s.restock_arrived():
            s.note("stock arrived", ", ".join(sorted(s.restocked & bookkeeping.order_skus(s.view))))
            s.restocked.clear()
            return Woke.RESTOCK
        assert not reached
        s.retries[kind] += 1
        s.note("auto-retry", str(kind))
        return Woke.TIMER

    async def open_exception(self, kind: ExceptionKind, message: str, detail: dict[str, object]) -> None:
        s = self.s
        current = s.view.open_exception
        if current is not None and current.kind is kind:
            current.message = message
            return
        if current is not None:
            self.resolve_open(f"superseded by {kind}")
        s.view.exceptions.append(OrderException(kind=kind, message=message, detail=detail, raised_at=workflow.now()))
        s.view.status = OrderStatus.EXCEPTION
        s.note("exception", f"{kind}: {message}")
        s.publish()
        await self.notify(NotificationLevel.EXCEPTION, kind, message)

    def resolve_open(self, resolution: str, only: tuple[ExceptionKind, ...] | None = None) -> None:
        s = self.s
        exc = s.view.open_exception
        if exc is None or (only is not None and exc.kind not in only):
            return
        exc.resolved_at = workflow.now()
        exc.resolution = resolution
        s.view.status = s.phase
        s.note("exception resolved", f"{exc.kind}: {resolution}")
        s.publish()
        s.finish_action(resolution)

    def _escalation_due(self) -> datetime | None:
        exc = self.s.view.open_exception
        if exc is None or exc.escalated_at is not None:
            return None
        return exc.raised_at + self.policy.escalation_delay

    async def _escalate(self) -> None:
        exc = self.s.view.open_exception
        assert exc is not None
        exc.escalated_at = workflow.now()
        self.s.note("escalated", f"{exc.kind} unresolved after {self.policy.escalation_delay}")
        await self.notify(NotificationLevel.ESCALATION, exc.kind, f"unresolved: {exc.message}")

    def arm_ship_by(self, order: Order | None) -> None:
        """Set the ship-by deadline from the order's acceptance (or the channel's own date), by
        the channel's calendar; again after an edit. Orders before revision 2 keep their timer
        in the shipment wait."""
        s = self.s
        if s.input.revision < 2:
            return
        deadline = ship_by_deadline(
            workflow.info().start_time,
            self.policy.ship_by_sla,
            self.policy.ship_by_calendar,
            order.ship_by_date if order else None,
        )
        warn_at = warning_at(deadline, self.policy.ship_by_warning)
        if s.ship_by is None:
            s.ship_by = ShipByClock(deadline, warn_at)
        else:
            s.ship_by.deadline, s.ship_by.warn_at = deadline, warn_at
        s.view.ship_by_deadline = deadline

    def _ship_by_due(self) -> tuple[datetime, SlaEvent] | None:
        """The ship-by clock's next event while it runs: from acceptance until every unit shipped."""
        s = self.s
        if s.ship_by is None or s.terminal or (s.view.order is not None and bookkeeping.open_units(s.view) == 0):
            return None
        return s.ship_by.next_event(exception_open=s.view.open_exception is not None)

    async def _ship_by_event(self, event: SlaEvent) -> None:
        s = self.s
        clock = s.ship_by
        assert clock is not None
        deadline = f"{clock.deadline:%Y-%m-%d %H:%M} UTC"
        exc = s.view.open_exception
        if event is SlaEvent.WARN:
            clock.warned = True
            if workflow.now() < clock.deadline:
                s.note("ship-by deadline near", deadline)
                await self.notify(
                    NotificationLevel.WARNING, ExceptionKind.SLA_BREACH, f"not shipped yet; ship by {deadline}"
                )
            return
        clock.breached = clock.warned = True
        if exc is not None:
            s.note("ship-by deadline passed", f"{deadline}, while in {exc.kind}")
            await self.notify(
                NotificationLevel.EXCEPTION, ExceptionKind.SLA_BREACH, f"not shipped by {deadline} (in {exc.kind})"
            )
            return
        clock.raised = True
        await self.open_exception(
            ExceptionKind.SLA_BREACH,
            f"not shipped by its ship-by deadline {deadline}",
            {"shipByDeadline": clock.deadline.isoformat(), "openUnits": bookkeeping.open_units(s.view)},
        )

    async def notify(self, level: NotificationLevel, kind: ExceptionKind, message: str) -> None:
        s = self.s
        try:
            await workflow.execute_activity(
                Activities.NOTIFY,
                Notification(
                    workflow_id=s.id,
                    channel_id=s.input.channel_id,
                    external_id=s.input.external_id,
                    level=level,
                    kind=kind,
                    message=message,
                    at=workflow.now(),
                ),
                task_queue=self.policy.orders_task_queue,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=NOTIFY_RETRY,
            )
        except ActivityError as err:
            s.note("notification failed", failure_message(err))

    async def wait(self, condition: Callable[[], bool], deadline: datetime | None) -> bool:
        """Wait for `condition` until `deadline`, escalating an open exception and acting on the
        ship-by clock when their time comes. True when the condition holds, False when the
        deadline passed."""
        while True:
            if condition():
                return True
            escalate_at = self._escalation_due()
            ship_by = self._ship_by_due()
            due = [d for d in (deadline, escalate_at, ship_by[0] if ship_by else None) if d is not None]
            if not due:
                await workflow.wait_condition(condition)
                return True
            now = workflow.now()
            nearest = min(due)
            if nearest <= now:
                if escalate_at is not None and escalate_at <= now:
                    await self._escalate()
                    continue
                if ship_by is not None and ship_by[0] <= now:
                    await self._ship_by_event(ship_by[1])
                    continue
                return False
            try:
                await workflow.wait_condition(condition, timeout=nearest - now)
            except TimeoutError:
                pass
