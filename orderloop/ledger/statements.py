"""The statements of the ledger's hot paths (every order, webhook and inventory push), built
once with bound parameters.

Building a SQLAlchemy statement for each call, and computing the key it is looked up by in the
compiled cache, cost three to four times what executing it costs (a point read: ~270 us of
building against ~65 us of executing, on the 2-core machine of docs/performance.md). A
statement built once keeps its cache key; each call only binds values. Lists go in expanding
parameters (`IN`), still in chunks (see base.chunks). The rest of the ledger (migrations,
snapshots, product definitions, operator reads) builds its statements where it runs them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, insert, select, text, union, update
from sqlalchemy.dialects import postgresql, sqlite

from orderloop.ledger.schema import (
    UTCDateTime,
    accepted_orders,
    bundle_components,
    channel_holds,
    events,
    outbox,
    products,
    published,
    reservations,
    shipment_commits,
    stock,
    webhook_deliveries,
)


def _many(name: str) -> BindParameter[Any]:
    return bindparam(name, expanding=True)


# -- stock and bundles ---------------------------------------------------------------------

BUNDLE_PARTS = select(
    bundle_components.c.bundle_sku, bundle_components.c.component_sku, bundle_components.c.quantity
).where(bundle_components.c.bundle_sku.in_(_many("skus")))
BUNDLES_CONTAINING = (
    select(bundle_components.c.bundle_sku).where(bundle_components.c.component_sku.in_(_many("skus"))).distinct()
)
UNKNOWN_SKUS = union(
    select(products.c.sku).where(products.c.sku.in_(_many("skus"))),
    select(stock.c.sku).where(stock.c.sku.in_(_many("skus"))),
)
_STOCK = select(stock.c.sku, stock.c.location_id, stock.c.on_hand, stock.c.reserved).where(
    stock.c.sku.in_(_many("skus"))
)
STOCK_ROWS = _STOCK
STOCK_ROWS_AT = _STOCK.where(stock.c.location_id.in_(_many("locations")))
# Names of the form w_* / to_*: a bound parameter may not share a column's name in an UPDATE.
RESERVE_STOCK = (
    update(stock)
    .where(
        stock.c.sku == bindparam("w_sku"),
        stock.c.location_id == bindparam("w_location"),
        stock.c.on_hand - stock.c.reserved >= bindparam("w_quantity"),
    )
    .values(reserved=stock.c.reserved + bindparam("w_quantity"))
)
_TAKE = update(stock).where(
    stock.c.sku == bindparam("w_sku"),
    stock.c.location_id == bindparam("w_location"),
    stock.c.reserved >= bindparam("w_quantity"),
)
UNRESERVE_STOCK = _TAKE.values(reserved=stock.c.reserved - bindparam("w_quantity"))
SHIP_STOCK = _TAKE.values(
    reserved=stock.c.reserved - bindparam("w_quantity"), on_hand=stock.c.on_hand - bindparam("w_quantity")
)

# -- reservations and shipments ------------------------------------------------------------


def _reservation_rows(with_lines: bool, lock: bool) -> Select[Any]:
    r = reservations.c
    query = select(reservations).where(r.order_id == bindparam("order_id"))
    if with_lines:
        query = query.where(r.line_id.in_(_many("line_ids")))
    query = query.order_by(r.sku, r.location_id, r.line_id)
    return query.with_for_update() if lock else query


# (with_lines, lock) -> the order's reservation rows (of those lines), locked for update or not.
RESERVATION_ROWS = {(lines, lock): _reservation_rows(lines, lock) for lines in (False, True) for lock in (False, True)}
SET_RESERVATION = (
    update(reservations)
    .where(
        reservations.c.order_id == bindparam("w_order_id"),
        reservations.c.line_id == bindparam("w_line_id"),
        reservations.c.sku == bindparam("w_sku"),
        reservations.c.committed == bindparam("w_committed"),
        reservations.c.released == bindparam("w_released"),
    )
    .values(
        committed=bindparam("to_committed"),
        released=bindparam("to_released"),
        state=bindparam("to_state"),
        updated_at=bindparam("to_updated_at", type_=UTCDateTime()),
    )
)
SHIPMENT_SEEN = (
    select(shipment_commits.c.line_id)
    .where(
        shipment_commits.c.order_id == bindparam("order_id"),
        shipment_commits.c.shipment_id == bindparam("shipment_id"),
    )
    .limit(1)
)
INSERT_RESERVATIONS = insert(reservations)
INSERT_SHIPMENT_COMMITS = insert(shipment_commits)
INSERT_EVENTS = insert(events)
INSERT_OUTBOX = insert(outbox)

# -- outbox, dedup records ---------------------------------------------------------------------

OUTBOX_AFTER = select(outbox).where(outbox.c.id > bindparam("after")).order_by(outbox.c.id).limit(bindparam("limit"))
DELIVERY_SEEN = select(webhook_deliveries.c.event_id).where(
    webhook_deliveries.c.channel_id == bindparam("channel_id"), webhook_deliveries.c.event_id == bindparam("event_id")
)
ACCEPTED_ORDER = select(accepted_orders.c.workflow_id).where(
    accepted_orders.c.channel_id == bindparam("channel_id"), accepted_orders.c.external_id == bindparam("external_id")
)
ACCEPTED_AT = select(accepted_orders.c.accepted_at).where(
    accepted_orders.c.channel_id == bindparam("channel_id"), accepted_orders.c.external_id == bindparam("external_id")
)
# An order accepted (started) releases the channel's hold of it, if there is an open one.
RELEASE_HOLD = (
    update(channel_holds)
    .where(
        channel_holds.c.channel_id == bindparam("hold_channel"),
        channel_holds.c.external_id == bindparam("hold_order"),
        channel_holds.c.released_at.is_(None),
        channel_holds.c.cancelled_at.is_(None),
    )
    .values(released_at=bindparam("at"))
)
# PostgreSQL's transaction-scoped advisory lock on a key within the ledger's schema.
ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :key))")


class DialectStatements:
    """The hot-path statements whose SQL differs by database: INSERT ... ON CONFLICT."""

    def __init__(self, dialect: str) -> None:
        insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.record_delivery = insert_for(webhook_deliveries).on_conflict_do_nothing()
        self.accept_order = insert_for(accepted_orders).on_conflict_do_nothing()
        upsert = insert_for(published)
        self.publish = upsert.on_conflict_do_update(
            index_elements=[published.c.channel_id, published.c.sku],
            set_={"quantity": upsert.excluded.quantity, "pushed_at": upsert.excluded.pushed_at},
        )
