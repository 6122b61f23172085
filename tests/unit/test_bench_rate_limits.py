"""The end-to-end benchmark lifts the API rate limits of the channels its orders go through,
and only those; the configuration it rewrites still loads."""

from __future__ import annotations

from pathlib import Path

from bench.bench_e2e import UNTHROTTLED, lift_rate_limits
from orderloop.config import load_config
from orderloop.loopback_stack import loopback_config as copy_of_shipped_config


def test_the_benchmark_lifts_its_channels_rate_limits_and_keeps_the_others(tmp_path: Path) -> None:
    path = copy_of_shipped_config(tmp_path)
    shipped = load_config(path)

    lifted = lift_rate_limits(path, UNTHROTTLED)

    assert lifted == {"storefront": 20, "wms": 50}
    config = load_config(path)
    for channel in config.channels:
        expected = None if channel.id in UNTHROTTLED else shipped.channel(channel.id).rate_limit_per_second
        assert channel.rate_limit_per_second == expected, channel.id
    assert config.channel("shipbob").rate_limit_per_second == 2.5
    # Everything else survives the rewrite.
    assert config.channel("shopify").settings == shipped.channel("shopify").settings
    assert config.channel("storefront").ship_by_sla == shipped.channel("storefront").ship_by_sla
