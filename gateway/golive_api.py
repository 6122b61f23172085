"""The operator API for a selling channel's go-live rollout (docs/golive.md): GET shows the
stage, SKUs and audit; POST plan and expand take the acting operator's identity (`Acting`) as
who made the change. `dryRun` shows the ranking and tranche without storing it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from gateway.deps import ID_PATTERN, Acting, Operator, State
from gateway.errors import GatewayError
from orderloop.golive import GoLiveError, GoLivePlan, channel_rollout, expand, parse_share, plan, selling_channel

router = APIRouter(prefix="/api/channels", tags=["operators"])
Channel = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
# The longest velocity window: ten years (the ledger keeps no older reservations worth ranking).
MAX_WINDOW_DAYS = 3650


class PlanBody(BaseModel):
    top: str = "20%"
    window_days: float = Field(default=30, gt=0, le=MAX_WINDOW_DAYS, alias="windowDays")
    dry_run: bool = Field(default=False, alias="dryRun")


class ExpandBody(BaseModel):
    top: str | None = None
    all: bool = False
    window_days: float = Field(default=30, gt=0, le=MAX_WINDOW_DAYS, alias="windowDays")
    dry_run: bool = Field(default=False, alias="dryRun")


def _plan_json(result: GoLivePlan) -> dict[str, Any]:
    return {
        "channel": result.channel_id,
        "stage": result.stage,
        "skus": result.skus,
        "catalogue": result.catalogue,
        "windowDays": result.window_days,
        "tranche": [r.model_dump() for r in result.tranche],
        "stored": result.stored is not None,
        "changed": result.change is not None,
    }


def _bad(exc: GoLiveError) -> GatewayError:
    status = 404 if str(exc).startswith("no selling channel") else 400
    return GatewayError(status, str(exc), "see docs/golive.md")


@router.get("/{channel}/golive", summary="A channel's go-live stage, SKUs and every change")
async def show_golive(state: State, _: Operator, channel: Channel) -> dict[str, Any]:
    try:
        found = await channel_rollout(state.ledger, selling_channel(state.config, channel))
    except GoLiveError as exc:
        raise _bad(exc) from None
    changes = await state.ledger.rollout_changes(channel)
    return {
        "channel": channel,
        "stage": found.stage,
        "skus": found.skus,
        "updatedAt": found.updated_at.isoformat(),
        "updatedBy": found.updated_by,
        "changes": [c.model_dump(mode="json") for c in changes],
    }


@router.post("/{channel}/golive/plan", summary="Rank by velocity and store the top share as the first tranche")
async def plan_golive(state: State, who: Acting, channel: Channel, body: PlanBody) -> dict[str, Any]:
    try:
        share = parse_share(body.top)
        result = await plan(
            state.ledger,
            state.config,
            channel,
            share,
            datetime.now(UTC),
            None if body.dry_run else who.name,
            timedelta(days=body.window_days),
        )
    except GoLiveError as exc:
        raise _bad(exc) from None
    return _plan_json(result)


@router.post("/{channel}/golive/expand", summary="Widen the rollout to a larger top share, or to every SKU")
async def expand_golive(state: State, who: Acting, channel: Channel, body: ExpandBody) -> dict[str, Any]:
    try:
        if body.all == (body.top is not None):
            raise GoLiveError("give either top (e.g. 50%) or all")
        share = None if body.all else parse_share(body.top or "")
        result = await expand(
            state.ledger,
            state.config,
            channel,
            share,
            datetime.now(UTC),
            None if body.dry_run else who.name,
            timedelta(days=body.window_days),
        )
    except GoLiveError as exc:
        raise _bad(exc) from None
    return _plan_json(result)
