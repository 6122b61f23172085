"""The sandbox kit's route tables, resource stores and pages on their own: a handler gets its
path, query and JSON body, a dependency's headers join its answer, a vendor's own error and its
answer to a body that is not JSON pass through as they are; a store assigns ids, finds or refuses
in the vendor's words, and lists since an id or an update time; each page style pages to the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from connectors.sandbox_kit import (
    Call,
    Recorder,
    ResourceStore,
    Route,
    RouteTable,
    SandboxError,
    VendorError,
    create_sandbox_app,
    cursor_state,
    cursor_token,
    install_error_handler,
    install_routes,
    keyset_page,
    numbered,
    numbered_page,
    offset_page,
)


def vendor_missing(resource_id: Any) -> VendorError:
    return VendorError(404, {"message": f"Thing {resource_id} was not found."})


def build_app() -> FastAPI:
    app = create_sandbox_app("kit tables", Recorder())
    install_error_handler(app, lambda status, message: {"fault": message, "code": status})
    things: ResourceStore[dict[str, Any]] = ResourceStore(iter(range(100, 200)), missing=vendor_missing)

    async def count_call(request: Request, response: Response) -> None:
        response.headers["x-calls-left"] = "9"

    def add(call: Call) -> dict[str, Any]:
        return things.add({"id": things.new_id(), "name": call.body["name"], "loud": call.flag("loud")})

    install_routes(
        app,
        RouteTable(
            prefix="/v1",
            dependencies=(count_call,),
            invalid_json=lambda reason: VendorError(400, {"body": [reason]}),
            routes=(
                Route("POST", "/things", add, "add a thing", status=201),
                Route("GET", "/things/{thing_id:int}", lambda c: things.find(c.path["thing_id"]), "one thing"),
                Route("GET", "/things", lambda c: {"things": list(things.values()), "q": c.query.get("q")}, "all"),
            ),
        ),
    )
    return app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = build_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit") as client:
        yield client


async def test_a_handler_gets_its_path_query_and_body_and_its_status(http: httpx.AsyncClient) -> None:
    created = await http.post("/v1/things", params={"loud": "yes"}, json={"name": "a"})
    found = await http.get("/v1/things/100")
    listed = await http.get("/v1/things", params={"q": "x"})

    assert created.status_code == 201
    assert created.json() == {"id": 100, "name": "a", "loud": True}
    assert found.json() == {"id": 100, "name": "a", "loud": True}
    assert listed.json() == {"things": [found.json()], "q": "x"}


async def test_headers_a_dependency_sets_join_the_answer(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/things")

    assert response.headers["x-calls-left"] == "9"


async def test_vendor_errors_and_bad_bodies_answer_in_the_vendors_words(http: httpx.AsyncClient) -> None:
    missing = await http.get("/v1/things/7")
    not_json = await http.post("/v1/things", content=b"{nope")
    bad_flag = await http.post("/v1/things", params={"loud": "maybe"}, json={"name": "b"})
    unserved = await http.put("/v1/things")

    assert (missing.status_code, missing.json()) == (404, {"message": "Thing 7 was not found."})
    assert not_json.status_code == 400
    assert not_json.json()["body"][0].startswith("body is not valid JSON")
    assert (bad_flag.status_code, bad_flag.json()) == (422, {"error": "loud must be true or false, not 'maybe'"})
    assert (unserved.status_code, unserved.json()) == (405, {"fault": "Method Not Allowed", "code": 405})


def test_a_route_has_a_handler_or_an_endpoint() -> None:
    async def endpoint() -> None:
        return None

    with pytest.raises(ValueError, match="give a handler or an endpoint"):
        Route("GET", "/x")
    with pytest.raises(ValueError, match="give a handler or an endpoint"):
        Route("GET", "/x", lambda c: None, endpoint=endpoint)


def test_a_store_assigns_ids_finds_and_lists_like_a_mapping() -> None:
    store: ResourceStore[dict[str, Any]] = ResourceStore(numbered("T-{:03d}"))
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for minutes in (5, 1, 3):
        store.add({"id": store.new_id(), "at": start + timedelta(minutes=minutes)})

    assert list(store) == ["T-001", "T-002", "T-003"]
    assert store == {key: store[key] for key in ("T-001", "T-002", "T-003")}
    assert store.since_id("T-001") == [store["T-002"], store["T-003"]]
    since = store.updated_since(start + timedelta(minutes=2), lambda row: row["at"])
    assert [row["id"] for row in since] == ["T-003", "T-001"]
    assert [row["id"] for row in store.updated_since(None, lambda row: row["at"])] == ["T-002", "T-003", "T-001"]
    with pytest.raises(SandboxError) as error:
        store.find("T-009")
    assert error.value.status == 404


def test_offset_pages_end_and_refuse_what_is_not_an_offset() -> None:
    rows = list(range(5))

    assert offset_page(rows, None, 2) == ([0, 1], "2")
    assert offset_page(rows, "4", 2) == ([4], None)
    with pytest.raises(SandboxError) as error:
        offset_page(rows, "abc", 2)
    assert (error.value.status, error.value.message) == (400, "invalid cursor 'abc'")


def test_keyset_pages_tell_what_lies_before_and_after() -> None:
    rows = [{"id": i} for i in (10, 20, 30, 40)]

    assert keyset_page(rows, 2) == (rows[:2], False, True)
    assert keyset_page(rows, 2, after=20) == (rows[2:], True, False)
    assert keyset_page(rows, 2, before=30) == (rows[:2], False, True)
    assert keyset_page(rows, 2, after=40) == ([], False, False)


def test_numbered_pages_and_cursor_tokens() -> None:
    assert numbered_page(list(range(5)), 3, 2) == ([4], 3)
    assert numbered_page([], 1, 50) == ([], 1)
    token = cursor_token({"f": {"status": "any"}, "after": 7})
    assert "=" not in token
    assert cursor_state(token, lambda: SandboxError(400, "bad")) == {"f": {"status": "any"}, "after": 7}
    with pytest.raises(SandboxError):
        cursor_state("not-a-token!", lambda: SandboxError(400, "bad"))
