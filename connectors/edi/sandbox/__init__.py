"""The sandbox trading partner of an EDI channel: a real SFTP server (AsyncSSH, from
`connectors.sftp_exchange.server`) on a folder, where the brand's inbox and outbox live as on a
retailer's or a VAN's server, and the partner itself (`partner.TradingPartner`), which drops
850/860 files and reads and checks what the brand writes back. The HTTP app on the channel's
`base_url` serves only its controls:

- `POST /_sandbox/purchase-orders`: place a PO (lines with sku, quantity, price, casePack; the
  window, carrier, markFor); the 850 lands in the inbox;
- `POST /_sandbox/purchase-orders/{po}/resend`: drop its interchange again, same control numbers;
- `POST /_sandbox/purchase-orders/{po}/changes`: an 860 (lines with new quantities; `cancel`);
- `POST /_sandbox/files?name=`: drop the body as a file, as it is (a malformed interchange);
- `GET /_sandbox/documents`: read the outbox and list every document read, with its checks;
  each 855, 856 and 810 read is answered with a 997 dropped in the brand's inbox (accepted,
  or its syntax errors), its file named in the document's `summary.answered`;
- `POST /_sandbox/rejections`: reject the next document of a kind in its 997, e.g.
  `{"kind": "856", "ak5": ["5"], "ak9": [], "ak3": [{"segment": "TD1", "position": 4, "code": "8",
  "elements": [{"position": 2, "reference": "80", "code": "1"}]}]}` (AK5 R with the `ak5`
  codes, default `5`; the AK3/AK4 errors, default AK3 8 / AK4 7 on the set's first segment; AK9 R
  with the `ak9` codes); `GET /_sandbox/rejections` lists what is armed.

The SFTP server listens on the host and port of the channel's `settings.exchange.url`, for its user and
password the channel's settings and credentials name, and a host key derived from the channel
id (`host_key_from_seed`), so the configuration can name its public half. Knob `root`: the
folder served (default `<ORDERLOOP_HOME or .orderloop>/edi/<channel id>`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, HTTPException, Request

from connectors.base import SandboxOptions
from connectors.edi.sandbox.answers import Rejection
from connectors.edi.sandbox.partner import TradingPartner
from connectors.edi.settings import edi_settings
from connectors.sandbox_kit import Recorder, create_sandbox_app
from connectors.sftp_exchange.server import SftpUser, host_key_from_seed, public_line, start_sftp_server


def host_key_seed(channel_id: str) -> str:
    return f"orderloop-edi-sandbox/{channel_id}"


def sandbox_host_key(channel_id: str) -> str:
    """The public host key line the sandbox's SFTP server presents for `channel_id`."""
    return public_line(host_key_from_seed(host_key_seed(channel_id)))


def create_app(options: SandboxOptions) -> FastAPI:
    channel = options.channel
    settings = edi_settings(channel)
    exchange = settings.exchange
    home = Path(os.environ.get("ORDERLOOP_HOME") or ".orderloop")
    root = Path(str(options.knobs.get("root") or home / "edi" / channel.id))
    partner = TradingPartner(settings, root)
    app = create_sandbox_app(f"EDI trading partner sandbox ({settings.partner_name})", Recorder())
    app.state.partner = partner
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        server = None
        if exchange.kind == "sftp":
            user = SftpUser(exchange.username, password=channel.credential("sftp_password"))
            server = await start_sftp_server(
                root,
                [user],
                host=exchange.host,
                port=exchange.port,
                host_key=host_key_from_seed(host_key_seed(channel.id)),
            )
            app.state.sftp = server
        try:
            async with inner(asgi_app) as state:
                yield state
        finally:
            if server is not None:
                await server.close()

    app.router.lifespan_context = lifespan

    @app.post("/_sandbox/purchase-orders")
    async def place(order: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """place a purchase order: its 850 lands in the brand's inbox"""
        try:
            placed = partner.place_order(order)
        except (ValueError, KeyError) as exc:
            raise HTTPException(422, f"cannot place this purchase order: {exc}") from None
        return {"poNumber": placed.po_number, "controlNumber": placed.control_number, "file": placed.file_name}

    @app.post("/_sandbox/orders")
    async def demo_order(order: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """an onX order (as `orderloop demo` places on every channel) placed as the partner's PO"""
        address = order.get("shippingAddress") or {}
        try:
            placed = partner.place_order(
                {
                    "poNumber": str(order.get("externalId") or "")[-22:] or None,
                    "lines": [
                        {
                            "sku": line["sku"],
                            "quantity": line["quantity"],
                            "price": str(line.get("unitPrice") or "10.00"),
                        }
                        for line in order.get("lineItems", [])
                    ],
                    "shipTo": {
                        "name": " ".join(filter(None, [address.get("firstName"), address.get("lastName")])) or None,
                        "street": address.get("address1"),
                        "city": address.get("city"),
                        "state": address.get("stateOrProvince"),
                        "zip": address.get("zipCodeOrPostalCode"),
                    },
                }
            )
        except (ValueError, KeyError) as exc:
            raise HTTPException(422, f"cannot place this order as a purchase order: {exc}") from None
        return {"id": placed.po_number, "controlNumber": placed.control_number}

    @app.post("/_sandbox/purchase-orders/{po_number}/resend")
    async def resend(po_number: str) -> dict[str, Any]:
        """drop the PO's 850 interchange again, byte for byte (the same control numbers)"""
        if po_number not in partner.orders:
            raise HTTPException(404, f"no purchase order {po_number} was placed")
        return {"file": partner.resend(po_number)}

    @app.post("/_sandbox/purchase-orders/{po_number}/changes")
    async def change(po_number: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """an 860: {"lines": [{"line": 1, "quantity": 12}], "shipNoLater": "2026-12-20"} or {"cancel": true}"""
        if po_number not in partner.orders:
            raise HTTPException(404, f"no purchase order {po_number} was placed")
        control, name = partner.change_order(po_number, body)
        return {"controlNumber": control, "file": name}

    @app.post("/_sandbox/files")
    async def drop(request: Request, name: str) -> dict[str, Any]:
        """?name=: drop the request body into the inbox as it is (e.g. a malformed interchange)"""
        if "/" in name or name.startswith("."):
            raise HTTPException(422, "name a plain file")
        partner.drop_raw(name, await request.body())
        return {"file": name}

    @app.post("/_sandbox/rejections")
    async def reject_next(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """reject the next document of a kind in its 997: {"kind": "856", "ak5": ["5"], "ak3": [...], "ak9": []}"""
        try:
            rejection = Rejection.from_json(body)
        except (ValueError, KeyError, TypeError) as exc:
            raise HTTPException(422, f"cannot arm this rejection: {exc}") from None
        partner.answering.arm(rejection)
        return {"armed": sorted(partner.answering.armed)}

    @app.get("/_sandbox/rejections")
    async def armed() -> dict[str, Any]:
        """the kinds whose next document the partner rejects"""
        return {"armed": sorted(partner.answering.armed)}

    @app.get("/_sandbox/documents")
    async def documents() -> list[dict[str, Any]]:
        """read the brand's outbox (997, TA1, 855, 856, 810, 846) and list every document read, with its checks"""
        partner.read_outbox()
        return [d.as_json() for d in partner.read]

    @app.get("/_sandbox/inventory")
    async def inventory() -> dict[str, Any]:
        """read the brand's outbox; the units per SKU its 846s advised, the newest advice last"""
        partner.read_outbox()
        return {"advised": partner.advised, "advices": sum(1 for d in partner.read if "846" in d.kinds)}

    return app
