"""A selling channel's return policy, the `returns:` block of its entry in `orderloop.yaml`:

```yaml
returns:
  window_days: 30              # a return is accepted this many days after...
  window_from: shipment        # ...the shipment (or `delivery`, where the 3PL reports it)
  returnable_skus: [TSHIRT-BLK-M]  # left out: every SKU
  authorise: auto              # or `review`: an operator authorises
  receiving: original          # the location that shipped it, or a location id
  receiving_rules:             # rule cards, first match wins, before `receiving`
    - skus: [MUG-11OZ]
      location: east
  restock: {sellable: restock, damaged: non_sellable, wrong_item: non_sellable, missing: discard}
  not_received_after: 14d      # after the label; then a notice and...
  not_received_action: close   # ...the return closes (or `keep_waiting`)
  exchange_on: authorised      # when an exchange's replacement order starts (or `received`)
```
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field

from orderloop.config_values import Duration, Identifier, Strict
from orderloop.returns_model import Disposition, ReturnCondition

ORIGINAL_LOCATION = "original"


class WindowStart(StrEnum):
    SHIPMENT = "shipment"
    DELIVERY = "delivery"


class AuthoriseMode(StrEnum):
    AUTO = "auto"
    REVIEW = "review"


class NotReceivedAction(StrEnum):
    CLOSE = "close"
    KEEP_WAITING = "keep_waiting"


class ExchangeOn(StrEnum):
    AUTHORISED = "authorised"
    RECEIVED = "received"


DEFAULT_RESTOCK: dict[ReturnCondition, Disposition] = {
    ReturnCondition.SELLABLE: Disposition.RESTOCK,
    ReturnCondition.DAMAGED: Disposition.NON_SELLABLE,
    ReturnCondition.WRONG_ITEM: Disposition.NON_SELLABLE,
    ReturnCondition.MISSING: Disposition.DISCARD,
}


class ReceivingRule(Strict):
    """A rule card: returns of these SKUs (or from these original locations) go to `location`."""

    skus: list[str] | None = Field(default=None, min_length=1)
    from_locations: list[Identifier] | None = Field(default=None, min_length=1)
    location: Identifier

    def matches(self, skus: set[str], original: str | None) -> bool:
        if self.skus is not None and not skus <= set(self.skus):
            return False
        return self.from_locations is None or original in self.from_locations


class ReturnPolicyConfig(Strict):
    window_days: int = Field(default=30, gt=0)
    window_from: WindowStart = WindowStart.SHIPMENT
    returnable_skus: list[str] | None = None
    authorise: AuthoriseMode = AuthoriseMode.REVIEW
    receiving: str = ORIGINAL_LOCATION
    receiving_rules: list[ReceivingRule] = Field(default_factory=list)
    restock: dict[ReturnCondition, Disposition] = Field(default_factory=dict)
    not_received_after: Duration = timedelta(days=14)
    not_received_action: NotReceivedAction = NotReceivedAction.KEEP_WAITING
    exchange_on: ExchangeOn = ExchangeOn.AUTHORISED

    def disposition(self, condition: ReturnCondition) -> Disposition:
        return self.restock.get(condition, DEFAULT_RESTOCK[condition])

    def receiving_location(self, skus: set[str], original: str | None) -> str | None:
        """Where the return is received: the first matching rule card, else `receiving` (None:
        the original location is unknown)."""
        for rule in self.receiving_rules:
            if rule.matches(skus, original):
                return rule.location
        return original if self.receiving == ORIGINAL_LOCATION else self.receiving

    def named_locations(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(path under `returns`, location id) of every location the policy names, for the loader."""
        named: list[tuple[tuple[str | int, ...], str]] = []
        if self.receiving != ORIGINAL_LOCATION:
            named.append((("receiving",), self.receiving))
        for i, rule in enumerate(self.receiving_rules):
            named.append((("receiving_rules", i, "location"), rule.location))
            for j, loc in enumerate(rule.from_locations or []):
                named.append((("receiving_rules", i, "from_locations", j), loc))
        return named
