"""The operator API for inventory (bearer token): one SKU across locations and channels, and
what a selling channel would be told for each SKU under its publishing rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from gateway.deps import Operator, State
from gateway.errors import GatewayError
from orderloop.golive import rollout_skus
from orderloop.ledger import channel_quantities
from orderloop.model import ConnectorRole

router = APIRouter(prefix="/api/inventory", tags=["inventory"])

Sku = Annotated[str, Path(min_length=1, max_length=200)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or wrong bearer token"},
    404: {"description": "unknown SKU or channel"},
}


@router.get("/{sku}", summary="One SKU: stock per location, quantity per selling channel", responses=_ERRORS)
async def show_sku(state: State, _: Operator, sku: Sku) -> dict[str, Any]:
    ledger, config = state.ledger, state.config
    if await ledger.unknown_skus([sku]):
        raise GatewayError(404, f"unknown SKU {sku!r}", "the ledger learns SKUs from stock reports and products")
    levels = await ledger.stock(sku)
    # Returned units kept apart (damaged, wrong items): held at a location, never available.
    apart = await ledger.non_sellable(sku)
    pushed = {channel: (quantity, at) for channel, quantity, at in await ledger.published_for(sku)}
    channels = []
    for channel in config.channels_with_role(ConnectorRole.SELLING):
        rollout = await rollout_skus(ledger, channel)
        expected = (await channel_quantities(ledger, [sku], channel.inventory, rollout))[sku]
        quantity, at = pushed.get(channel.id, (None, None))
        channels.append(
            {
                "channel": channel.id,
                "rolledOut": rollout is None or sku in rollout,
                "availableToSell": expected,
                "published": quantity,
                "pushedAt": at.isoformat() if at else None,
                "inSync": quantity == expected if quantity is not None else None,
            }
        )
    return {
        "sku": sku,
        "locations": [
            {"location": s.location_id, "onHand": s.on_hand, "reserved": s.reserved, "available": s.available}
            for s in levels
        ],
        "nonSellable": [
            {"location": location, "condition": condition, "quantity": quantity}
            for (location, condition), quantity in sorted(apart.items())
        ],
        "totals": {
            "onHand": sum(s.on_hand for s in levels),
            "reserved": sum(s.reserved for s in levels),
            "available": sum(s.available for s in levels),
        },
        "channels": channels,
    }


@router.get(
    "/channels/{channel_id}/preview",
    summary="What a selling channel would receive for each SKU now",
    responses=_ERRORS,
)
async def preview_channel(
    state: State,
    _: Operator,
    channel_id: Annotated[str, Path(max_length=64)],
    sku: Annotated[list[str] | None, Query(description="only these SKUs (repeatable)")] = None,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 1000,
) -> dict[str, Any]:
    config, ledger = state.config, state.ledger
    selling = {c.id: c for c in config.channels_with_role(ConnectorRole.SELLING)}
    channel = selling.get(channel_id)
    if channel is None:
        raise GatewayError(404, f"no selling channel {channel_id!r}", f"selling channels: {', '.join(selling)}")
    skus = sorted(set(sku)) if sku else await ledger.all_skus()
    rollout = await rollout_skus(ledger, channel)
    expected = await channel_quantities(ledger, skus[:limit], channel.inventory, rollout)
    published = await ledger.published(channel_id)
    return {
        "channel": channel_id,
        "rules": channel.inventory.model_dump(mode="json"),
        "rollout": sorted(rollout) if rollout is not None else None,
        "count": len(expected),
        "truncated": len(skus) > limit,
        "skus": [
            {
                "sku": s,
                "rolledOut": rollout is None or s in rollout,
                "wouldPublish": q,
                "published": published.get(s),
            }
            for s, q in expected.items()
        ],
    }
