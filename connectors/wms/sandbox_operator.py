"""The WMS sandbox's controls for what the in-house WMS's own operators do to a request: hold it
(`request.on_hold`, or `request.exception`; a held request does not ship), release it
(`request.released`), deliver it (`request.delivered`), and, in its UI with no webhook at all,
edit its lines or address, cancel it, or lose it (the shipment poll is what notices those)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.sandbox_kit import Call, Route, RouteTable, SandboxError
from connectors.wms.webhooks import WmsEvent

if TYPE_CHECKING:
    from connectors.wms.sandbox import WmsSandbox


def operator_routes(wms: WmsSandbox) -> RouteTable:
    def hold(call: Call) -> dict[str, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        event = WmsEvent.REQUEST_EXCEPTION if body.get("exception") else WmsEvent.REQUEST_ON_HOLD
        return wms.report(wms.find(call.path["ref"]), event, body.get("reason"))

    def edit(call: Call) -> dict[str, Any]:
        request = wms.find(call.path["ref"])
        if not isinstance(call.body, dict) or not set(call.body) <= {"lineItems", "shippingAddress"}:
            raise SandboxError(422, 'send {"lineItems": [...]} and/or {"shippingAddress": {...}}')
        request.body.update(call.body)
        return request.to_json()

    def cancel(call: Call) -> dict[str, Any]:
        return wms.cancel(call.path["ref"])

    def lose(call: Call) -> dict[str, Any]:
        request = wms.find(call.path["ref"])
        wms.timers.cancel(request.id)
        wms.requests.remove(request.id)
        wms.by_external.pop(request.external_id, None)
        wms.by_key.pop(request.idempotency_key, None)
        return {"lost": request.id}

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route("POST", "/hold/{ref:path}", hold, '{"reason", "exception": bool}: request.on_hold (or .exception)'),
            Route(
                "POST",
                "/release/{ref:path}",
                lambda c: wms.report(wms.find(c.path["ref"]), WmsEvent.REQUEST_RELEASED),
                "request.released; shipping resumes",
            ),
            Route(
                "POST",
                "/deliver/{ref:path}",
                lambda c: wms.report(wms.find(c.path["ref"]), WmsEvent.REQUEST_DELIVERED),
                "request.delivered",
            ),
            Route("POST", "/edit/{ref:path}", edit, '{"lineItems"} / {"shippingAddress"} changed by hand: no webhook'),
            Route("POST", "/cancel/{ref:path}", cancel, "cancelled by hand in the WMS: no webhook"),
            Route("POST", "/lose/{ref:path}", lose, "the WMS no longer knows the request (404 from then on)"),
        ),
    )
