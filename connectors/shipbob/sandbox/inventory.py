"""The merchant's inventory at ShipBob: products by SKU, stock per fulfillment center (seeded
from the channel's centers), what pending shipments commit, and the two inventory-level lists
with their cursor links."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request

from connectors.base import SandboxOptions
from connectors.shipbob.sandbox.merchant import SEED_STOCK, MerchantState, StockKnob
from connectors.shipbob.sandbox.payloads import Product


class Inventory(MerchantState):
    """Products and stock on top of the merchant's state."""

    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, webhook_transport)
        mapped = options.channel.settings.get("fulfillment_centers") or {}
        self.set_stock(self.knobs.value.stock or self._configured_stock(mapped, options) or SEED_STOCK, replace=True)

    @staticmethod
    def _configured_stock(mapped: dict[str, Any], options: SandboxOptions) -> StockKnob:
        """The `seed_stock` of the Orderloop locations mapped to centers, by center id."""
        return {str(mapped[loc]): dict(levels) for loc, levels in options.stock.items() if loc in mapped and levels}

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        super().knobs_changed(changes)
        if "stock" in changes:
            self.set_stock(self.knobs.value.stock or SEED_STOCK, replace=True)

    def product(self, sku: str, name: str | None = None) -> Product:
        known = self.products.get(sku)
        if known is None:
            product_id = self.products.new_id()
            known = Product(product_id, inventory_id=product_id + 1_000_000, sku=sku, name=name or sku)
            self.products.add(known)
        return known

    def set_stock(self, stock: StockKnob, replace: bool = False) -> None:
        if replace:
            self.stock = {}
        for key, value in stock.items():
            if isinstance(value, dict):
                center = int(key)
                self.centers.setdefault(center, f"ShipBob FC {center}")
                targets = {center: value}
            else:
                targets = {center: {key: value} for center in self.centers}
            for center, levels in targets.items():
                for sku, on_hand in levels.items():
                    self.product(sku)
                    self.stock.setdefault(center, {})[sku] = on_hand

    def committed(self) -> dict[tuple[int, str], int]:
        held: dict[tuple[int, str], int] = {}
        for shipment in self.shipments.values():
            if shipment.pending:
                for line in shipment.lines:
                    key = (shipment.center, line.product.sku)
                    held[key] = held.get(key, 0) + line.quantity
        return held

    def inventory_by_center(self) -> list[dict[str, Any]]:
        held = self.committed()
        items = []
        for sku in sorted(self.products):
            product = self.products[sku]
            locations = []
            for center in sorted(self.stock):
                if sku not in self.stock[center]:
                    continue
                on_hand = self.stock[center][sku]
                committed = held.get((center, sku), 0)
                locations.append(
                    {
                        "location_id": center,
                        "name": self.centers.get(center, f"ShipBob FC {center}"),
                        "on_hand_quantity": on_hand,
                        "committed_quantity": committed,
                        "fulfillable_quantity": max(0, on_hand - committed),
                        "awaiting_quantity": 0,
                        "internal_transfer_quantity": 0,
                    }
                )
            if locations:
                items.append(
                    {"inventory_id": product.inventory_id, "name": product.name, "sku": sku, "locations": locations}
                )
        return items

    def inventory_totals(self) -> list[dict[str, Any]]:
        rows = []
        for item in self.inventory_by_center():
            on_hand = sum(loc["on_hand_quantity"] for loc in item["locations"])
            committed = sum(loc["committed_quantity"] for loc in item["locations"])
            fulfillable = sum(loc["fulfillable_quantity"] for loc in item["locations"])
            rows.append(
                {
                    "inventory_id": item["inventory_id"],
                    "name": item["name"],
                    "sku": item["sku"],
                    "total_on_hand_quantity": on_hand,
                    "total_committed_quantity": committed,
                    "total_fulfillable_quantity": fulfillable,
                    "total_sellable_quantity": fulfillable,
                    "total_awaiting_quantity": 0,
                    "total_backordered_quantity": 0,
                    "total_exception_quantity": 0,
                    "total_internal_transfer_quantity": 0,
                }
            )
        return rows


def link_page(request: Request, rows: list[dict[str, Any]], size: int, cursor: int) -> dict[str, Any]:
    """`{items, first, prev, next, last}`: a page at an offset, the others as URLs with `Cursor`."""

    def link(at: int) -> str:
        return str(request.url.remove_query_params("Cursor").include_query_params(Cursor=at, PageSize=size))

    last = max(0, (len(rows) - 1) // size * size)
    return {
        "items": rows[cursor : cursor + size],
        "first": None if cursor == 0 else link(0),
        "prev": link(max(0, cursor - size)) if cursor > 0 else None,
        "next": link(cursor + size) if cursor + size < len(rows) else None,
        "last": None if cursor >= last else link(last),
    }
