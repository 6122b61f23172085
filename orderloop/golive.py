"""Incremental go-live (docs/golive.md): a selling channel's rollout read for enforcement, the
catalogue ranked by sales velocity, and the plan and expand steps the CLI and the operator API
share.

Velocity is units reserved per day for orders of every channel over a window (default 30 days),
from the ledger's `reserve` events; SKUs without reservations in the window rank last (by SKU).
A tranche `--top 20%` is the first ceil(20 % of the catalogue) SKUs of the ranking, at least one.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from pydantic import BaseModel

from orderloop.config import ChannelConfig, OrderloopConfig
from orderloop.ledger import Ledger, RolloutChange, RolloutRow, RolloutStage
from orderloop.model import ConnectorRole

DEFAULT_WINDOW = timedelta(days=30)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


class GoLiveError(ValueError):
    """A go-live request that cannot be carried out (unknown channel, bad share, wrong stage)."""


class RankedSku(BaseModel):
    sku: str
    units: int
    velocity: float  # units per day over the window
    stock: int  # free units over every location
    share: float  # of all units reserved in the window (0 to 1)


class GoLivePlan(BaseModel):
    channel_id: str
    stage: RolloutStage
    tranche: list[RankedSku]
    skus: list[str]
    catalogue: int
    window_days: float
    stored: RolloutRow | None = None
    change: RolloutChange | None = None


def parse_share(text: str) -> float:
    """'20%' or '20' -> 0.2; a share outside (0, 100] % is refused."""
    match = _PERCENT.match(text)
    if match is None:
        raise GoLiveError(f"bad percentage {text!r}: write it like 20%")
    value = float(match.group(1))
    if not 0 < value <= 100:
        raise GoLiveError(f"bad percentage {text!r}: between 0 % (excluded) and 100 %")
    return value / 100


def selling_channel(config: OrderloopConfig, channel_id: str) -> ChannelConfig:
    selling = {c.id: c for c in config.channels_with_role(ConnectorRole.SELLING)}
    if channel_id not in selling:
        raise GoLiveError(f"no selling channel {channel_id!r} (selling channels: {', '.join(sorted(selling))})")
    return selling[channel_id]


async def channel_rollout(ledger: Ledger, channel: ChannelConfig) -> RolloutRow:
    """The channel's rollout in the ledger, seeded from its `skus` in the file on first use."""
    return await ledger.channel_rollout(channel.id, channel.skus)


async def rollout_skus(ledger: Ledger, channel: ChannelConfig) -> set[str] | None:
    """The SKUs the channel accepts and publishes now; None: every SKU (stage full)."""
    return (await channel_rollout(ledger, channel)).sku_set


async def rank(ledger: Ledger, now: datetime, window: timedelta = DEFAULT_WINDOW) -> list[RankedSku]:
    """The catalogue by velocity, fastest first; SKUs without history last, by SKU."""
    units = await ledger.units_reserved_since(now - window)
    catalogue = sorted(set(await ledger.all_skus()) | units.keys())
    free: dict[str, int] = {}
    for (sku, _location), quantity in (await ledger.available(catalogue)).items():
        free[sku] = free.get(sku, 0) + quantity
    total = sum(units.values())
    days = window.total_seconds() / 86400
    ranked = [
        RankedSku(
            sku=sku,
            units=units.get(sku, 0),
            velocity=units.get(sku, 0) / days,
            stock=free.get(sku, 0),
            share=units.get(sku, 0) / total if total else 0.0,
        )
        for sku in catalogue
    ]
    return sorted(ranked, key=lambda r: (-r.units, r.sku))


def tranche(ranked: list[RankedSku], share: float) -> list[RankedSku]:
    return ranked[: max(1, math.ceil(share * len(ranked)))] if ranked else []


async def plan(
    ledger: Ledger,
    config: OrderloopConfig,
    channel_id: str,
    share: float,
    now: datetime,
    operator: str | None,
    window: timedelta = DEFAULT_WINDOW,
) -> GoLivePlan:
    """The first tranche (stage limited, exactly the top `share`); stored when `operator` is
    given. From stage full this narrows the channel to the tranche."""
    channel = selling_channel(config, channel_id)
    ranked = await rank(ledger, now, window)
    chosen = tranche(ranked, share)
    result = GoLivePlan(
        channel_id=channel.id,
        stage=RolloutStage.LIMITED,
        tranche=chosen,
        skus=sorted(r.sku for r in chosen),
        catalogue=len(ranked),
        window_days=window.total_seconds() / 86400,
    )
    if operator is not None:
        result.stored, result.change = await ledger.change_channel_rollout(
            channel.id, RolloutStage.LIMITED, result.skus, operator, "plan", channel.skus
        )
    return result


async def expand(
    ledger: Ledger,
    config: OrderloopConfig,
    channel_id: str,
    share: float | None,
    now: datetime,
    operator: str | None,
    window: timedelta = DEFAULT_WINDOW,
) -> GoLivePlan:
    """Widen the rollout to the top `share` (kept SKUs stay), or to every SKU (`share` None:
    stage full); stored when `operator` is given."""
    channel = selling_channel(config, channel_id)
    current = await channel_rollout(ledger, channel)
    if current.stage is RolloutStage.FULL:
        raise GoLiveError(f"channel {channel.id!r} is already live on every SKU (stage full)")
    ranked = await rank(ledger, now, window)
    chosen = ranked if share is None else tranche(ranked, share)
    stage = RolloutStage.FULL if share is None else RolloutStage.LIMITED
    skus = sorted({r.sku for r in chosen} | set(current.skus))
    result = GoLivePlan(
        channel_id=channel.id,
        stage=stage,
        tranche=[r for r in ranked if r.sku in set(skus)],
        skus=skus,
        catalogue=len(ranked),
        window_days=window.total_seconds() / 86400,
    )
    if operator is not None:
        result.stored, result.change = await ledger.change_channel_rollout(
            channel.id, stage, skus, operator, "expand", channel.skus
        )
    return result
