"""B2B portal payloads <-> the canonical model. A portal order is an onX order (mapped by the
onX order mapping the generic storefront uses, `connectors.storefront.mapping`) with the
wholesale fields onX's reference server names on its order: `customerPONumber`,
`paymentTerms`, `shipAfterDate`, `shipCancelByDate`, `markforAddress.locationIdentifier`, and
the portal's own `account` (the buyer), `shipComplete`, `requestedCarrier`,
`routingInstructions` and `casePack` per line. Every portal order is `wholesale`.

Back to the portal: a fulfillment (onX fulfillment with the PO number), the line decisions of
an allocation (`acknowledgement`), and the available-to-sell per buyer account, each account
with its own buffer and allocation share (`settings.accounts`, see `account_quantities`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.base import MappingError
from connectors.json_values import text, utc_time
from connectors.signing import json_type
from connectors.storefront import mapping as onx
from orderloop.model import (
    Address,
    LineDecision,
    MarkFor,
    Order,
    OrderLine,
    OrderType,
    PaymentTerms,
    Shipment,
    WholesaleTerms,
)


def portal_order(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The order itself: a webhook's payload is the Standard Webhooks envelope around it
    (`{"type", "timestamp", "data"}`), a polled one is the order."""
    data = raw.get("data")
    if "type" in raw and isinstance(data, Mapping):
        return data
    return raw


def external_order_id(raw: Mapping[str, Any]) -> str | None:
    return onx.external_order_id(portal_order(raw))


def map_order(
    raw: Mapping[str, Any], *, order_id: str, tenant_id: str, channel_id: str, received_at: datetime
) -> Order:
    """A portal order (or the webhook envelope around it) -> a wholesale `Order`;
    `MappingError` says what is wrong."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the order must be a JSON object, not {json_type(raw)}")
    raw = portal_order(raw)
    order = onx.map_order(raw, order_id=order_id, tenant_id=tenant_id, channel_id=channel_id, received_at=received_at)
    terms = _terms(raw)
    lines = [_with_case_pack(line, item) for line, item in zip(order.line_items, raw["lineItems"], strict=True)]
    carrier = order.shipping_carrier or terms.requested_carrier
    return order.model_copy(
        update={
            "order_type": OrderType.WHOLESALE,
            "wholesale": terms,
            "line_items": lines,
            "shipping_carrier": carrier,
        }
    )


def _terms(raw: Mapping[str, Any]) -> WholesaleTerms:
    po = text(raw.get("customerPONumber"))
    if po is None:
        raise MappingError("customerPONumber is missing: a wholesale order needs the buyer's purchase order number")
    account = raw.get("account")
    account_id = text(account.get("id")) if isinstance(account, Mapping) else None
    if account_id is None:
        raise MappingError("account.id is missing: the buyer's portal account is not known")
    ship_after = _time(raw, "shipAfterDate")
    cancel_by = _time(raw, "shipCancelByDate")
    if ship_after is not None and cancel_by is not None and cancel_by <= ship_after:
        raise MappingError(
            f"shipCancelByDate {raw['shipCancelByDate']} is not after shipAfterDate {raw['shipAfterDate']}"
        )
    complete = raw.get("shipComplete", True)
    if not isinstance(complete, bool):
        raise MappingError(f"shipComplete must be a boolean, not {json_type(complete)}")
    refs = {"accountId": account_id}
    if isinstance(account, Mapping) and text(account.get("name")):
        refs["accountName"] = str(text(account.get("name")))
    return WholesaleTerms(
        customer_po_number=po,
        buyer_account=account_id,
        payment_terms=_payment_terms(raw.get("paymentTerms")),
        ship_after_date=ship_after,
        ship_cancel_by_date=cancel_by,
        ship_complete=complete,
        mark_for=_mark_for(raw.get("markforAddress")),
        requested_carrier=text(raw.get("requestedCarrier")),
        routing_instructions=text(raw.get("routingInstructions")),
        partner_refs=refs,
    )


def _time(raw: Mapping[str, Any], name: str) -> datetime | None:
    value = raw.get(name)
    if value is None:
        return None
    parsed = utc_time(value)
    if parsed is None:
        raise MappingError(f"{name} must be an ISO 8601 date-time, got {value!r}")
    return parsed


def _payment_terms(value: Any) -> PaymentTerms | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MappingError(f"paymentTerms must be an object, not {json_type(value)}")
    try:
        return PaymentTerms.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MappingError(f"paymentTerms.{where}: {first['msg']}") from None


def _mark_for(value: Any) -> MarkFor | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MappingError(f"markforAddress must be an object, not {json_type(value)}")
    location = text(value.get("locationIdentifier"))
    if location is None:
        raise MappingError("markforAddress.locationIdentifier is missing (the retailer's store or DC number)")
    address = Address(**{name: text(value.get(onx._camel(name))) for name in Address.model_fields})
    return MarkFor(location_identifier=location, name=text(value.get("name")), address=address)


def _with_case_pack(line: OrderLine, item: Mapping[str, Any]) -> OrderLine:
    pack = item.get("casePack")
    if pack is None:
        return line
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise MappingError(f"line {line.id}: casePack must be a positive integer, got {pack!r}")
    return line.model_copy(update={"case_pack": pack})


# --- to the portal ------------------------------------------------------------------------------


def fulfillment_body(order: Order, shipment: Shipment) -> dict[str, Any]:
    """The onX fulfillment the portal records, with the buyer's PO number."""
    body = onx.fulfillment_body(order, shipment)
    if order.wholesale is not None:
        body["customerPONumber"] = order.wholesale.customer_po_number
    return body


def acknowledgement_body(order: Order, lines: list[LineDecision]) -> dict[str, Any]:
    """The portal's order acknowledgement: each line's decision (accepted, changed with the
    accepted quantity, rejected with the reason)."""
    po = order.wholesale.customer_po_number if order.wholesale is not None else None
    return {"customerPONumber": po, "lineItems": [line.to_onx() for line in lines]}


class AccountShare(BaseModel):
    """One buyer account's view of the stock: `share` percent of what the channel may sell
    (after the channel's own inventory rules), less `buffer` units, never below zero."""

    model_config = ConfigDict(extra="forbid")

    buffer: int = Field(default=0, ge=0)
    share: Decimal = Field(default=Decimal(100), gt=0, le=100)


def account_shares(settings: Mapping[str, Any]) -> dict[str, AccountShare]:
    """`settings.accounts` of the channel: account id -> its buffer and share; `MappingError`
    (a configuration mistake) with the account named."""
    accounts = settings.get("accounts") or {}
    if not isinstance(accounts, Mapping):
        raise MappingError("settings.accounts must map each account id to its buffer and share")
    shares = {}
    for account, value in accounts.items():
        try:
            shares[str(account)] = AccountShare.model_validate(value or {})
        except (ValidationError, InvalidOperation) as exc:
            raise MappingError(f"settings.accounts.{account}: {exc}") from None
    return shares


def account_quantities(quantities: Mapping[str, int], share: AccountShare) -> dict[str, int]:
    """What one account may order of each SKU."""
    return {
        sku: max(0, math.floor(Decimal(qty) * share.share / 100) - share.buffer)
        for sku, qty in sorted(quantities.items())
    }


def inventory_body(quantities: Mapping[str, int]) -> dict[str, Any]:
    return {"items": [{"sku": sku, "available": int(qty)} for sku, qty in sorted(quantities.items())]}
