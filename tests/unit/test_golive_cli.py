"""`orderloop channels golive plan/expand/show` on a ledger with a reservation history: the
velocity ranking (SKUs without history last), the stored rollout with who, and the errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderloop.cli import app
from orderloop.config import load_config
from orderloop.golive import GoLiveError, parse_share, rank, tranche
from orderloop.ledger import Cause, CauseKind, Ledger, ReservationLine, RolloutRow, RolloutStage
from orderloop.ledger.base import utc_now
from orderloop.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "orderloop.yaml")
# Units reserved per SKU (10 SKUs in stock; the last four never sold).
SOLD = {"S1": 30, "S2": 12, "S3": 6, "S4": 3, "S5": 2, "S6": 1}
CATALOGUE = [*SOLD, "U1", "U2", "U3", "U4"]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("ORDERLOOP_DATABASE_URL", url)
    get_settings.cache_clear()

    async def seed() -> None:
        ledger = await Ledger.open(url)
        try:
            for sku in CATALOGUE:
                await ledger.receive(sku, "east", 100, Cause(kind=CauseKind.OPERATOR, ref="tests"))
            for sku, units in SOLD.items():
                order = f"order-{sku}"
                line = ReservationLine(line_id="1", sku=sku, location_id="east", quantity=units)
                assert (await ledger.reserve(order, [line], Cause(kind=CauseKind.ORDER, ref=order))).reserved
        finally:
            await ledger.close()

    asyncio.run(seed())
    yield url
    get_settings.cache_clear()


def rollout(url: str, channel: str) -> RolloutRow:
    async def run() -> RolloutRow:
        ledger = await Ledger.open(url)
        try:
            return await ledger.channel_rollout(channel, None)
        finally:
            await ledger.close()

    return asyncio.run(run())


def golive(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["channels", "golive", *args, "--config", CONFIG], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_ranking_by_velocity_puts_skus_without_history_last(database: str) -> None:
    async def run() -> list[str]:
        ledger = await Ledger.open(database)
        try:
            ranked = await rank(ledger, utc_now())
        finally:
            await ledger.close()
        assert ranked[0].velocity == pytest.approx(30 / 30)
        assert ranked[0].share == pytest.approx(30 / 54)
        assert ranked[0].stock == 70
        assert [r.units for r in ranked[6:]] == [0, 0, 0, 0]
        return [r.sku for r in tranche(ranked, 0.2)]

    assert asyncio.run(run()) == ["S1", "S2"]


def test_parse_share() -> None:
    assert parse_share("20%") == pytest.approx(0.2)
    assert parse_share("50") == pytest.approx(0.5)
    for bad in ["0%", "120%", "twenty", "-5%", ""]:
        with pytest.raises(GoLiveError):
            parse_share(bad)


def test_plan_shows_the_tranche_and_stores_it_with_who(database: str) -> None:
    code, out = golive("plan", "shopify", "--top", "20%", "--yes", "--operator", "ada")
    assert code == 0, out
    assert "S1" in out and "S2" in out and "S3" not in out
    assert "1.00" in out and "55.6%" in out  # S1: 30 units over 30 days, 30 of 54 units
    assert "stored: stage limited, 2 SKUs, by ada" in out
    stored = rollout(database, "shopify")
    assert (stored.stage, stored.skus, stored.updated_by) == (RolloutStage.LIMITED, ["S1", "S2"], "ada")


def test_plan_without_yes_asks_and_a_no_stores_nothing(database: str) -> None:
    result = CliRunner().invoke(
        app, ["channels", "golive", "plan", "shopify", "--top", "20%", "--config", CONFIG], input="n\n"
    )
    assert result.exit_code == 1 and "not stored" in result.output
    assert rollout(database, "shopify").stage is RolloutStage.FULL  # seeded from the file: no skus


def test_expand_keeps_the_live_skus_then_all_makes_it_full(database: str) -> None:
    assert golive("plan", "shopify", "--top", "10%", "--yes", "--operator", "ada")[0] == 0
    assert rollout(database, "shopify").skus == ["S1"]
    code, out = golive("expand", "shopify", "--top", "50%", "--yes", "--operator", "bo")
    assert code == 0, out
    assert rollout(database, "shopify").skus == ["S1", "S2", "S3", "S4", "S5"]
    code, out = golive("expand", "shopify", "--all", "--yes", "--operator", "cy")
    assert code == 0, out
    assert rollout(database, "shopify").stage is RolloutStage.FULL
    code, out = golive("show", "shopify")
    assert code == 0, out
    assert "stage full" in out
    # Who did what, from the JSON (the table may fold a long name on a narrow terminal).
    code, out = golive("show", "shopify", "--json")
    assert code == 0, out
    changes = json.loads(out)["changes"]
    assert [(c["operator"], c["action"]) for c in changes] == [
        ("orderloop.yaml", "seed"),
        ("ada", "plan"),
        ("bo", "expand"),
        ("cy", "expand"),
    ]
    assert (changes[-1]["stage_before"], changes[-1]["stage_after"]) == ("limited", "full")
    # Already full: nothing left to expand.
    code, out = golive("expand", "shopify", "--all", "--yes")
    assert code == 2 and "already live on every SKU" in out


def test_errors_unknown_channel_bad_percentage_and_missing_choice(database: str) -> None:
    code, out = golive("plan", "nowhere", "--yes")
    assert code == 2 and "no selling channel 'nowhere'" in out
    code, out = golive("plan", "shopify", "--top", "150%", "--yes")
    assert code == 2 and "bad percentage '150%'" in out
    code, out = golive("expand", "shopify", "--yes")
    assert code == 2 and "either --top N% or --all" in out
    code, out = golive("show", "wms")  # a fulfilment channel, not a selling one
    assert code == 2 and "no selling channel 'wms'" in out


def test_show_seeds_the_rollout_from_the_files_skus(database: str) -> None:
    skus = load_config(CONFIG).channel("walmart").skus
    assert skus
    code, out = golive("show", "walmart")
    assert code == 0, out
    assert "stage limited" in out and all(sku in out for sku in skus)
    assert rollout(database, "walmart").skus == sorted(skus)
