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
    from orderloop.activity_models import (
        ChannelExceptionDecision,
        ChannelExceptionReplied,
        ChannelExceptionReply,
        Notification,
        NotificationLevel,
    )
    from orderloop.contracts import Activities, ChannelException, OrderPolicy, Updates
    from orderloop.model import ExceptionKind, Order, OrderException, OrderStatus
    from orderloop.playbooks import AutoResolveRule, NoticeTarget, Playbook, RuleAction, playbook_for
    from orderloop.sla import ship_by_deadline, warning_at
    from orderloop.wholesale import ship_after, ship_cancel_deadline

from workflows.order import bookkeeping, playbook
from workflows.order.options import (
    CALL_TIMEOUT,
    CONNECTOR_RETRY,
    NOTIFY_RETRY,
    OOS_RETRY_CAP,
    REPLY_GIVE_UP,
    failure_message,
)
from workflows.order.patches import operations_record_on, wholesale_on
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
        channel: ChannelException | None = None,
        case_wakes: bool = False,
    ) -> Woke:
        """Open (or keep) an exception and wait until something can move the order on: an
        operator action (still queued in the mailbox), a cancel, an edit, stock arriving for
        one of the order's SKUs (with `restock`), a case the selling channel raised (with
        `case_wakes`), or the auto-retry timer."""
        s = self.s
        # The order shows the exception before its notification has gone out: the actions that
        # resolve it are taken from then on (queued, applied once the wait below starts). The
        # hold's actions stand until it ends, whatever step it interrupts.
        outer, s.mailbox.accepts_from = s.mailbox.accepts_from, None
        try:
            return await self._hold(kind, message, accepts, detail, auto_retry, wake, restock, channel, case_wakes)
        finally:
            s.mailbox.accepts_from = outer

    async def _hold(
        self,
        kind: ExceptionKind,
        message: str,
        accepts: set[Updates],
        detail: dict[str, object] | None,
        auto_retry: bool,
        wake: Callable[[], bool] | None,
        restock: bool,
        channel: ChannelException | None,
        case_wakes: bool,
    ) -> Woke:
        s = self.s
        s.mailbox.accepts = frozenset({*accepts, Updates.CANCEL})
        await self.open_exception(kind, message, detail or {}, channel)
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
                or (case_wakes and bool(s.channel_exceptions))
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
        if case_wakes and s.channel_exceptions:
            return Woke.CHANNEL_CASE
        if restock and s.restock_arrived():
            s.note("stock arrived", ", ".join(sorted(s.restocked & bookkeeping.order_skus(s.view))))
            s.restocked.clear()
            return Woke.RESTOCK
        assert not reached
        s.retries[kind] += 1
        s.note("auto-retry", str(kind))
        return Woke.TIMER

    async def open_exception(
        self, kind: ExceptionKind, message: str, detail: dict[str, object], channel: ChannelException | None = None
    ) -> None:
        s = self.s
        current = s.view.open_exception
        channel_kind = channel.kind if channel is not None else None
        if current is not None and current.kind is kind and current.channel_kind == channel_kind:
            current.message = message
            return
        if current is not None:
            self.resolve_open(f"superseded by {channel_kind or kind}")
        exc = OrderException(kind=kind, message=message, detail=detail, raised_at=workflow.now())
        if channel is not None:
            exc.channel_kind, exc.reference, exc.deadline = channel.kind, channel.reference, channel.deadline
        s.view.exceptions.append(exc)
        book = playbook.open_under(s, self.policy, exc)
        s.view.status = OrderStatus.EXCEPTION
        s.note("exception", f"{exc.code}: {message}")
        if exc.review_required is not None:
            s.note("review required", f"{kind}: {exc.review_required} (playbook {exc.playbook})")
        s.publish()
        if book is None:
            await self.notify(NotificationLevel.EXCEPTION, kind, message, channel_kind=exc.channel_kind)
            return
        exc.notified = [t.sink for t in book.notify]
        await self.notify(NotificationLevel.EXCEPTION, kind, message, book.notify, book.name, exc.channel_kind)

    def resolve_open(self, resolution: str, only: tuple[ExceptionKind, ...] | None = None) -> None:
        s = self.s
        exc = s.view.open_exception
        if exc is None or (only is not None and exc.kind not in only):
            return
        found = playbook.current(s)
        exc.resolved_at = workflow.now()
        exc.resolution = resolution
        s.view.status = s.phase
        if exc.kind is ExceptionKind.CHANNEL_EXCEPTION:
            s.notices.append(self._start_reply(exc))
        if not playbook.follows_playbooks(s):
            s.note("exception resolved", f"{exc.code}: {resolution}")
        else:
            exc.resolved_by = playbook.resolver(s)
            s.actor = None
            by = f" (by {exc.resolved_by})" if exc.resolved_by else ""
            s.note("exception resolved", f"{exc.code}: {resolution}{by}")
        targets = []
        book_name = None
        if found is not None:
            _, _, book = found
            book_name = book.name
            targets = playbook.told(book, exc, self.policy)
            if targets:
                s.notices.append(
                    self._start_notify(
                        NotificationLevel.RESOLVED,
                        exc.kind,
                        resolution,
                        targets,
                        book.name,
                        exc.resolved_by,
                        exc.channel_kind,
                    )
                )
        if not targets and operations_record_on(s):
            # No sink is told, but the operations record learns of the resolution (and by what).
            s.notices.append(
                self._start_notify(
                    NotificationLevel.RESOLVED,
                    exc.kind,
                    resolution,
                    [],
                    book_name,
                    exc.resolved_by,
                    exc.channel_kind,
                    record_only=True,
                )
            )
        s.publish()
        s.finish_action(resolution)

    def _start_reply(self, exc: OrderException) -> workflow.ActivityHandle[ChannelExceptionReplied]:
        """Tell the selling channel how the case it raised was resolved (where it takes an
        answer), beside the order's next step; drained with the notices."""
        s = self.s
        cancelled = s.cancel_reason is not None or s.view.status is OrderStatus.CANCELLED
        decision = ChannelExceptionDecision.CANCELLED if cancelled else ChannelExceptionDecision.PROCEEDED
        assert exc.channel_kind is not None and exc.resolution is not None
        return workflow.start_activity(
            Activities.RESOLVE_CHANNEL_EXCEPTION,
            ChannelExceptionReply(
                order=s.order,
                kind=exc.channel_kind,
                reference=exc.reference,
                decision=decision,
                resolution=exc.resolution,
            ),
            result_type=ChannelExceptionReplied,
            task_queue=self.policy.selling_task_queue,
            start_to_close_timeout=CALL_TIMEOUT,
            schedule_to_close_timeout=REPLY_GIVE_UP,
            retry_policy=CONNECTOR_RETRY,
        )

    def _channel_deadline_due(self) -> datetime | None:
        """The channel's deadline to answer the open channel exception, until it passed."""
        exc = self.s.view.open_exception
        if exc is None or exc.deadline is None or exc.deadline_passed:
            return None
        return exc.deadline

    async def _channel_deadline_passed(self) -> None:
        exc = self.s.view.open_exception
        assert exc is not None and exc.deadline is not None
        exc.deadline_passed = True
        deadline = f"{exc.deadline:%Y-%m-%d %H:%M} UTC"
        self.s.note("channel deadline passed", f"{exc.code}: {deadline}")
        found = playbook.current(self.s)
        targets = playbook.told(found[2], exc, self.policy) if found else None
        message = f"the channel's deadline {deadline} passed unanswered: {exc.message}"
        book = found[2].name if found else None
        await self.notify(NotificationLevel.ESCALATION, exc.kind, message, targets, book, exc.channel_kind)

    def _escalation_due(self) -> datetime | None:
        if playbook.current(self.s) is not None:
            level = playbook.next_level(self.s, self.policy)
            return level[0] if level else None
        exc = self.s.view.open_exception
        if exc is None or exc.escalated_at is not None:
            return None
        return exc.raised_at + self.policy.escalation_delay

    async def _escalate(self) -> None:
        exc = self.s.view.open_exception
        assert exc is not None
        found = playbook.current(self.s)
        if found is not None:
            await self._escalate_level(exc, found[2])
            return
        exc.escalated_at = workflow.now()
        self.s.note("escalated", f"{exc.kind} unresolved after {self.policy.escalation_delay}")
        message = f"unresolved: {exc.message}"
        await self.notify(NotificationLevel.ESCALATION, exc.kind, message, channel_kind=exc.channel_kind)

    async def _escalate_level(self, exc: OrderException, book: Playbook) -> None:
        """Fire the next level of the exception's escalation ladder."""
        ladder = book.ladder(self.policy.escalation_delay)
        level = ladder[exc.escalations]
        exc.escalations += 1
        exc.escalated_at = exc.escalated_at or workflow.now()
        exc.notified = [t.sink for t in playbook.told(book, exc, self.policy)]
        sinks = ", ".join(t.sink for t in level.notify) or "no sinks"
        self.s.note("escalated", f"{exc.kind} level {exc.escalations}/{len(ladder)} after {level.after}: {sinks}")
        message = f"unresolved after {level.after}: {exc.message}"
        await self.notify(NotificationLevel.ESCALATION, exc.kind, message, level.notify, book.name, exc.channel_kind)

    async def _apply_rule(self, rule: AutoResolveRule) -> None:
        """An auto-resolve rule's time came: it acts as an operator would (see playbook.act)."""
        s = self.s
        s.note("auto-resolve rule", playbook.act(s, rule))
        if rule.action is RuleAction.DISMISS:
            self.resolve_open(f"dismissed: {rule.reason}")

    def arm_ship_by(self, order: Order | None) -> None:
        """Set the ship-by deadline from the order's acceptance (or the channel's own date), by
        the channel's calendar; again after an edit. Orders before revision 2 keep their timer
        in the shipment wait."""
        s = self.s
        if s.input.revision < 2:
            return
        channel_date = order.ship_by_date if order else None
        accepted_at = workflow.info().start_time
        # A wholesale order's cancel-by date, less the channel's lead, is its deadline; without
        # one, the channel's SLA counts from when its ship window opens.
        cancel_by = ship_cancel_deadline(order, self.policy.ship_cancel_lead)
        opens = ship_after(order)
        later = opens is not None and opens > accepted_at
        if (cancel_by is not None or later) and wholesale_on(self.s):
            if cancel_by is not None:
                channel_date = cancel_by
            elif opens is not None:
                accepted_at = opens
        deadline = ship_by_deadline(accepted_at, self.policy.ship_by_sla, self.policy.ship_by_calendar, channel_date)
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
        # Revision 4: the warning and a breach beside another exception go to sla_breach's sinks.
        book = playbook_for(self.policy.playbooks, s.input.channel_id, ExceptionKind.SLA_BREACH)
        targets, name = (book.notify, book.name) if book and playbook.follows_playbooks(s) else (None, None)
        if event is SlaEvent.WARN:
            clock.warned = True
            if workflow.now() < clock.deadline:
                s.note("ship-by deadline near", deadline)
                message = f"not shipped yet; ship by {deadline}"
                await self.notify(NotificationLevel.WARNING, ExceptionKind.SLA_BREACH, message, targets, name)
            return
        clock.breached = clock.warned = True
        if exc is not None:
            s.note("ship-by deadline passed", f"{deadline}, while in {exc.kind}")
            message = f"not shipped by {deadline} (in {exc.kind})"
            await self.notify(NotificationLevel.EXCEPTION, ExceptionKind.SLA_BREACH, message, targets, name)
            return
        clock.raised = True
        detail: dict[str, object] = {
            "shipByDeadline": clock.deadline.isoformat(),
            "openUnits": bookkeeping.open_units(s.view),
        }
        message = f"not shipped by its ship-by deadline {deadline}"
        terms = s.view.order.wholesale if s.view.order is not None else None
        if terms is not None and terms.ship_cancel_by_date is not None:
            cancel_by = terms.ship_cancel_by_date
            detail["shipCancelByDate"] = cancel_by.isoformat()
            message += f"; the buyer cancels if not shipped by {cancel_by:%Y-%m-%d %H:%M}"
        await self.open_exception(ExceptionKind.SLA_BREACH, message, detail)

    async def notify(
        self,
        level: NotificationLevel,
        kind: ExceptionKind,
        message: str,
        targets: list[NoticeTarget] | None = None,
        book: str | None = None,
        channel_kind: str | None = None,
    ) -> None:
        try:
            await self._start_notify(level, kind, message, targets or [], book, channel_kind=channel_kind)
        except ActivityError as err:
            self.s.note("notification failed", failure_message(err))

    def _start_notify(
        self,
        level: NotificationLevel,
        kind: ExceptionKind,
        message: str,
        targets: list[NoticeTarget],
        book: str | None,
        resolved_by: str | None = None,
        channel_kind: str | None = None,
        record_only: bool = False,
    ) -> workflow.ActivityHandle[None]:
        s = self.s
        # One id per notice, minted here: a retried activity queues it once, a receiver dedupes.
        event_id = None
        if targets or record_only:
            exc = s.view.exceptions[-1] if s.view.exceptions else None
            step = f"{len(s.view.exceptions) - 1}.{exc.escalations if exc else 0}"
            event_id = f"{s.id}#{step}.{level}.{len(s.view.timeline)}"
        return workflow.start_activity(
            Activities.NOTIFY,
            Notification(
                workflow_id=s.id,
                channel_id=s.input.channel_id,
                external_id=s.input.external_id,
                level=level,
                kind=kind,
                channel_kind=channel_kind,
                message=message,
                at=workflow.now(),
                targets=targets,
                event_id=event_id,
                playbook=book,
                resolved_by=resolved_by,
                record_only=record_only,
            ),
            task_queue=self.policy.orders_task_queue,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=NOTIFY_RETRY,
        )

    async def drain_notices(self) -> None:
        """Wait for the resolved notices still going out (a failed one is a timeline note)."""
        while self.s.notices:
            try:
                await self.s.notices.pop(0)
            except ActivityError as err:
                self.s.note("notification failed", failure_message(err))

    async def wait(self, condition: Callable[[], bool], deadline: datetime | None) -> bool:
        """Wait for `condition` until `deadline`, escalating an open exception and acting on the
        ship-by clock when their time comes. True when the condition holds, False when the
        deadline passed."""
        while True:
            if condition():
                return True
            escalate_at = self._escalation_due()
            ship_by = self._ship_by_due()
            rule = playbook.next_rule(self.s)
            answer_by = self._channel_deadline_due()
            due = [
                d
                for d in (deadline, escalate_at, ship_by[0] if ship_by else None, rule[0] if rule else None, answer_by)
                if d
            ]
            if not due:
                await workflow.wait_condition(condition)
                return True
            now = workflow.now()
            nearest = min(due)
            if nearest <= now:
                if rule is not None and rule[0] <= now:
                    await self._apply_rule(rule[1])
                    continue
                if escalate_at is not None and escalate_at <= now:
                    await self._escalate()
                    continue
                if ship_by is not None and ship_by[0] <= now:
                    await self._ship_by_event(ship_by[1])
                    continue
                if answer_by is not None and answer_by <= now:
                    await self._channel_deadline_passed()
                    continue
                return False
            try:
                await workflow.wait_condition(condition, timeout=nearest - now)
            except TimeoutError:
                pass
