"""A selling channel's packaging and labeling requirements (`requirements:` of a channel in
`orderloop.yaml`): the carriers its orders may ship with, per ship method of the order
(`shippingCode`) the carriers and the fulfillment channel's ship method, and packaging notes.

Routing leaves out a location whose `carriers` or `ship_methods` cannot meet them (so an order
no location can meet is `unroutable` at routing, not refused at shipping), and the send-shipping-
request activity hands them to the fulfillment connector with the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from orderloop.config_values import Strict

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class MethodRequirement(Strict):
    """What an order of one ship method needs; fields left out are the channel's."""

    # The carriers its parcels may go with (one of them).
    carriers: list[Name] | None = Field(default=None, min_length=1)
    # The ship method (service) to ask the fulfillment channel for, by the fulfillment
    # channel's own name for it.
    method: Name | None = None
    packaging_notes: Notes | None = None


class ChannelRequirements(Strict):
    """`requirements:` of a selling channel."""

    # The carriers every parcel of the channel may go with (one of them); left out: any.
    carriers: list[Name] | None = Field(default=None, min_length=1)
    # The order's ship method (`shippingCode`, compared without regard to case) -> what it needs.
    ship_methods: dict[Name, MethodRequirement] = Field(default_factory=dict)
    # Passed to the fulfillment channel with every shipping request of the channel.
    packaging_notes: Notes | None = None

    @model_validator(mode="after")
    def _one_entry_per_method(self) -> ChannelRequirements:
        codes = [code.lower() for code in self.ship_methods]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValueError(f"ship method(s) {', '.join(twice)} listed twice (ship methods ignore case)")
        return self

    def for_order(self, channel_id: str, shipping_code: str | None) -> ShippingRequirements:
        """What an order of this channel with `shipping_code` needs."""
        code = (shipping_code or "").strip()
        listed = next(((name, req) for name, req in self.ship_methods.items() if name.lower() == code.lower()), None)
        # The method as the file names it ("OneDay"), whatever case the order gave it in.
        code, entry = listed if listed is not None else (code, None)
        carriers = entry.carriers if entry is not None and entry.carriers is not None else self.carriers
        return ShippingRequirements(
            channel_id=channel_id,
            shipping_code=code or None,
            carriers=tuple(carriers or ()),
            method=entry.method if entry is not None else None,
            packaging_notes=(entry.packaging_notes if entry is not None else None) or self.packaging_notes,
        )


@dataclass(frozen=True)
class ShippingRequirements:
    """What one order's selling channel requires of the parcel: carriers (one of), the
    fulfillment channel's ship method, packaging notes. Empty when the channel requires nothing."""

    channel_id: str
    shipping_code: str | None = None
    carriers: tuple[str, ...] = ()
    method: str | None = None
    packaging_notes: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.carriers or self.method or self.packaging_notes)

    @property
    def _for(self) -> str:
        return f" for method {self.shipping_code}" if self.shipping_code else ""

    def carrier_statement(self) -> str:
        """The carrier requirement: "walmart requires carrier FedEx or UPS for method OneDay"."""
        return f"{self.channel_id} requires carrier {_either(self.carriers)}{self._for}"

    def method_statement(self) -> str:
        return f"{self.channel_id} requires ship method {self.method}{self._for}"

    def statement(self) -> str:
        """Everything routing checks, in one sentence."""
        parts = []
        if self.carriers:
            parts.append(f"carrier {_either(self.carriers)}")
        if self.method:
            parts.append(f"ship method {self.method}")
        return f"{self.channel_id} requires {' and '.join(parts)}{self._for}" if parts else ""

    def unmet_by(self, carriers: Sequence[str] | None, ship_methods: Sequence[str] | None) -> str | None:
        """Why a location shipping with `carriers` and offering `ship_methods` (None: any) cannot
        meet these requirements; None when it can. Names compare without regard to case."""
        if self.carriers and carriers is not None and not _folded(carriers) & _folded(self.carriers):
            return f"{self.carrier_statement()} (ships with {', '.join(carriers) or 'none'})"
        if self.method and ship_methods is not None and self.method.lower() not in _folded(ship_methods):
            return f"{self.method_statement()} (offers {', '.join(ship_methods) or 'none'})"
        return None


def _either(names: tuple[str, ...]) -> str:
    ordered = sorted(names, key=str.lower)
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} or {ordered[-1]}"


def _folded(names: Sequence[str]) -> set[str]:
    return {name.strip().lower() for name in names}
