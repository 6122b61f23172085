"""Personal data taken out of vendor bodies before they are stored for operators (the exchange
log): people's names, emails, phone numbers and street lines, whatever the vendor calls them;
and the credentials of token exchanges (access and refresh tokens, client secrets).

Two passes over a decoded JSON body: a value under a key that names personal data is replaced
whole (keys compared without case, `_` or `-`, so `first_name`, `firstName` and `FirstName` are
one key); any other string still has email addresses and phone-like digit runs masked, for the
free text a vendor puts in a note or an error message. Cities, regions, postcodes and countries
stay: operators need them to judge an address problem and they name no one. A body that is not
JSON is masked as text, a form body (an OAuth grant) field by field."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

REDACTED = "[redacted]"

# Normalised key names (lower case, no `_` or `-`) of the fields that identify a person. Taken
# from the onX Address and Customer fields and the vendors' payloads the connectors map
# (Shopify, BigCommerce, Amazon SP-API, Walmart, TikTok Shop, ShipBob, ShipHero, Logiwa,
# RyderShip, the storefront and WMS).
_PERSONAL_KEYS = frozenset(
    {
        "name",
        "firstname",
        "lastname",
        "fullname",
        "middlename",
        "buyername",
        "recipientname",
        "customername",
        "shipname",
        "contactname",
        "billingname",
        "shippingname",
        "email",
        "emailaddress",
        "buyeremail",
        "customeremail",
        "contactemail",
        "phone",
        "phonenumber",
        "mobile",
        "mobilephone",
        "telephone",
        "buyerphone",
        "address1",
        "address2",
        "address3",
        "addressline1",
        "addressline2",
        "addressline3",
        "addressdetail",
        "fulladdress",
        "street",
        "street1",
        "street2",
        "street3",
        "streetaddress",
        "line1",
        "line2",
        "line3",
    }
)
# Credentials a token exchange carries in its body (OAuth grants and their answers): never kept.
_SECRET_KEYS = frozenset(
    {
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "token",
        "clientsecret",
        "clientid",
        "password",
        "secret",
        "apikey",
        "authorization",
        "appsecret",
        "accesskey",
        "signature",
    }
)
# Keys whose value is a product or place, not a person, though a vendor calls it "name".
_NOT_PERSONAL_PARENTS = frozenset({"lineitems", "items", "products", "orderlines", "lines", "skus", "warehouse"})

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Seven or more digits written with the separators phone numbers have. A bare digit run is an
# id (orders, parcels) and stays; so does a date.
_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
_FORM = re.compile(r"[\w.%+~-]+=[^&\s]*(&[\w.%+~-]+=[^&\s]*)*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def mask_text(text: str) -> str:
    """Email addresses and phone-like numbers in free text, masked."""
    text = _EMAIL.sub(REDACTED, text)
    return _PHONE.sub(_phone, text)


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    digits = sum(c.isdigit() for c in found)
    separated = any(c in found for c in "+( -")
    return REDACTED if digits >= 7 and separated and not _DATE.search(found) else found


def redact(value: Any, parent: str = "") -> Any:
    """A copy of a decoded JSON value with personal data replaced by `[redacted]`."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            normal = _key(str(key))
            if normal in _SECRET_KEYS and item not in (None, ""):
                out[key] = REDACTED
            elif normal in _PERSONAL_KEYS and item not in (None, "") and not isinstance(item, dict | list):
                product_name = normal == "name" and parent in _NOT_PERSONAL_PARENTS
                out[key] = item if product_name else REDACTED
            else:
                out[key] = redact(item, normal)
        return out
    if isinstance(value, list):
        return [redact(item, parent) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _form(text: str) -> str:
    """An `application/x-www-form-urlencoded` body (an OAuth token request), redacted."""
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
    return urllib.parse.urlencode(list(redact(dict(pairs)).items()))


def redact_body(raw: bytes | str | None, limit: int) -> str | None:
    """A body as stored: decoded, redacted, re-encoded, cut to `limit` characters."""
    if raw is None or raw in (b"", ""):
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        decoded = json.loads(text)
    except ValueError:
        cleaned = _form(text) if _FORM.fullmatch(text) else mask_text(text)
    else:
        cleaned = json.dumps(redact(decoded), separators=(",", ":"), ensure_ascii=False)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"
