"""Personal data and credentials never reach the exchange log: names, emails, phones and street
lines under any of the vendors' key spellings, emails and phone numbers in free text, token
exchanges' secrets in JSON and form bodies; what operators need (ids, SKUs, product names,
cities, dates, error codes) stays."""

from __future__ import annotations

import json

from orderloop.redaction import REDACTED, mask_text, redact, redact_body


def test_personal_fields_are_replaced_under_every_spelling() -> None:
    body = {
        "ShippingAddress": {"Name": "Ann Lee", "AddressLine1": "1 Main St", "City": "Boston", "Phone": "555"},
        "customer": {"firstName": "Ann", "last-name": "Lee", "email": "ann@example.com", "id": 42},
        "billing_address": {"street_1": "2 Side Rd", "zip": "02110", "country_iso2": "US"},
        "line_items": [{"name": "Black tee", "sku": "TSHIRT-BLK-M", "quantity": 2}],
    }
    out = redact(body)
    assert out["ShippingAddress"] == {"Name": REDACTED, "AddressLine1": REDACTED, "City": "Boston", "Phone": REDACTED}
    assert out["customer"] == {"firstName": REDACTED, "last-name": REDACTED, "email": REDACTED, "id": 42}
    assert out["billing_address"] == {"street_1": REDACTED, "zip": "02110", "country_iso2": "US"}
    assert out["line_items"] == [{"name": "Black tee", "sku": "TSHIRT-BLK-M", "quantity": 2}]


def test_free_text_keeps_ids_and_dates_but_not_emails_or_phones() -> None:
    text = "Call +1 (555) 123-4567 or mail ann@example.com about order 1234567890 of 2026-12-04"
    assert mask_text(text) == f"Call {REDACTED} or mail {REDACTED} about order 1234567890 of 2026-12-04"


def test_token_exchanges_lose_their_secrets() -> None:
    grant = redact_body(b"grant_type=refresh_token&refresh_token=r-123&client_secret=s-456", 1000)
    assert grant is not None and "r-123" not in grant and "s-456" not in grant and "grant_type=refresh_token" in grant
    answer = redact_body(b'{"access_token": "a-789", "expires_in": 3600, "code": "ok"}', 1000)
    assert json.loads(answer or "") == {"access_token": REDACTED, "expires_in": 3600, "code": "ok"}


def test_bodies_are_cut_to_the_limit_and_empty_ones_are_none() -> None:
    long = redact_body(json.dumps({"note": "x" * 100}).encode(), 20)
    assert long is not None and len(long) == 21 and long.endswith("…")
    assert redact_body(b"", 20) is None and redact_body(None, 20) is None
    assert redact_body(b"not json: bob@example.com", 100) == f"not json: {REDACTED}"
