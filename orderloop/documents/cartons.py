"""How a wholesale shipping request packs into cartons, each with its SSCC-18: a line with a
case pack ships one carton per case (its quantity is a whole number of cases, see
`orderloop.wholesale.case_pack_violations`); the lines sold by the unit share one mixed carton.
The SSCC of a carton is stable per request and carton number (`sscc_for_key`), so a re-sent
request or a reprinted label carries the same codes."""

from __future__ import annotations

from dataclasses import dataclass

from orderloop.documents.sscc import sscc_for_key
from orderloop.model import ShippingRequest


@dataclass(frozen=True)
class Carton:
    number: int
    sscc: str
    # (line id, sku, units) in this carton.
    contents: tuple[tuple[str, str, int], ...]

    @property
    def units(self) -> int:
        return sum(units for _, _, units in self.contents)


def plan_cartons(request: ShippingRequest, company_prefix: str) -> list[Carton]:
    contents: list[tuple[tuple[str, str, int], ...]] = []
    loose: list[tuple[str, str, int]] = []
    for line in request.line_items:
        pack = line.case_pack
        if pack is None or line.quantity % pack:
            loose.append((line.line_id, line.sku, line.quantity))
            continue
        contents.extend(((line.line_id, line.sku, pack),) for _ in range(line.quantity // pack))
    if loose:
        contents.append(tuple(loose))
    return [
        Carton(number=n, sscc=sscc_for_key(company_prefix, f"{request.id}/carton{n}"), contents=packed)
        for n, packed in enumerate(contents, start=1)
    ]
