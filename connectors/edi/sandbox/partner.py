"""The sandbox's trading partner: a retailer that drops 850 purchase orders and 860 changes into
the brand's inbox on its SFTP server and reads what the brand writes to the outbox (997, TA1,
855, 856, 810, 846), checking each document as a retailer's EDI system does:

- the envelope: ISA/IEA, GS/GE and ST/SE counts and control numbers agree, the ISA is from the
  brand to this partner, and every ISA13 is new and greater than the one before (monotonic);
- each set against the segment rules (mandatory segments, element types and lengths);
- what it answers: a 997's AK1 names a group the partner sent, an 855's BAK03 and an 856's PRF01
  and an 810's BIG04 name a PO it placed, an 855 acknowledges each line once, an 856's HL
  parents exist and its TD1 counts its pack levels, each carton's MAN GM is a valid SSCC-18, CTT
  counts the HLs, and an 810's TDS is the sum of its IT1 lines in cents; an 846 advises each
  item once (a LIN with the vendor's part number, then its QTY 33 available) and its CTT counts
  the LIN loops. What the 846s advised, newest last, is the partner's view of the brand's stock.

Read files move to `delivered/`, as a partner's mailbox client does; what it found is kept for
`GET /_sandbox/documents`. Each 855, 856 and 810 read is answered with a 997 in the brand's
inbox (`answers`: accepted, or the rejection armed for its kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.edi import rules
from connectors.edi.acknowledgements import functional_acknowledgement
from connectors.edi.envelopes import FunctionalGroup, OutboundSet, TransactionSet, read_interchange, write_interchange
from connectors.edi.sandbox.answers import Answering
from connectors.edi.settings import EdiSettings
from connectors.edi.x12 import Delimiters, Segment, X12SyntaxError, clean, seg
from orderloop.documents.sscc import is_valid_sscc

DELIVERED = "delivered"
# The partner's last interchange control number, kept in its folder beside the mailboxes.
CONTROL_FILE = ".partner-control"


@dataclass
class PlacedOrder:
    po_number: str
    control_number: int
    group_control: int
    file_name: str
    lines: list[dict[str, Any]]
    text: str


@dataclass
class ReadDocument:
    file_name: str
    kinds: list[str]
    control_number: str
    problems: list[str]
    summary: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "kinds": self.kinds,
            "controlNumber": self.control_number,
            "ok": not self.problems,
            "problems": self.problems,
            "summary": self.summary,
        }


class TradingPartner:
    def __init__(self, settings: EdiSettings, root: Path, first_control: int = 1000) -> None:
        self.settings = settings
        self.root = root
        # ISA13 only grows, also across restarts on the same folders (a second `make run`): a
        # number the brand's ledger already holds would be taken for a re-sent interchange.
        self._control_file = root / CONTROL_FILE
        stored = self._control_file.read_text().strip() if self._control_file.exists() else ""
        self.control = max(first_control, int(stored)) if stored.isdigit() else first_control
        self.orders: dict[str, PlacedOrder] = {}
        self.sent_groups: set[str] = set()
        self.read: list[ReadDocument] = []
        # Units per SKU the brand last advised (846 QTY 33), by vendor part number.
        self.advised: dict[str, int] = {}
        self.last_control_read = 0
        self.answering = Answering()
        # The partner writes with its own delimiters, as partners do; the brand reads them from the ISA.
        repetition = "^" if settings.version >= "005010" else None
        self.delimiters = Delimiters(element="*", component=":", segment="~", repetition=repetition, suffix="\n")
        for folder in (settings.folders.inbox, settings.folders.outbox, DELIVERED):
            (root / folder).mkdir(parents=True, exist_ok=True)

    # --- what the partner sends ------------------------------------------------------------

    def _interchange(self, code: str, body: list[Segment], at: datetime) -> tuple[int, str]:
        self.control += 1
        self._control_file.write_text(str(self.control))
        self.sent_groups.add(str(self.control))
        text = write_interchange(
            sender=self.settings.partner,
            receiver=self.settings.us,
            version=self.settings.version,
            delimiters=self.delimiters,
            interchange_control=self.control,
            group_control=self.control,
            sets=[OutboundSet(code, body)],
            at=at,
            usage=self.settings.usage,
        )
        return self.control, text

    def _drop(self, name: str, text: str) -> None:
        inbox = self.root / self.settings.folders.inbox
        temporary = inbox / f".part-{name}"
        temporary.write_text(text)
        temporary.rename(inbox / name)

    def place_order(self, order: dict[str, Any], at: datetime | None = None) -> PlacedOrder:
        at = at or datetime.now(UTC)
        number = str(order.get("poNumber") or f"45{self.control + 1:08d}")
        if number in self.orders:
            raise ValueError(f"PO {number} was placed already")
        lines = order.get("lines") or []
        if not lines:
            raise ValueError("a purchase order needs lines")
        body = [seg("BEG", "00", "SA", number, None, at.strftime("%Y%m%d"))]
        terms = order.get("netDays", 30)
        body.append(seg("ITD", "01", "3", None, None, None, None, terms, None, None, None, None, f"NET {terms}"))
        for code, key in (("037", "shipNotBefore"), ("038", "shipNoLater")):
            if order.get(key):
                body.append(seg("DTM", code, date.fromisoformat(order[key]).strftime("%Y%m%d")))
        if order.get("carrier"):
            body.append(seg("TD5", "O", "2", order["carrier"], "M", order.get("routing")))
        body.append(seg("N1", "BY", "SANDBOX RETAIL", "92", order.get("buyerAccount", "0045")))
        ship_to = {k: v for k, v in (order.get("shipTo") or {}).items() if v}
        body.append(
            seg("N1", "ST", clean(ship_to.get("name", "SANDBOX RETAIL DC 12"), 60), "92", ship_to.get("number", "DC12"))
        )
        if ship_to.get("street", "100 LOGISTICS PKWY") != "-":
            body.append(seg("N3", clean(ship_to.get("street", "100 LOGISTICS PKWY"), 55)))
        body.append(
            seg(
                "N4",
                clean(ship_to.get("city", "COLUMBUS"), 30),
                ship_to.get("state", "OH"),
                ship_to.get("zip", "43215"),
                "US",
            )
        )
        if order.get("markFor"):
            body.append(seg("N1", "Z7", f"STORE {order['markFor']}", "92", order["markFor"]))
        for index, line in enumerate(lines, start=1):
            body.append(seg("PO1", index, line["quantity"], "EA", line.get("price", "10.00"), None, "VN", line["sku"]))
            if line.get("casePack"):
                body.append(seg("PO4", line["casePack"]))
        body.append(seg("CTT", len(lines)))
        control, text = self._interchange("850", body, at)
        name = f"850_{number}_{control}.x12"
        placed = PlacedOrder(number, control, control, name, lines, text)
        self.orders[number] = placed
        self._drop(name, text)
        return placed

    def resend(self, po_number: str) -> str:
        """Drop the PO's interchange again, byte for byte (same control numbers), as a partner
        whose transmission timed out does."""
        placed = self.orders[po_number]
        name = f"850_{po_number}_{placed.control_number}_resent.x12"
        self._drop(name, placed.text)
        return name

    def change_order(self, po_number: str, change: dict[str, Any], at: datetime | None = None) -> tuple[int, str]:
        at = at or datetime.now(UTC)
        placed = self.orders[po_number]
        purpose = "01" if change.get("cancel") else "04"
        body = [seg("BCH", purpose, "SA", po_number, None, change.get("sequence", 1), at.strftime("%Y%m%d"))]
        if change.get("shipNoLater"):
            body.append(seg("DTM", "038", date.fromisoformat(change["shipNoLater"]).strftime("%Y%m%d")))
        for line in change.get("lines", []):
            index = int(line["line"])
            sku = line.get("sku") or placed.lines[index - 1]["sku"]
            if line.get("quantity") == 0:
                body.append(seg("POC", index, "DI", None, None, "EA", None, None, "VN", sku))
            else:
                body.append(seg("POC", index, "QD", line["quantity"], line["quantity"], "EA", None, None, "VN", sku))
        control, text = self._interchange("860", body, at)
        name = f"860_{po_number}_{control}.x12"
        self._drop(name, text)
        return control, name

    def drop_raw(self, name: str, data: bytes) -> None:
        self._drop(name, data.decode("utf-8", errors="replace"))

    def answer_group(self, group: FunctionalGroup) -> tuple[int, str]:
        """The 997 interchange acknowledging one of the brand's groups (its control number, text)."""
        answer = functional_acknowledgement(group)
        return self._interchange("997", answer.body, datetime.now(UTC))

    # --- what the partner reads ------------------------------------------------------------

    def read_outbox(self) -> list[ReadDocument]:
        outbox = self.root / self.settings.folders.outbox
        found = []
        for path in sorted(
            (p for p in outbox.iterdir() if p.is_file() and not p.name.startswith(".")),
            key=lambda p: (p.stat().st_mtime, p.name),
        ):
            document = self._check(path.name, path.read_text())
            path.rename(self.root / DELIVERED / path.name)
            self.read.append(document)
            found.append(document)
        return found

    def _check(self, name: str, text: str) -> ReadDocument:
        try:
            interchange = read_interchange(text)
        except X12SyntaxError as exc:
            return ReadDocument(name, [], "", [f"not X12: {exc}"])
        problems = [f"TA1 note {code}" for code in interchange.errors]
        if (interchange.sender_qualifier, interchange.sender_id) != (
            self.settings.our_isa_qualifier,
            self.settings.our_isa_id,
        ):
            problems.append(f"ISA06 {interchange.sender_id!r} is not the brand")
        if (interchange.receiver_qualifier, interchange.receiver_id) != (
            self.settings.partner_isa_qualifier,
            self.settings.partner_isa_id,
        ):
            problems.append(f"ISA08 {interchange.receiver_id!r} is not this partner")
        control = int(interchange.control_number) if interchange.control_number.isdigit() else -1
        if control <= self.last_control_read:
            problems.append(f"ISA13 {control} is not greater than the last one read ({self.last_control_read})")
        self.last_control_read = max(self.last_control_read, control)
        kinds: list[str] = []
        summary: dict[str, Any] = {}
        if interchange.ta1:
            kinds.append("TA1")
            summary["ta1"] = list(interchange.ta1[0].elements)
        for group in interchange.groups:
            problems += [f"group {group.control_number}: AK9 code {c}" for c in group.errors]
            for transaction in group.transactions:
                kinds.append(transaction.code)
                rules.check_transaction(transaction)
                problems += [f"set {transaction.control_number}: AK5 code {c}" for c in transaction.errors]
                problems += [
                    f"set {transaction.control_number}: {e.segment_id} at {e.position} AK3 {e.code}"
                    + "".join(f" {e.segment_id}{x.position:02d} AK4 {x.code}" for x in e.elements)
                    for e in transaction.segment_errors
                ]
                problems += self._answers(transaction, summary)
        summary["answered"] = self.answering.answer(self, interchange)
        return ReadDocument(name, kinds, interchange.control_number, problems, summary)

    def _answers(self, transaction: TransactionSet, summary: dict[str, Any]) -> list[str]:
        body = transaction.body
        problems: list[str] = []
        first = {s.id: s for s in reversed(body)}
        if transaction.code == "997":
            group = first["AK1"].get(2) if "AK1" in first else ""
            if group not in self.sent_groups:
                problems.append(f"997 AK1 names group {group}, which the partner never sent")
            summary.update(
                group=group,
                status=first["AK9"].get(1) if "AK9" in first else None,
                errors=[list(s.elements) for s in body if s.id in {"AK3", "AK4"}],
            )
        elif transaction.code == "855":
            po = first["BAK"].get(3) if "BAK" in first else ""
            problems += self._known_po("855 BAK03", po)
            acks = [s for s in body if s.id == "ACK"]
            if len(acks) != len([s for s in body if s.id == "PO1"]):
                problems.append("855: not one ACK per PO1")
            summary.update(
                po=po, type=first["BAK"].get(2) if "BAK" in first else None, lines=[[s.get(1), s.get(2)] for s in acks]
            )
        elif transaction.code == "856":
            problems += self._ship_notice(body, summary)
        elif transaction.code == "846":
            problems += self._inventory_advice(body, summary)
        elif transaction.code == "810":
            po = first["BIG"].get(4) if "BIG" in first else ""
            problems += self._known_po("810 BIG04", po)
            total = sum(Decimal(s.get(2) or 0) * Decimal(s.get(4) or 0) for s in body if s.id == "IT1")
            tds = first["TDS"].get(1) if "TDS" in first else ""
            if tds != str(int(total * 100)):
                problems.append(f"810 TDS {tds} is not the lines' total {int(total * 100)}")
            summary.update(
                po=po,
                invoice=first["BIG"].get(2) if "BIG" in first else None,
                total_cents=tds,
                terms=list(first["ITD"].elements) if "ITD" in first else None,
            )
        return problems

    def _inventory_advice(self, body: list[Segment], summary: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        advised: dict[str, int] = {}
        item: str | None = None
        for segment in body:
            if segment.id == "LIN":
                if item is not None:
                    problems.append(f"846 LIN {item}: no QTY 33 before the next item")
                item = segment.get(3) if segment.get(2) == "VN" else None
                if item is None:
                    problems.append(f"846 LIN qualifier {segment.get(2)!r}: the partner reads VN part numbers")
                elif item in advised:
                    problems.append(f"846 advises {item} twice")
            elif segment.id == "QTY" and segment.get(1) == "33" and item is not None:
                advised[item] = int(Decimal(segment.get(2) or "0"))
                item = None
        if item is not None:
            problems.append(f"846 LIN {item}: no QTY 33")
        lins = sum(1 for s in body if s.id == "LIN")
        ctt = next((s.get(1) for s in body if s.id == "CTT"), "")
        if ctt != str(lins):
            problems.append(f"846 CTT {ctt} is not the number of LIN loops ({lins})")
        if not problems:
            self.advised.update(advised)
        header = next((s for s in body if s.id == "BIA"), None)
        summary.update(report=header.get(3) if header else None, items=len(advised))
        return problems

    def _known_po(self, where: str, po: str) -> list[str]:
        return [] if po in self.orders else [f"{where} names PO {po!r}, which the partner never placed"]

    def _ship_notice(self, body: list[Segment], summary: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        levels: dict[str, str] = {}
        for segment in (s for s in body if s.id == "HL"):
            parent = segment.get(2)
            if parent and parent not in levels:
                problems.append(f"856 HL {segment.get(1)} names parent {parent}, which comes nowhere before it")
            levels[segment.get(1)] = segment.get(3)
        ssccs = [s.get(2) for s in body if s.id == "MAN" and s.get(1) == "GM"]
        problems += [f"856 MAN GM {code} is not a valid SSCC-18" for code in ssccs if not is_valid_sscc(code)]
        packs = sum(1 for kind in levels.values() if kind == "P")
        td1 = next((s.get(2) for s in body if s.id == "TD1"), "")
        if td1 != str(packs):
            problems.append(f"856 TD1 counts {td1} cartons, the notice has {packs} pack levels")
        ctt = next((s.get(1) for s in body if s.id == "CTT"), "")
        if ctt != str(len(levels)):
            problems.append(f"856 CTT {ctt} is not the number of HL segments ({len(levels)})")
        pos = [s.get(1) for s in body if s.id == "PRF"]
        for po in pos:
            problems += self._known_po("856 PRF01", po)
        summary.update(
            po=pos[0] if pos else None,
            ssccs=ssccs,
            cartons=packs,
            shipment=next((s.get(2) for s in body if s.id == "BSN"), None),
        )
        return problems
