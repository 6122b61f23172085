"""Orders at ShipBob and their shipments: create by a unique `reference_id` (validated the way
ShipBob does), split orders, centers chosen by stock, cancel refused once a shipment is picked,
and fulfilment: labels after `ship_delay`, picking, delivery, each with its webhook."""

from __future__ import annotations

import string
from typing import Any

from connectors.shipbob.mapping import OrderStatus, ShipmentStatus
from connectors.shipbob.sandbox.merchant import ShipBobApiError, invalid, now
from connectors.shipbob.sandbox.payloads import Line, Product, SbOrder, SbShipment, split_lines
from connectors.shipbob.sandbox.returns import Returns
from connectors.shipbob.webhooks import ShipBobTopic

_TRACKING_URLS = {
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "UPS": "https://www.ups.com/track?tracknum={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
}


class ShipBobSandbox(Returns):
    """The whole merchant account: its state and gate, inventory, orders; `create_app` serves it."""

    # --- orders ---

    def find(self, ref: str) -> SbOrder:
        """An order by its reference_id or ShipBob id (sandbox controls)."""
        order = self.by_reference.get(ref)
        if order is None and ref.isdigit():
            order = self.orders.get(int(ref))
        if order is None:
            raise ShipBobApiError(404, {"message": f"Order {ref} was not found."})
        return order

    def order(self, order_id: int) -> SbOrder:
        return self.orders.find(order_id)

    def create(self, channel_id: int, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid(400, "", "A non-empty JSON object is required.")
        reference = body.get("reference_id")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 300:
            raise invalid(400, "reference_id", "The reference_id field is required (1 to 300 characters).")
        if not isinstance(body.get("shipping_method"), str) or not body["shipping_method"].strip():
            raise invalid(400, "shipping_method", "The shipping_method field is required.")
        if body.get("type") not in ("DTC", "DropShip", "B2B"):
            raise invalid(400, "type", "The type field must be one of DTC, DropShip, B2B.")
        products = body.get("products")
        if not isinstance(products, list) or not products:
            raise invalid(400, "products", "At least one product is required.")
        if not isinstance(body.get("recipient"), dict) or not isinstance(body["recipient"].get("address"), dict):
            raise invalid(400, "recipient", "The recipient field with an address is required.")
        if reference in self.by_reference:
            raise invalid(
                422, "reference_id", f"Duplicate reference ID: an order with reference_id '{reference}' exists."
            )
        if body["type"] != "DTC" and not (body.get("retailer_program_data") and body.get("shipping_terms")):
            raise invalid(
                422, "retailer_program_data", "DropShip and B2B orders need retailer_program_data and shipping_terms."
            )
        self._check_recipient(body["recipient"])
        lines = self._lines(products)
        center = self._center(body.get("location_id"), lines)
        at = now()
        order = SbOrder(
            id=self.orders.new_id(),
            reference_id=reference,
            channel_id=channel_id,
            channel_name=self.channel_name,
            body=body,
            lines=lines,
            created=at,
        )
        knobs = self.knobs.value
        units = sum(line.quantity for line in lines)
        # Decided at creation, in creation order, so a seed reproduces the same splits.
        split = self.rng.random() < knobs.partial_ratio and units >= 2
        for part in split_lines(lines) if split else (lines,):
            self._add_shipment(order, center, list(part))
        self.orders.add(order)
        self.by_reference[reference] = order
        if knobs.auto_ship:
            for k, shipment in enumerate(order.shipments, start=1):
                self._schedule(shipment, knobs.ship_delay * k)
        return order.to_json()

    def _check_recipient(self, recipient: dict[str, Any]) -> None:
        if not str(recipient.get("name") or "").strip():
            raise invalid(422, "recipient.name", "The recipient name is required.")
        address = recipient["address"]
        for key, label in (("address1", "Address1"), ("city", "City"), ("country", "Country")):
            if not str(address.get(key) or "").strip():
                raise invalid(422, f"recipient.address.{key}", f"The {label} field is required.")
        country = str(address["country"]).strip().upper()
        zip_code = str(address.get("zip_code") or "").strip()
        if country in ("US", "USA", "UNITED STATES") and not (
            len(zip_code) in (5, 10) and zip_code[:5].isdigit() and (len(zip_code) == 5 or zip_code[5] == "-")
        ):
            raise invalid(422, "recipient.address.zip_code", f"'{zip_code}' is not a valid US zip code.")

    def _lines(self, products: list[Any]) -> list[Line]:
        lines = []
        for i, item in enumerate(products):
            if not isinstance(item, dict):
                raise invalid(400, f"products[{i}]", "A product must be an object.")
            quantity = item.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise invalid(400, f"products[{i}].quantity", "The quantity must be a positive integer.")
            external = item.get("external_line_id")
            if external is not None and (isinstance(external, bool) or not isinstance(external, int)):
                raise invalid(400, f"products[{i}].external_line_id", "The external_line_id must be an integer.")
            lines.append(Line(self._product_of(i, item), quantity, external))
        return lines

    def _product_of(self, i: int, item: dict[str, Any]) -> Product:
        if item.get("id") is not None:
            for product in self.products.values():
                if product.id == item["id"]:
                    return product
            raise invalid(422, f"products[{i}].id", f"No product with id {item['id']} exists.")
        sku = item.get("reference_id")
        if not isinstance(sku, str) or not sku.strip():
            raise invalid(400, f"products[{i}].reference_id", "Either reference_id or id is required.")
        name = item.get("name")
        if sku not in self.products and not (isinstance(name, str) and name.strip()):
            raise invalid(
                422,
                f"products[{i}].reference_id",
                f"No product with reference_id '{sku}' exists; include a name to create it.",
            )
        return self.product(sku, name)

    def _center(self, requested: Any, lines: list[Line]) -> int:
        if requested is not None:
            if isinstance(requested, bool) or not isinstance(requested, int) or requested not in self.centers:
                raise invalid(422, "location_id", f"Fulfillment center {requested} is not available to this merchant.")
            return requested
        held = self.committed()
        for center in sorted(self.centers):
            levels = self.stock.get(center, {})
            if all(
                levels.get(ln.product.sku, 0) - held.get((center, ln.product.sku), 0) >= ln.quantity for ln in lines
            ):
                return center
        return min(self.centers)

    def _add_shipment(self, order: SbOrder, center: int, lines: list[Line]) -> SbShipment:
        shipment = SbShipment(
            id=self.shipments.new_id(),
            order=order,
            center=center,
            center_name=self.centers[center],
            lines=lines,
            created=now(),
        )
        order.shipments.append(shipment)
        self.shipments.add(shipment)
        return shipment

    def list_orders(
        self, channel_id: int | None, ids: str | None, references: str | None, has_tracking: bool | None
    ) -> list[SbOrder]:
        wanted_ids = {int(i) for i in (ids or "").split(",") if i.strip().isdigit()} if ids else None
        wanted_refs = {r.strip() for r in (references or "").split(",") if r.strip()} if references else None
        found = []
        for order in self.orders.values():
            if channel_id is not None and order.channel_id != channel_id:
                continue
            if wanted_ids is not None and order.id not in wanted_ids:
                continue
            if wanted_refs is not None and order.reference_id not in wanted_refs:
                continue
            if has_tracking is not None and any(s.tracking for s in order.shipments) != has_tracking:
                continue
            found.append(order)
        return found

    def cancel(self, order: SbOrder) -> dict[str, Any]:
        if order.status is OrderStatus.CANCELLED:
            raise invalid(422, "order_id", f"Order {order.id} is already cancelled.")
        results = []
        for shipment in order.shipments:
            if shipment.status is ShipmentStatus.CANCELLED:
                continue
            refusal = self._cancel_refusal(shipment)
            if refusal is None:
                shipment.status = ShipmentStatus.CANCELLED
                shipment.updated = now()
                self.timers.cancel(shipment.id)
                self.emit(ShipBobTopic.SHIPMENT_CANCELLED, shipment.to_json())
            results.append(
                {"action": "Cancel", "is_success": refusal is None, "reason": refusal, "shipment_id": shipment.id}
            )
        succeeded = sum(1 for r in results if r["is_success"])
        status = "Success" if succeeded == len(results) else "PartialSuccess" if succeeded else "Failure"
        return {"order_id": order.id, "status": status, "canceled_shipment_results": results, "order": order.to_json()}

    @staticmethod
    def _cancel_refusal(shipment: SbShipment) -> str | None:
        if shipment.shipped:
            return f"Shipment {shipment.id} is already shipped and cannot be cancelled."
        if shipment.stage:
            return f"Shipment {shipment.id} is already {shipment.stage.lower()} and cannot be cancelled."
        return None

    # --- fulfilment ---

    def _schedule(self, shipment: SbShipment, delay: float) -> None:
        self.timers.schedule(shipment.id, delay, lambda: self.ship(shipment))

    def ship_order(self, order: SbOrder, parts: int = 1, count: int | None = None) -> list[dict[str, Any]]:
        """Label the order's pending shipments now (the first `count` of them); `parts=2` first
        splits a single pending shipment in two, as ShipBob does for a split order."""
        pending = [s for s in order.shipments if s.pending]
        if parts == 2 and len(pending) == 1 and sum(line.quantity for line in pending[0].lines) >= 2:
            first, rest = split_lines(pending[0].lines)
            pending[0].lines = first
            pending.append(self._add_shipment(order, pending[0].center, rest))
        return [payload for s in pending[:count] if (payload := self.ship(s)) is not None]

    def ship(self, shipment: SbShipment) -> dict[str, Any] | None:
        """Print the label: tracking, stock out of the center, `order.shipped`, then Completed."""
        if not shipment.pending:
            return None
        self.timers.cancel(shipment.id)
        carrier = self.knobs.value.carrier
        number = self._tracking_number(carrier)
        at = now()
        shipment.status = ShipmentStatus.LABELED_CREATED
        shipment.stage = None
        shipment.fulfilled_at = at
        shipment.updated = at
        shipment.tracking = {
            "carrier": carrier,
            "carrier_service": "Ground",
            "tracking_number": number,
            "tracking_url": _TRACKING_URLS[carrier].format(number),
            "shipping_date": at,
            "bol": None,
            "pro_number": None,
            "scac": None,
        }
        levels = self.stock.setdefault(shipment.center, {})
        for line in shipment.lines:
            levels[line.product.sku] = max(0, levels.get(line.product.sku, 0) - line.quantity)
        payload = shipment.to_json()
        self.emit(ShipBobTopic.ORDER_SHIPPED, payload)
        # ShipBob moves a labelled shipment to Completed shortly after: readers must accept both.
        shipment.status = ShipmentStatus.COMPLETED
        return payload

    def deliver(self, order: SbOrder) -> list[dict[str, Any]]:
        delivered = []
        for shipment in order.shipments:
            if shipment.shipped and shipment.delivered_at is None:
                shipment.delivered_at = shipment.updated = now()
                payload = shipment.to_json()
                self.emit(ShipBobTopic.SHIPMENT_DELIVERED, payload)
                delivered.append(payload)
        return delivered

    def hold(self, order: SbOrder, reason: str, exception: bool) -> list[dict[str, Any]]:
        """Hold the pending shipments (not labelled until `ship`), as ShipBob does on an address
        problem (`order.shipment.on_hold`) or a stock-out at the center (`order.shipment.exception`)."""
        topic = ShipBobTopic.SHIPMENT_EXCEPTION if exception else ShipBobTopic.SHIPMENT_ON_HOLD
        status = "Exception" if exception else "OnHold"
        held = []
        for shipment in order.shipments:
            if shipment.pending:
                self.timers.cancel(shipment.id)
                shipment.updated = now()
                details = [{"id": 4, "name": status, "description": reason}]
                payload = shipment.to_json() | {"status": status, "status_details": details}
                self.emit(topic, payload)
                held.append(payload)
        return held

    def pick(self, order: SbOrder, stage: str) -> list[dict[str, Any]]:
        picked = []
        for shipment in order.shipments:
            if shipment.pending:
                shipment.stage = stage
                shipment.updated = now()
                self.timers.cancel(shipment.id)
                picked.append(shipment.to_json())
        return picked

    def _tracking_number(self, carrier: str) -> str:
        if carrier == "UPS":
            return "1Z" + "".join(self.rng.choices(string.ascii_uppercase + string.digits, k=16))
        if carrier == "FedEx":
            return "".join(self.rng.choices(string.digits, k=12))
        return "9400" + "".join(self.rng.choices(string.digits, k=18))
