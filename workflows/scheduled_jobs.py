"""Scheduled jobs, run by Temporal schedules: pull each fulfillment channel's stock snapshot into
the ledger, reconcile the ledger and the channels (report drift), poll each selling channel
for orders whose webhook never arrived and, where configured, for its return requests, poll a
fulfillment channel without webhooks for the shipments it recorded since the last poll, and
collect the reports (shipment and stock files) a fulfillment channel leaves for Orderloop."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import Activities
    from orderloop.contracts.scheduled_jobs import (
        ORDER_POLL_WORKFLOW,
        RECONCILIATION_WORKFLOW,
        REPORT_POLL_WORKFLOW,
        RETURN_POLL_WORKFLOW,
        SHIPMENT_POLL_WORKFLOW,
        STOCK_SNAPSHOT_WORKFLOW,
        CollectReportsInput,
        CollectReportsReport,
        PollOrdersInput,
        PollOrdersReport,
        PollReturnsInput,
        PollReturnsReport,
        PollShipmentsInput,
        PollShipmentsReport,
        ReconcileInput,
        ReconcileReport,
        SnapshotInput,
        SnapshotReport,
    )

_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=5)

R = TypeVar("R", bound=BaseModel)


async def _run_job(
    activity: str,
    inp: SnapshotInput | ReconcileInput | PollOrdersInput | PollReturnsInput | PollShipmentsInput | CollectReportsInput,
    result: type[R],
    heartbeat_timeout: timedelta = timedelta(minutes=2),
) -> R:
    """One scheduled job is one activity on the queue its input names, heartbeating as it goes."""
    return await workflow.execute_activity(
        activity,
        inp,
        result_type=result,
        task_queue=inp.task_queue,
        start_to_close_timeout=timedelta(minutes=10),
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=_RETRY,
    )


@workflow.defn(name=STOCK_SNAPSHOT_WORKFLOW)
class StockSnapshotWorkflow:
    @workflow.run
    async def run(self, inp: SnapshotInput) -> SnapshotReport:
        return await _run_job(Activities.PULL_STOCK_SNAPSHOT, inp, SnapshotReport)


@workflow.defn(name=RECONCILIATION_WORKFLOW)
class ReconciliationWorkflow:
    @workflow.run
    async def run(self, inp: ReconcileInput) -> ReconcileReport:
        return await _run_job(Activities.RECONCILE_INVENTORY, inp, ReconcileReport)


@workflow.defn(name=ORDER_POLL_WORKFLOW)
class OrderPollWorkflow:
    """Scheduled per selling channel: recover orders whose webhook never arrived."""

    @workflow.run
    async def run(self, inp: PollOrdersInput) -> PollOrdersReport:
        return await _run_job(Activities.POLL_CHANNEL_ORDERS, inp, PollOrdersReport)


@workflow.defn(name=RETURN_POLL_WORKFLOW)
class ReturnPollWorkflow:
    """Scheduled per selling channel with `poll_returns_every`: start the return requests the
    channel has that Orderloop has not (Amazon has no return webhook at all)."""

    @workflow.run
    async def run(self, inp: PollReturnsInput) -> PollReturnsReport:
        return await _run_job(Activities.POLL_CHANNEL_RETURNS, inp, PollReturnsReport)


@workflow.defn(name=SHIPMENT_POLL_WORKFLOW)
class ShipmentPollWorkflow:
    """Scheduled per fulfillment channel with `poll_fulfillments_every`: signal to their orders
    the shipments the channel recorded since the last poll (NetSuite sends no webhook)."""

    @workflow.run
    async def run(self, inp: PollShipmentsInput) -> PollShipmentsReport:
        return await _run_job(Activities.POLL_CHANNEL_SHIPMENTS, inp, PollShipmentsReport)


@workflow.defn(name=REPORT_POLL_WORKFLOW)
class ReportPollWorkflow:
    """Scheduled per fulfillment channel with `poll_reports_every`: collect the shipment and stock
    files it left. It heartbeats per row, so a worker killed mid-file is noticed within 15 s and
    the retry resumes the file where the ledger's journal says it stopped."""

    @workflow.run
    async def run(self, inp: CollectReportsInput) -> CollectReportsReport:
        return await _run_job(
            Activities.COLLECT_FULFILLMENT_REPORTS, inp, CollectReportsReport, heartbeat_timeout=timedelta(seconds=15)
        )
