"""The SuiteQL the connector sends (Oracle dialect, as NetSuite's query service takes it): item
fulfillment lines created from one of our orders, shipped, modified since a time; and the
inventory of the mapped locations. Ids are integers and the time a fixed format, so nothing a
vendor or a customer typed is ever spliced into a query."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

# `transaction.type` of an item fulfillment, and its status once shipped (A picked, B packed,
# C shipped).
ITEM_FULFILLMENT = "ItemShip"
SHIPPED = "C"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _time(at: datetime) -> str:
    return f"TO_TIMESTAMP('{at.astimezone(UTC).strftime(TIME_FORMAT)}', 'YYYY-MM-DD HH24:MI:SS')"


def fulfillment_lines(order_id: int, modified_since: datetime) -> str:
    """The shipped item fulfillment lines created from order `order_id` (`transactionline
    .createdfrom`), whose fulfillment was modified at or after `modified_since`, oldest first."""
    return (
        "SELECT t.id AS fulfillment, t.tranid AS tranid, t.trandate AS trandate, "
        "t.lastmodifieddate AS lastmodified, i.itemid AS sku, tl.quantity AS quantity, tl.location AS location "
        "FROM transaction t "
        "JOIN transactionline tl ON tl.transaction = t.id "
        "JOIN item i ON i.id = tl.item "
        f"WHERE t.type = '{ITEM_FULFILLMENT}' AND t.status = '{SHIPPED}' "
        f"AND tl.createdfrom = {int(order_id)} AND tl.mainline = 'F' "
        f"AND t.lastmodifieddate >= {_time(modified_since)} "
        "ORDER BY t.lastmodifieddate, t.id, tl.id"
    )


def recent_fulfillment_lines(modified_since: datetime) -> str:
    """The shipped item fulfillment lines of every order Orderloop entered (external id `OL-...`),
    whose fulfillment was modified at or after `modified_since`, oldest first, with the order
    each was created from and its external id (the channel-wide shipment poll)."""
    return (
        "SELECT t.id AS fulfillment, t.tranid AS tranid, t.trandate AS trandate, "
        "t.lastmodifieddate AS lastmodified, i.itemid AS sku, tl.quantity AS quantity, tl.location AS location, "
        "tl.createdfrom AS salesorder, so.externalid AS orderref "
        "FROM transaction t "
        "JOIN transactionline tl ON tl.transaction = t.id "
        "JOIN item i ON i.id = tl.item "
        "JOIN transaction so ON so.id = tl.createdfrom "
        f"WHERE t.type = '{ITEM_FULFILLMENT}' AND t.status = '{SHIPPED}' AND tl.mainline = 'F' "
        "AND so.externalid LIKE 'OL-%' "
        f"AND t.lastmodifieddate >= {_time(modified_since)} "
        "ORDER BY t.lastmodifieddate, t.id, tl.id"
    )


def inventory(locations: Iterable[int]) -> str:
    """On hand, committed and available per item at the given locations."""
    ids = ", ".join(str(int(location)) for location in sorted(set(locations)))
    return (
        "SELECT i.itemid AS sku, iil.location AS location, iil.quantityonhand AS onhand, "
        "iil.quantitycommitted AS committed, iil.quantityavailable AS available "
        "FROM inventoryitemlocations iil "
        "JOIN item i ON i.id = iil.item "
        f"WHERE iil.location IN ({ids}) "
        "ORDER BY iil.location, i.itemid"
    )
