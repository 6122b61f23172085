"""The sandbox partner's 997s for what the brand sends: each 855, 856, 810 and 846 group the partner
reads is answered with a 997 dropped into the brand's inbox (AK5 A and AK9 A when the sets pass
the partner's syntax checks, their AK3/AK4 errors when not), never a 997 for a 997 or a TA1.

`POST /_sandbox/rejections` arms a rejection of the next document of a kind: its 997 says AK5 R
with the codes given (default `5`, one or more segments in error), the AK3/AK4 errors given
(default: the set's first segment, AK3 8 with AK4 7 on its second element) and AK9 R with the
AK9 codes given (default none)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from connectors.edi.envelopes import ElementError, FunctionalGroup, Interchange, SegmentError, TransactionSet

if TYPE_CHECKING:
    from connectors.edi.sandbox.partner import TradingPartner

ANSWERED = {"855", "856", "810", "846"}


@dataclass
class Rejection:
    kind: str
    set_codes: list[str] = field(default_factory=lambda: ["5"])
    group_codes: list[str] = field(default_factory=list)
    segment_errors: list[dict[str, Any]] | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Rejection:
        kind = str(body.get("kind") or "")
        if kind not in ANSWERED:
            raise ValueError(f"kind {kind!r}: the partner answers {sorted(ANSWERED)}")
        return cls(
            kind=kind,
            set_codes=[str(c) for c in body.get("ak5", ["5"])][:5],
            group_codes=[str(c) for c in body.get("ak9", [])][:5],
            segment_errors=body.get("ak3"),
        )

    def apply(self, transaction: TransactionSet) -> TransactionSet:
        given = self.segment_errors
        if given is None:
            first = transaction.body[0].id if transaction.body else "ST"
            given = [{"segment": first, "position": 2, "code": "8", "elements": [{"position": 2, "code": "7"}]}]
        errors = [
            SegmentError(
                str(e["segment"]),
                int(e["position"]),
                str(e.get("code", "8")),
                [
                    ElementError(
                        int(x["position"]), str(x.get("reference", "")), str(x["code"]), str(x.get("value", ""))
                    )
                    for x in e.get("elements", [])
                ],
                str(e.get("loop", "")),
            )
            for e in given
        ]
        return replace(transaction, segment_errors=errors, errors=list(self.set_codes))


@dataclass
class Answering:
    armed: dict[str, Rejection] = field(default_factory=dict)

    def arm(self, rejection: Rejection) -> None:
        self.armed[rejection.kind] = rejection

    def answer(self, partner: TradingPartner, interchange: Interchange) -> list[str]:
        """Drop a 997 for each group of answered documents; the names of the files dropped."""
        dropped = []
        for group in interchange.groups:
            if group.functional_id == "FA" or not any(t.code in ANSWERED for t in group.transactions):
                continue
            control, text = partner.answer_group(self._answered(group))
            name = f"997_{control}.x12"
            partner.drop_raw(name, text.encode())
            dropped.append(name)
        return dropped

    def _answered(self, group: FunctionalGroup) -> FunctionalGroup:
        transactions = []
        errors = list(group.errors)
        for transaction in group.transactions:
            rejection = self.armed.pop(transaction.code, None)
            if rejection is not None:
                transaction = rejection.apply(transaction)
                errors += [c for c in rejection.group_codes if c not in errors]
            transactions.append(transaction)
        return replace(group, transactions=transactions, errors=errors)
