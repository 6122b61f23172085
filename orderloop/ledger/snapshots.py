"""Stock snapshots: a fulfillment channel's absolute on hand and inbound for the SKUs of one
location, applied in one bulk transaction through per-connection scratch tables.

Invariants: on hand never drops below what is reserved (a lower report leaves on hand at the
reserved quantity and is returned as oversold; reservations are kept); bundle SKUs are skipped;
only the rows that change write events and outbox rows; on PostgreSQL the existing stock rows
are locked in the (sku, location) byte order reserve and commit use, and the outbox lock is
taken last, so a snapshot and an order never deadlock. The scratch tables exist only inside
the transaction.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, and_, case, func, insert, literal, or_, select, union, update
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, chunks, utc_now
from orderloop.ledger.errors import InvalidQuantity
from orderloop.ledger.schema import LOCATION, SKU, UTCDateTime, bundle_components, events, outbox, stock
from orderloop.ledger.types import Cause, EventKind, OversoldRow, SnapshotResult, SnapshotRow

_temp = MetaData()
# Per-connection scratch tables for bulk snapshots, dropped before the transaction ends.
_snapshot_in = Table(
    "ledger_snapshot_in",
    _temp,
    Column("sku", SKU, primary_key=True),
    Column("on_hand", Integer, nullable=False),
    Column("inbound", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_snapshot_diff = Table(
    "ledger_snapshot_diff",
    _temp,
    Column("sku", SKU, primary_key=True),
    Column("reported", Integer, nullable=False),
    Column("inbound", Integer, nullable=False),
    Column("old_on_hand", Integer),
    Column("old_inbound", Integer),
    Column("reserved", Integer, nullable=False),
    Column("new_on_hand", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def _create_scratch(sync: Connection) -> None:
    # A leftover from an earlier failure on this pooled connection would break CREATE.
    _temp.drop_all(sync, checkfirst=True)
    _temp.create_all(sync)


def _drop_scratch(sync: Connection) -> None:
    _temp.drop_all(sync)


class Snapshots(LedgerBase):
    """Applying a fulfillment channel's stock snapshot."""

    async def apply_snapshot(self, location_id: str, rows: list[SnapshotRow], cause: Cause) -> SnapshotResult:
        """Set on hand and inbound absolutely for the SKUs a fulfillment channel reports at one
        location, in one bulk operation; SKUs it does not mention are left as they are.

        On hand never drops below what is reserved (the CHECK constraint): where the report is
        lower, on hand stays at the reserved quantity so nothing more is sold, and the row is
        returned in `oversold` for an operator or the reconciliation job; reservations are kept.
        Bundle SKUs hold no stock and are skipped (listed in `ignored_bundles`).
        """
        skus = [r.sku for r in rows]
        if len(set(skus)) != len(skus):
            dupes = sorted({s for s in skus if skus.count(s) > 1})[:10]
            raise InvalidQuantity(f"snapshot for {location_id!r} lists SKUs twice: {', '.join(dupes)}")

        def tx(conn: Connection) -> SnapshotResult:
            now = utc_now()
            all_bundles = set(conn.execute(select(bundle_components.c.bundle_sku).distinct()).scalars())
            ignored = sorted(all_bundles.intersection(skus))
            kept = [r for r in rows if r.sku not in all_bundles] if ignored else rows
            _create_scratch(conn)
            for chunk in chunks(kept, 20_000):
                conn.execute(
                    insert(_snapshot_in),
                    [{"sku": r.sku, "on_hand": r.on_hand, "inbound": r.inbound} for r in chunk],
                )
            self._fill_snapshot_diff(conn, location_id)
            d = _snapshot_diff.c
            changed = d.changed == 1
            at = literal(now, UTCDateTime())
            loc = literal(location_id, LOCATION)
            event_cols = ["kind", "sku", "location_id", "delta", "cause_kind", "cause_ref", "at"]
            kind, ref = literal(cause.kind.value), literal(cause.ref)
            conn.execute(
                insert(events).from_select(
                    event_cols,
                    select(
                        literal(EventKind.SNAPSHOT.value),
                        d.sku,
                        loc,
                        d.new_on_hand - func.coalesce(d.old_on_hand, 0),
                        kind,
                        ref,
                        at,
                    ).where(changed, or_(d.old_on_hand.is_(None), d.old_on_hand != d.new_on_hand)),
                )
            )
            conn.execute(
                insert(events).from_select(
                    event_cols,
                    select(
                        literal(EventKind.INBOUND.value),
                        d.sku,
                        loc,
                        d.inbound - func.coalesce(d.old_inbound, 0),
                        kind,
                        ref,
                        at,
                    ).where(changed, func.coalesce(d.old_inbound, 0) != d.inbound),
                )
            )
            count = select(func.count()).select_from(_snapshot_diff).where(changed)
            changed_count = conn.execute(count).scalar_one()
            conn.execute(
                update(stock)
                .where(
                    stock.c.sku == d.sku,
                    stock.c.location_id == location_id,
                    changed,
                    d.old_on_hand.is_not(None),
                )
                .values(
                    # Live values: on SQLite nothing ran since the diff; on PostgreSQL the rows
                    # are locked, so this equals the diff's new_on_hand.
                    on_hand=case((stock.c.reserved > d.reported, stock.c.reserved), else_=d.reported),
                    inbound=d.inbound,
                )
            )
            new_rows = self._insert(stock).from_select(
                ["sku", "location_id", "on_hand", "reserved", "inbound"],
                select(d.sku, loc, d.reported, literal(0), d.inbound).where(d.old_on_hand.is_(None)),
            )
            conn.execute(new_rows.on_conflict_do_nothing())
            # Last: the outbox lock is taken after every row lock (see _lock_outbox).
            if changed_count:
                self._lock_outbox(conn)
                touched = union(
                    select(d.sku).where(changed),
                    select(bundle_components.c.bundle_sku)
                    .join(_snapshot_diff, bundle_components.c.component_sku == d.sku)
                    .where(changed),
                ).subquery()
                conn.execute(
                    insert(outbox).from_select(["sku", "created_at"], select(touched.c[0], at).order_by(touched.c[0]))
                )
            oversold = [
                OversoldRow(sku=sku, location_id=location_id, reported_on_hand=reported, reserved=reserved)
                for sku, reported, reserved in conn.execute(
                    select(d.sku, d.reported, d.reserved).where(d.reserved > d.reported).order_by(d.sku)
                )
            ]
            _drop_scratch(conn)
            return SnapshotResult(
                changed=changed_count,
                unchanged=len(kept) - changed_count,
                oversold=oversold,
                ignored_bundles=ignored,
            )

        return await self._write(tx)

    def _fill_snapshot_diff(self, conn: Connection, location_id: str) -> None:
        """Copy the reported rows that change something (or are oversold) into the diff table,
        with the values they replace. On PostgreSQL the existing rows are locked as they are
        read, in the (sku, location) byte order reserve and commit use, so a snapshot and an
        order never deadlock and nothing changes between this read and the writes.
        """
        i = _snapshot_in.c
        columns = [
            "sku",
            "reported",
            "inbound",
            "old_on_hand",
            "old_inbound",
            "reserved",
            "new_on_hand",
            "changed",
        ]
        new_on_hand = case((stock.c.reserved > i.on_hand, stock.c.reserved), else_=i.on_hand)
        changed = or_(stock.c.on_hand != new_on_hand, stock.c.inbound != i.inbound)
        existing = (
            select(
                i.sku,
                i.on_hand,
                i.inbound,
                stock.c.on_hand,
                stock.c.inbound,
                stock.c.reserved,
                new_on_hand,
                case((changed, 1), else_=0),
            )
            .join_from(
                _snapshot_in,
                stock,
                and_(stock.c.sku == i.sku, stock.c.location_id == location_id),
            )
            .where(or_(changed, stock.c.reserved > i.on_hand))
        )
        if self._dialect == "postgresql":
            existing = existing.order_by(stock.c.sku.collate("C")).with_for_update(of=stock)
        conn.execute(insert(_snapshot_diff).from_select(columns, existing))
        absent = ~(select(stock.c.sku).where(stock.c.sku == i.sku, stock.c.location_id == location_id).exists())
        none = literal(None, Integer)
        fresh = select(i.sku, i.on_hand, i.inbound, none, none, literal(0), i.on_hand, literal(1)).where(absent)
        conn.execute(insert(_snapshot_diff).from_select(columns, fresh))
