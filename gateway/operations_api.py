"""The operator API over the operations record (docs/operations-report.md): each channel's
report and its series over time, the open exceptions with their Temporal UI links, and the
go-live readiness verdict. Read-only (any operator). `since` is `30d`, `48h`, `90m` or an ISO
timestamp; JSON in camelCase (the contract the operations page reads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from gateway.deps import ID_PATTERN, Operator, State
from gateway.errors import GatewayError
from orderloop.channel_report import ReportError, open_exceptions, open_exceptions_json, parse_since, report_json
from orderloop.channel_report import series_json as channel_series_json
from orderloop.config import OrderloopConfig
from orderloop.golive import GoLiveError
from orderloop.model import ConnectorRole
from orderloop.readiness import readiness

router = APIRouter(tags=["operators"])
Channel = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
ChannelFilter = Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)]
Since = Annotated[str, Query(max_length=64)]


def _selling(config: OrderloopConfig, channel: str | None) -> list[str]:
    ids = [c.id for c in config.channels_with_role(ConnectorRole.SELLING)]
    if channel is None:
        return ids
    if channel not in ids:
        raise GatewayError(404, f"no selling channel {channel!r}", f"selling channels: {', '.join(ids)}")
    return [channel]


def _period(since: str) -> tuple[datetime, datetime]:
    until = datetime.now(UTC)
    try:
        start = parse_since(since, until)
    except ReportError as exc:
        raise GatewayError(422, str(exc), "since: 30d, 48h, 90m or an ISO timestamp") from None
    if start >= until:
        raise GatewayError(422, f"since {since!r} is not in the past", "give a period before now")
    return start, until


@router.get("/api/channels/report", summary="Each channel's operating figures and cost over a period")
async def channels_report(
    state: State, _: Operator, since: Since = "30d", channel: ChannelFilter = None
) -> dict[str, Any]:
    channels = _selling(state.config, channel)
    start, until = _period(since)
    rows = await state.ledger.operations_between(start, until, channels)
    return report_json(rows, state.config.operations, channels, start, until)


@router.get("/api/channels/{channel}/report/series", summary="One channel's figures per hour or day")
async def channel_series(
    state: State,
    _: Operator,
    channel: Channel,
    since: Since = "30d",
    bucket: Annotated[str, Query(pattern=r"^(1h|1d)$")] = "1d",
) -> dict[str, Any]:
    channels = _selling(state.config, channel)
    start, until = _period(since)
    rows = await state.ledger.operations_between(start, until, channels)
    try:
        return channel_series_json(rows, state.config.operations, channel, start, until, bucket)
    except ReportError as exc:
        raise GatewayError(422, str(exc), "bucket=1d covers long periods") from None


@router.get("/api/exceptions/open", summary="Exceptions raised and not yet resolved, with their Temporal UI links")
async def exceptions_open(state: State, _: Operator, channel: ChannelFilter = None) -> dict[str, Any]:
    config = state.config
    channels = None if channel is None else [channel]
    now = datetime.now(UTC)
    since = now - timedelta(days=config.operations.retention_days)
    rows = await state.ledger.operations_between(since, None, channels)
    found = open_exceptions(rows)
    return open_exceptions_json(found, config.notifications.ui_url, config.notifications.namespace)


@router.get("/api/channels/{channel}/golive/readiness", summary="The go-live readiness verdict after the window")
async def golive_readiness(state: State, _: Operator, channel: Channel) -> dict[str, Any]:
    try:
        verdict = await readiness(state.ledger, state.config, channel, datetime.now(UTC))
    except GoLiveError as exc:
        status = 404 if str(exc).startswith("no selling channel") else 400
        raise GatewayError(status, str(exc), "see docs/golive.md") from None
    return verdict.json()
