"""Stock that fulfillment channels report (scheduled snapshots and movement webhooks), applied
to the ledger the same way whichever path it came by: each row is placed at the Orderloop
location it belongs to, and each location's rows go to the ledger in one bulk operation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from orderloop.config import OrderloopConfig
from orderloop.contracts.scheduled_jobs import LocationSnapshot, SnapshotReport
from orderloop.ledger import Cause, CauseKind, Ledger, SnapshotRow
from orderloop.model import StockRow


def location_of(config: OrderloopConfig, channel_id: str, location_ref: str | None) -> str | None:
    """The Orderloop location a row of `channel_id` belongs to; None when it cannot be told."""
    served = [loc.id for loc in config.locations if loc.fulfillment_channel == channel_id]
    if location_ref in served:
        return location_ref
    return served[0] if location_ref is None and len(served) == 1 else None


async def apply_stock_rows(
    config: OrderloopConfig, ledger: Ledger, channel_id: str, rows: Iterable[StockRow]
) -> SnapshotReport:
    """Set on hand and inbound absolutely for the reported SKUs; SKUs not reported stay as
    they are. Rows whose location cannot be told are counted in `unmapped_rows`."""
    by_location: dict[str, list[SnapshotRow]] = defaultdict(list)
    report = SnapshotReport(channel_id=channel_id)
    for row in rows:
        location = location_of(config, channel_id, row.location_ref)
        if location is None:
            report.unmapped_rows += 1
            continue
        by_location[location].append(SnapshotRow(sku=row.sku, on_hand=row.on_hand, inbound=row.inbound))
    cause = Cause(kind=CauseKind.FULFILLMENT_CHANNEL, ref=channel_id)
    for location, snapshot in sorted(by_location.items()):
        result = await ledger.apply_snapshot(location, snapshot, cause)
        report.locations.append(
            LocationSnapshot(
                location_id=location,
                changed=result.changed,
                unchanged=result.unchanged,
                oversold=[f"{o.sku}: reported {o.reported_on_hand}, reserved {o.reserved}" for o in result.oversold],
            )
        )
    return report
