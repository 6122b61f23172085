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


# `transaction.type` of a sales order.
SALES_ORDER = "SalesOrd"


def entered_sales_orders(modified_since: datetime, statuses: Iterable[str], own_prefix: str) -> str:
    """The sales orders modified at or after `modified_since` whose status is one of `statuses`
    (letters: B pending fulfillment, C cancelled, H closed ...), oldest first, with their
    currency's ISO code, leaving out every order whose external id starts with `own_prefix`:
    those are the ones Orderloop itself entered as the fulfillment role. `statuses` and the
    prefix come from our own settings (letters, and `OL-`), checked before they are spliced."""
    letters = sorted(set(statuses))
    if not letters or not all(len(s) == 1 and s.isalpha() and s.isupper() for s in letters):
        raise ValueError(f"sales order statuses are single capital letters, got {letters!r}")
    if not own_prefix.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"an external id prefix is letters, digits, '-' and '_', got {own_prefix!r}")
    status_list = ", ".join(f"'{s}'" for s in letters)
    return (
        "SELECT t.id AS id, t.tranid AS tranid, t.status AS status, t.externalid AS externalid, "
        "c.symbol AS currency "
        "FROM transaction t "
        "LEFT JOIN currency c ON c.id = t.currency "
        f"WHERE t.type = '{SALES_ORDER}' AND t.status IN ({status_list}) "
        f"AND (t.externalid IS NULL OR t.externalid NOT LIKE '{own_prefix}%') "
        f"AND t.lastmodifieddate >= {_time(modified_since)} "
        "ORDER BY t.lastmodifieddate, t.id"
    )


def item_names(item_ids: Iterable[int]) -> str:
    """The `itemid` (the item's name: our SKU) of each item internal id."""
    ids = ", ".join(str(int(item)) for item in sorted(set(item_ids)))
    return f"SELECT i.id AS id, i.itemid AS itemid FROM item i WHERE i.id IN ({ids}) ORDER BY i.id"
