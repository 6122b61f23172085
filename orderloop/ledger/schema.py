"""The ledger's tables as SQLAlchemy Core metadata, shared by the queries and migration 1."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)
from sqlalchemy.types import TypeDecorator

# SQLite only autoincrements an INTEGER PRIMARY KEY (its rowid); PostgreSQL wants 64 bits.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite stores text and would drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

SKU = String(255)
LOCATION = String(128)
REF = String(512)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("sku", SKU, primary_key=True),
    Column("name", String(1024)),
)

bundle_components = Table(
    "bundle_components",
    metadata,
    Column("bundle_sku", SKU, ForeignKey("products.sku", ondelete="CASCADE"), nullable=False),
    Column("component_sku", SKU, nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("bundle_sku", "component_sku"),
    CheckConstraint("quantity > 0", name="ck_bundle_components_quantity"),
    Index("ix_bundle_components_component", "component_sku"),
)

stock = Table(
    "stock",
    metadata,
    Column("sku", SKU, nullable=False),
    Column("location_id", LOCATION, nullable=False),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("inbound", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("sku", "location_id"),
    CheckConstraint("on_hand >= 0", name="ck_stock_on_hand"),
    CheckConstraint("reserved >= 0", name="ck_stock_reserved"),
    CheckConstraint("reserved <= on_hand", name="ck_stock_reserved_le_on_hand"),
    CheckConstraint("inbound >= 0", name="ck_stock_inbound"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("order_id", REF, nullable=False),
    Column("line_id", String(255), nullable=False),
    Column("sku", SKU, nullable=False),
    Column("line_sku", SKU, nullable=False),
    Column("units_per_line", Integer, nullable=False),
    Column("location_id", LOCATION, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("committed", Integer, nullable=False, default=0),
    Column("released", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("order_id", "line_id", "sku"),
    CheckConstraint("quantity > 0", name="ck_reservations_quantity"),
    CheckConstraint("committed >= 0 AND released >= 0", name="ck_reservations_nonnegative"),
    CheckConstraint("committed + released <= quantity", name="ck_reservations_within"),
    CheckConstraint("state IN ('open', 'committed', 'released')", name="ck_reservations_state"),
    Index("ix_reservations_stock", "sku", "location_id"),
)

shipment_commits = Table(
    "shipment_commits",
    metadata,
    Column("order_id", REF, nullable=False),
    Column("shipment_id", String(255), nullable=False),
    Column("line_id", String(255), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("committed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("order_id", "shipment_id", "line_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("sku", SKU, nullable=False),
    Column("location_id", LOCATION, nullable=False),
    Column("delta", Integer, nullable=False),
    Column("cause_kind", String(32), nullable=False),
    Column("cause_ref", REF, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_events_sku", "sku", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sku", SKU, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

accepted_orders = Table(
    "accepted_orders",
    metadata,
    Column("channel_id", String(128), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("workflow_id", REF, nullable=False),
    Column("accepted_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("channel_id", "external_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("channel_id", String(128), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("channel_id", "event_id"),
)

# Migration 1 creates exactly these; later schema changes are new migration steps.
V1_TABLES = [
    products,
    bundle_components,
    stock,
    reservations,
    shipment_commits,
    events,
    outbox,
    accepted_orders,
    webhook_deliveries,
]

# Migration 2: what each selling channel was last told, for `inventory show` and reconciliation.
published = Table(
    "published",
    metadata,
    Column("channel_id", String(128), nullable=False),
    Column("sku", SKU, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("pushed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("channel_id", "sku"),
)

# Migration 3: how far each outbox consumer (a channel's inventory sync, the restock watcher)
# has read, so rows every consumer has passed can be trimmed.
outbox_cursors = Table(
    "outbox_cursors",
    metadata,
    Column("consumer", String(128), primary_key=True),
    Column("cursor", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Migration 4: where each selling channel's order poll (missed-webhook recovery) resumes.
poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("channel_id", String(128), primary_key=True),
    Column("polled_until", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Migration 5: reserve events by time, for routing's daily order capacity per location.
events_by_kind_and_time = Index("ix_events_kind_at", events.c.kind, events.c.at)
