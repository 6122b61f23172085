"""The ledger's tables as SQLAlchemy Core metadata, shared by the queries and migration 1."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
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
    Text,
    UniqueConstraint,
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

# Migration 6: the exception notices to deliver per sink (the notify activity writes them; the
# notice sender of each worker delivers them in batches and dead-letters what keeps failing).
notices = Table(
    "notices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # The notice's event id (minted by the workflow) and its sink: one row each, however often
    # the activity that writes it is retried.
    Column("event_id", REF, nullable=False),
    Column("sink", String(128), nullable=False),
    Column("audience", String(32), nullable=False),
    Column("workflow_id", REF, nullable=False),
    Column("channel_id", String(128), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("level", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("event_id", "sink", name="uq_notices_event_sink"),
    CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="ck_notices_status"),
)
notices_due = Index("ix_notices_status_next", notices.c.status, notices.c.next_attempt_at)

# Migration 7: returns. One record per return (its lines, where it is received, its status), what
# each return's receipt put where, and the non-sellable units (damaged, wrong items) a location
# holds apart from its stock, which never count as available.
returns = Table(
    "returns",
    metadata,
    Column("return_id", REF, primary_key=True),
    Column("channel_id", String(128), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("order_id", REF),
    Column("location_id", LOCATION),
    Column("shipment_ids", JSON, nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", String(2048)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_returns_order", "order_id"),
    Index("ix_returns_channel_status", "channel_id", "status"),
)

return_lines = Table(
    "return_lines",
    metadata,
    Column("return_id", REF, ForeignKey("returns.return_id", ondelete="CASCADE"), nullable=False),
    Column("line_id", String(255), nullable=False),
    Column("order_line_id", String(255), nullable=False),
    Column("sku", SKU, nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("return_id", "line_id"),
    CheckConstraint("quantity > 0", name="ck_return_lines_quantity"),
)

return_receipts = Table(
    "return_receipts",
    metadata,
    Column("return_id", REF, ForeignKey("returns.return_id", ondelete="CASCADE"), nullable=False),
    Column("sku", SKU, nullable=False),
    Column("condition", String(32), nullable=False),
    Column("disposition", String(32), nullable=False),
    Column("location_id", LOCATION, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("return_id", "sku", "condition"),
    CheckConstraint("quantity > 0", name="ck_return_receipts_quantity"),
)

non_sellable = Table(
    "non_sellable",
    metadata,
    Column("sku", SKU, nullable=False),
    Column("location_id", LOCATION, nullable=False),
    Column("condition", String(32), nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("sku", "location_id", "condition"),
    CheckConstraint("quantity >= 0", name="ck_non_sellable_quantity"),
)

RETURN_TABLES = [returns, return_lines, return_receipts, non_sellable]

# Migration 8: the orders a selling channel holds back (not yet shippable: unpaid, in review, in
# the buyer's remorse window), which Orderloop has not started: seen by the gateway's intake and
# the order poll, released when the order starts, cancelled when the channel cancels it.
channel_holds = Table(
    "channel_holds",
    metadata,
    Column("channel_id", String(128), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("reason", String(2048), nullable=False),
    Column("channel_status", String(64), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("times_seen", Integer, nullable=False),
    Column("released_at", UTCDateTime, nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("channel_id", "external_id"),
    CheckConstraint("times_seen > 0", name="ck_channel_holds_times_seen"),
)
channel_holds_by_seen = Index("ix_channel_holds_last_seen", channel_holds.c.last_seen_at)

# Migration 9: one credential per operator (a person, or a tool acting as one): the SHA-256 of
# its bearer token (the token itself is shown once and never stored), its role (`act` may take
# actions, `read` may only read), when it was created, revoked and last used.
operators = Table(
    "operators",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("role", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    UniqueConstraint("token_hash", name="uq_operators_token_hash"),
    CheckConstraint("role IN ('act', 'read')", name="ck_operators_role"),
)

# Migration 10: each selling channel's go-live rollout (orderloop.golive): its stage (`limited`:
# only its SKUs are accepted and published; `full`: every SKU) and SKU set, seeded from the
# channel's `skus` in orderloop.yaml on first use, then changed by operators; and the audit of
# every change: who, when, the stage before and after, the SKUs added and removed.
channel_rollouts = Table(
    "channel_rollouts",
    metadata,
    Column("channel_id", String(128), primary_key=True),
    Column("stage", String(16), nullable=False),
    Column("skus", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
    CheckConstraint("stage IN ('limited', 'full')", name="ck_channel_rollouts_stage"),
)

rollout_changes = Table(
    "rollout_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", String(128), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("operator", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("stage_before", String(16), nullable=True),
    Column("stage_after", String(16), nullable=False),
    Column("added", JSON, nullable=False),
    Column("removed", JSON, nullable=False),
    Column("note", String(1024), nullable=True),
    Index("ix_rollout_changes_channel", "channel_id", "id"),
)

# Migration 11: the operations record (orderloop.ledger.operations): one row per order event
# (received, exception raised / escalated / resolved and by what, operator action, reroute,
# shipped, tracking pushed, SLA breach) and per channel inventory push or drift found, written
# by activities and the gateway, never by workflow code. `key` makes a retried writer's second
# attempt insert nothing; read by channel and time, trimmed by age.
operations = Table(
    "operations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", REF, nullable=False),
    Column("channel_id", String(128), nullable=False),
    Column("order_id", String(255), nullable=True),
    Column("workflow_id", REF, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", JSON, nullable=False),
    UniqueConstraint("key", name="uq_operations_key"),
    Index("ix_operations_channel_at", "channel_id", "at"),
    Index("ix_operations_at", "at"),
)

# Migration 12: the exchange log (orderloop.exchange_log): one row per vendor call Orderloop made
# (outbound, or inbound when it was a poll reading what the channel has) and per webhook it
# received (inbound), with the vendor's answer, personal data redacted before it is stored.
# Kept for `exchange_log.retention_days`, trimmed by the reconciliation job.
exchanges = Table(
    "exchanges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("direction", String(8), nullable=False),
    Column("channel_id", String(128), nullable=False),
    # The order's workflow id, where the exchange belongs to one order.
    Column("order_id", String(512), nullable=True),
    Column("operation", String(128), nullable=False),
    Column("summary", String(512), nullable=False),
    Column("method", String(8), nullable=True),
    Column("target", String(1024), nullable=True),
    Column("status_code", Integer, nullable=True),
    Column("outcome", String(8), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("request_body", Text, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("error", String(2048), nullable=True),
    Column("rerun_at", UTCDateTime, nullable=True),
    Column("rerun_by", String(64), nullable=True),
    CheckConstraint("direction IN ('inbound', 'outbound')", name="ck_exchanges_direction"),
    CheckConstraint("outcome IN ('ok', 'failed')", name="ck_exchanges_outcome"),
    CheckConstraint("attempt > 0", name="ck_exchanges_attempt"),
    Index("ix_exchanges_channel_at", "channel_id", "at"),
    Index("ix_exchanges_order", "order_id", "at"),
    Index("ix_exchanges_at", "at"),
)

# Migration 14: EDI trading partners (orderloop.edi_records): the interchanges received (one per
# sender and control number, rejected ones kept for operators), the purchase orders and changes
# they carried, the control numbers sent with, the documents sent (one per key) and the parcels
# reported per order for the ship notice.
edi_interchanges = Table(
    "edi_interchanges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", String(128), nullable=False),
    Column("sender", String(255), nullable=False),
    Column("control_number", String(32), nullable=False),
    Column("file_name", String(1024), nullable=False),
    Column("status", String(16), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("detail", Text, nullable=True),
    UniqueConstraint("channel_id", "sender", "control_number", name="uq_edi_interchanges_control"),
    CheckConstraint("status IN ('accepted', 'partial', 'rejected', 'unreadable')", name="ck_edi_interchanges_status"),
)
edi_documents_in = Table(
    "edi_documents_in",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", String(128), nullable=False),
    Column("po_number", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("envelope", JSON, nullable=False),
    Column("segments", JSON, nullable=False),
)
edi_documents_in_by_po = Index("ix_edi_documents_in_po", edi_documents_in.c.channel_id, edi_documents_in.c.po_number)
edi_documents_in_by_time = Index(
    "ix_edi_documents_in_received", edi_documents_in.c.channel_id, edi_documents_in.c.received_at
)
edi_control_numbers = Table(
    "edi_control_numbers",
    metadata,
    Column("channel_id", String(128), primary_key=True),
    Column("last_value", BigInteger, nullable=False),
    # ISA13 is nine digits.
    CheckConstraint("last_value > 0 AND last_value < 1000000000", name="ck_edi_control_numbers_range"),
)
edi_documents_out = Table(
    "edi_documents_out",
    metadata,
    Column("channel_id", String(128), nullable=False),
    Column("key", String(512), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("control_number", BigInteger, nullable=False),
    Column("path", String(1024), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("channel_id", "key"),
    UniqueConstraint("channel_id", "control_number", name="uq_edi_documents_out_control"),
)
edi_parcels = Table(
    "edi_parcels",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", String(128), nullable=False),
    Column("order_id", String(512), nullable=False),
    Column("shipment_id", String(512), nullable=False),
    Column("shipping_request_id", String(512), nullable=False),
    Column("parcel", JSON, nullable=False),
    UniqueConstraint("channel_id", "shipment_id", name="uq_edi_parcels_shipment"),
)
edi_parcels_by_order = Index("ix_edi_parcels_order", edi_parcels.c.channel_id, edi_parcels.c.order_id)
EDI_TABLES = [edi_interchanges, edi_documents_in, edi_control_numbers, edi_documents_out, edi_parcels]
# Migration 15: the partner's 997s and TA1s about Orderloop's documents (one row per 997 AK1 loop
# or TA1, `document_key` None when it names nothing Orderloop sent), and each document's
# acknowledgement status (the most severe answer, `severity` 0 accepted, 1 with errors, 2 rejected).
edi_acknowledgements = Table(
    "edi_acknowledgements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", String(128), nullable=False),
    Column("sender", String(255), nullable=False),
    Column("interchange_control", String(32), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("functional_id", String(8), nullable=False),
    Column("group_control", String(32), nullable=False),
    Column("status", String(24), nullable=False),
    Column("codes", JSON, nullable=False),
    Column("detail", Text, nullable=False),
    Column("sets", JSON, nullable=False),
    Column("document_key", String(512), nullable=True),
    Column("document_kind", String(8), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("case_delivered_at", UTCDateTime, nullable=True),
    CheckConstraint(
        "status IN ('accepted', 'accepted_with_errors', 'rejected')", name="ck_edi_acknowledgements_status"
    ),
    Index("ix_edi_acknowledgements_channel", "channel_id", "received_at"),
    Index("ix_edi_acknowledgements_document", "channel_id", "document_key"),
)
edi_document_acks = Table(
    "edi_document_acks",
    metadata,
    Column("channel_id", String(128), nullable=False),
    Column("key", String(512), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("status", String(24), nullable=False),
    Column("acknowledgement_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("channel_id", "key"),
    CheckConstraint("severity BETWEEN 0 AND 2", name="ck_edi_document_acks_severity"),
)
EDI_ACK_TABLES = [edi_acknowledgements, edi_document_acks]
# Migration 13: the inbound files of file-speaking channels (flat files, EDI) and what each of
# their rows did (orderloop.file_journal), so a file read again after a crash mid-file applies
# only the rows it had not applied. A file is known by its name and a digest of its bytes.
exchange_files = Table(
    "exchange_files",
    metadata,
    Column("channel_id", String(128), nullable=False),
    Column("file_key", String(96), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("rows_applied", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("reason", String(2048), nullable=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("channel_id", "file_key"),
    CheckConstraint("state IN ('reading', 'archived', 'error')", name="ck_exchange_files_state"),
)

exchange_rows = Table(
    "exchange_rows",
    metadata,
    Column("channel_id", String(128), nullable=False),
    Column("file_key", String(96), nullable=False),
    Column("line", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", String(2048), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("channel_id", "file_key", "line"),
    CheckConstraint("outcome IN ('delivering', 'applied', 'rejected')", name="ck_exchange_rows_outcome"),
)
