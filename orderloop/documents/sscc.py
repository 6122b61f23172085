"""SSCC-18, the Serial Shipping Container Code a GS1-128 carton label and an EDI 856 carry
(GS1 General Specifications, section 2.2.1: AI (00), 18 digits: an extension digit, the
company prefix and serial reference together 16 digits, and a mod-10 check digit).

A carton's SSCC is derived from a key Orderloop already has (the parcel's shipment id), so a
retried 856 or a reprinted label gives the same number (`sscc_for_key`: the key's SHA-256
reduced to the serial digits the prefix leaves). Hashing can collide (with a 7-digit prefix,
9 serial digits: an even chance after about 37,000 cartons), so a brand that ships more under
one prefix allocates serials from a counter and calls `sscc` with them."""

from __future__ import annotations

import hashlib

SSCC_LENGTH = 18


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of `digits` (weights 3, 1, 3, ... from the right)."""
    if not digits.isdigit():
        raise ValueError(f"GS1 data must be digits, got {digits!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def is_valid_sscc(code: str) -> bool:
    return len(code) == SSCC_LENGTH and code.isdigit() and gs1_check_digit(code[:-1]) == int(code[-1])


def sscc(company_prefix: str, serial: int, extension_digit: int = 0) -> str:
    """The SSCC for `serial` under the brand's GS1 company prefix (6 to 12 digits)."""
    if not company_prefix.isdigit() or not 6 <= len(company_prefix) <= 12:
        raise ValueError(f"a GS1 company prefix is 6 to 12 digits, got {company_prefix!r}")
    if not 0 <= extension_digit <= 9:
        raise ValueError(f"the extension digit is 0-9, got {extension_digit}")
    width = 16 - len(company_prefix)
    if not 0 <= serial < 10**width:
        raise ValueError(f"serial {serial} does not fit the {width} digits prefix {company_prefix} leaves")
    body = f"{extension_digit}{company_prefix}{serial:0{width}d}"
    return body + str(gs1_check_digit(body))


def sscc_for_key(company_prefix: str, key: str, extension_digit: int = 0) -> str:
    """A stable SSCC for `key` (e.g. a shipment id): the same key always gives the same code."""
    width = 16 - len(company_prefix)
    serial = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 10**width
    return sscc(company_prefix, serial, extension_digit)
