"""The Logiwa client's reading of Logiwa's answers, against canned responses: the 403 whose text
holds the delay, `Success: false` refusals at HTTP 200, the token's HTTP 200 `invalid_grant`,
refresh at expiry and after a 401, and paging."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from connectors.base import PermanentError, RateLimitedError, RejectedError, RetryableError
from connectors.logiwa.client import LogiwaClient, logiwa_errors
from tests.connectors.logiwa.conftest import BASE_URL, fixture

Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(api: Handler, clock: Clock | None = None, token: Handler | None = None) -> LogiwaClient:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return (token or (lambda _: httpx.Response(200, json=fixture("token.json"))))(request)
        return api(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(route), base_url=BASE_URL)
    return LogiwaClient(BASE_URL, None, lambda: "user", lambda: "secret", http, clock or Clock())


async def test_throttled_403_delay_comes_from_its_text() -> None:
    logiwa = client(lambda _: httpx.Response(403, json=fixture("error_throttled.json")))

    with pytest.raises(RateLimitedError, match="throttled by Logiwa") as err:
        await logiwa.call("WarehouseOrderSearch", {}, "search")

    assert err.value.retry_after == 0.85


async def test_a_403_without_the_throttle_text_is_permanent() -> None:
    logiwa = client(lambda _: httpx.Response(403, json={"Message": "User has no access to this warehouse."}))

    with pytest.raises(PermanentError, match="no access") as err:
        await logiwa.call("WarehouseOrderSearch", {}, "search")
    assert not isinstance(err.value, RetryableError)


async def test_success_false_at_http_200_is_a_refusal_with_logiwas_words() -> None:
    refusal = fixture("error_refused.json")

    with pytest.raises(RejectedError, match="Inventory item 'NO-SUCH-SKU' not found") as rejected:
        await client(lambda _: httpx.Response(200, json=refusal)).insert_shipment_orders([{}], "create")
    assert rejected.value.status_code == 200
    with pytest.raises(PermanentError) as permanent:
        await client(lambda _: httpx.Response(200, json=refusal)).call("CancelShipmentOrder", {}, "cancel")
    assert not isinstance(permanent.value, RejectedError)
    transient = {"Success": False, "Errors": ["Execution timeout expired, please try again."]}
    with pytest.raises(RetryableError):
        await client(lambda _: httpx.Response(200, json=transient)).call("WarehouseOrderSearch", {}, "search")


async def test_invalid_grant_at_http_200_is_a_permanent_error_naming_the_credentials() -> None:
    logiwa = client(
        lambda _: httpx.Response(200, json={"Success": True}),
        token=lambda _: httpx.Response(200, json=fixture("token_invalid_grant.json")),
    )

    with pytest.raises(PermanentError, match=r"user name or password is incorrect.*username and password"):
        await logiwa.call("LookUp", {}, "lookup")


async def test_token_is_a_form_password_grant_reused_until_it_expires() -> None:
    clock = Clock()
    grants: list[httpx.Request] = []

    def token(request: httpx.Request) -> httpx.Response:
        grants.append(request)
        return httpx.Response(200, json=fixture("token.json"))

    logiwa = client(lambda _: httpx.Response(200, json={"Success": True}), clock, token)
    await logiwa.call("LookUp", {}, "lookup")
    await logiwa.call("LookUp", {}, "lookup")
    assert len(grants) == 1
    assert grants[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert grants[0].content == b"grant_type=password&username=user&password=secret"

    clock.now += fixture("token.json")["expires_in"]
    await logiwa.call("LookUp", {}, "lookup")
    assert len(grants) == 2


async def test_a_401_gets_a_new_token_and_the_call_once_more() -> None:
    answers = [httpx.Response(401, json=fixture("error_denied.json")), httpx.Response(200, json={"Success": True})]
    seen: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return answers.pop(0)

    logiwa = client(api)
    assert (await logiwa.call("LookUp", {}, "lookup"))["Success"] is True
    assert len(seen) == 2 and logiwa.tokens.grants == 2

    denied = client(lambda _: httpx.Response(401, json=fixture("error_denied.json")))
    with pytest.raises(PermanentError, match="Authorization has been denied"):
        await denied.call("LookUp", {}, "lookup")


async def test_pages_are_read_until_a_short_page() -> None:
    indexes: list[int] = []

    def api(request: httpx.Request) -> httpx.Response:
        index = json.loads(request.content)["SelectedPageIndex"]
        indexes.append(index)
        rows = [{"Code": f"SKU-{index}-{n}"} for n in range(200 if index < 3 else 5)]
        return httpx.Response(200, json={"Success": True, "Data": rows, "PageCount": 3})

    items = await client(api).inventory("ACME")

    assert indexes == [1, 2, 3] and len(items) == 405


def test_reasons_read_each_of_logiwas_error_shapes() -> None:
    assert logiwa_errors(fixture("error_refused.json")).startswith("Order order/storefront/1001/sr1: line 1")
    assert logiwa_errors(fixture("error_denied.json")) == "Authorization has been denied for this request."
    assert logiwa_errors({".error": "invalid_grant", ".error_description": "Username cannot be empty."}) == (
        "Username cannot be empty."
    )
