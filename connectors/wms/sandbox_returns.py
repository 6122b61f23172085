"""The WMS sandbox's returns: Orderloop announces an expected return (`POST /returns`, our return
id as `externalId` and `Idempotency-Key`; the WMS answers its RMA with the customer's prepaid
label), the controls receive the parcel with each unit's condition, and the WMS reports the
receipt (`return.received`, an onX return whose lines carry `inspection.conditionCategory`).
Sellable units go back on the WMS's shelf; like a shipment, a receipt sends no
`inventory.updated`: Orderloop restocks the units itself from the receipt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse

from connectors.sandbox_kit import Call, ResourceStore, Route, RouteTable, SandboxError, numbered
from connectors.signing import json_type
from connectors.wms.webhooks import WmsEvent

if TYPE_CHECKING:
    from connectors.wms.sandbox import WmsSandbox

CONDITIONS = ("sellable", "damaged", "wrong_item", "missing")


@dataclass
class Rma:
    id: str
    external_id: str
    body: dict[str, Any]
    label: dict[str, Any]
    created_at: str
    status: str = "expected"
    received: list[dict[str, Any]] = field(default_factory=list)
    received_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "externalId": self.external_id,
            "status": self.status,
            "locationId": self.body.get("locationId"),
            "orderId": self.body.get("orderId"),
            "returnLineItems": self.received or self.body["returnLineItems"],
            "labels": [self.label],
            "createdAt": self.created_at,
            "receivedAt": self.received_at,
        }


def _refusal(body: Any) -> str | None:
    if not isinstance(body, dict):
        return f"the return must be a JSON object, not {json_type(body)}"
    if not isinstance(body.get("externalId"), str) or not body["externalId"]:
        return "externalId (your return id) is missing"
    items = body.get("returnLineItems")
    if not isinstance(items, list) or not items:
        return "returnLineItems must be a non-empty array"
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("sku"):
            return f"returnLineItems[{i}].sku is missing"
        quantity = item.get("quantityReturned")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            return f"returnLineItems[{i}].quantityReturned must be a positive integer"
    return None


class WmsReturns:
    def __init__(self, wms: WmsSandbox) -> None:
        self.wms = wms
        self.rmas: ResourceStore[Rma] = ResourceStore(numbered("RMA-{:06d}"), id_of=lambda r: r.id)
        self.by_key: dict[str, Rma] = {}
        self.by_external: dict[str, Rma] = {}

    def find(self, ref: str) -> Rma:
        rma = self.rmas.get(ref) or self.by_external.get(ref)
        if rma is None:
            raise SandboxError(404, f"no return {ref!r}")
        return rma

    def create(self, key: str | None, body: Any, now: str) -> JSONResponse:
        if not key:
            raise SandboxError(400, "Idempotency-Key header is required")
        external_id = str(body.get("externalId")) if isinstance(body, dict) else ""
        existing = self.by_key.get(key) or self.by_external.get(external_id)
        if existing is not None:
            return JSONResponse(existing.to_json(), status_code=200, headers={"Idempotent-Replayed": "true"})
        reason = _refusal(body)
        if reason:
            raise SandboxError(422, "return refused", reason=reason)
        rma_id = self.rmas.new_id()
        carrier = self.wms.knobs.value.carrier
        tracking = f"1ZRMA{rma_id.removeprefix('RMA-')}"
        label = {
            "carrier": carrier,
            "trackingNumber": tracking,
            "url": f"https://labels.example.com/{rma_id}.pdf",
            "status": "issued",
            "createdAt": now,
        }
        rma = Rma(id=rma_id, external_id=body["externalId"], body=body, label=label, created_at=now)
        self.rmas.add(rma)
        self.by_key[key] = rma
        self.by_external[rma.external_id] = rma
        return JSONResponse(rma.to_json(), status_code=201)

    def receive(self, ref: str, body: Any, now: str) -> dict[str, Any]:
        """The parcel arrived: `{"lines": [{"sku", "quantity", "condition"}]}` (left out: every
        announced unit, sellable). Sellable units go back on the shelf; `return.received` is sent."""
        rma = self.find(ref)
        if rma.status == "received":
            raise SandboxError(409, f"return {rma.id} was received already")
        lines = body.get("lines") if isinstance(body, dict) else None
        if lines is None:
            lines = [
                {"sku": item["sku"], "quantity": item["quantityReturned"], "condition": "sellable"}
                for item in rma.body["returnLineItems"]
            ]
        if not isinstance(lines, list) or not lines:
            raise SandboxError(422, 'send {"lines": [{"sku", "quantity", "condition"}]}')
        received = []
        for i, line in enumerate(lines):
            if not isinstance(line, dict) or not line.get("sku"):
                raise SandboxError(422, f"lines[{i}].sku is missing")
            if line.get("condition") not in CONDITIONS:
                raise SandboxError(422, f"lines[{i}].condition must be one of {', '.join(CONDITIONS)}")
            quantity = line.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise SandboxError(422, f"lines[{i}].quantity must be a positive integer")
            received.append(
                {
                    "sku": line["sku"],
                    "quantityReturned": quantity,
                    "returnReason": "received",
                    "inspection": {"conditionCategory": line["condition"], "inspectedAt": now, "inspectedBy": "wms"},
                }
            )
        location = str(rma.body.get("locationId") or "*")
        for item in received:
            if item["inspection"]["conditionCategory"] == "sellable":
                shelf = self.wms.stock.setdefault(location, {})
                shelf[item["sku"]] = shelf.get(item["sku"], 0) + item["quantityReturned"]
        rma.status, rma.received, rma.received_at = "received", received, now
        self.wms.emit(WmsEvent.RETURN_RECEIVED, rma.to_json())
        return rma.to_json()


def return_api_routes(returns: WmsReturns, now: Any) -> tuple[Route, ...]:
    return (
        Route(
            "POST",
            "/returns",
            lambda c: returns.create(c.request.headers.get("idempotency-key"), c.body, now()),
            "an expected return (onX); Idempotency-Key required; 201 new with its label, 200 repeat",
        ),
        Route("GET", "/returns/{ref:path}", lambda c: returns.find(c.path["ref"]).to_json(), "by RMA id or externalId"),
    )


def return_control_routes(returns: WmsReturns, now: Any) -> RouteTable:
    def receive(call: Call) -> dict[str, Any]:
        return returns.receive(call.path["ref"], call.body, now())

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route(
                "POST",
                "/returns/{ref:path}/receive",
                receive,
                '{"lines": [{"sku", "quantity", "condition"}]}: the parcel arrived; return.received',
            ),
            Route("GET", "/returns", lambda _: [r.to_json() for r in returns.rmas.values()], "every expected return"),
        ),
    )
