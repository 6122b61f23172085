"""Configuration loading: the shipped sandbox file is valid, and a bad file is refused with the
file, the line, the field and the reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from orderloop.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = (ROOT / "orderloop.yaml").read_text()


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "brand.yaml")
    return str(info.value)


def test_shipped_sandbox_configuration_is_valid() -> None:
    config = load_config(ROOT / "orderloop.yaml")
    assert config.channel("storefront").hold_window == timedelta(seconds=2)
    assert config.channel("storefront").ship_by_sla == timedelta(hours=48)
    assert {loc.fulfillment_channel for loc in config.locations} <= {c.id for c in config.channels}


def test_bad_duration_names_file_line_field_and_reason() -> None:
    message = refused(SANDBOX.replace("hold_window: 2s", "hold_window: soon"))
    line = next(i for i, text in enumerate(SANDBOX.splitlines(), 1) if "hold_window: 2s" in text)
    assert f"brand.yaml:{line}: channels[0].hold_window: invalid duration 'soon'" in message


def test_unknown_field_is_refused() -> None:
    message = refused(SANDBOX.replace("    rate_limit_per_second: 20\n", "    rate_limit_per_secnd: 20\n"))
    assert "channels[0].rate_limit_per_secnd: Extra inputs are not permitted" in message


def test_loader_leaves_connector_types_to_the_registry() -> None:
    # tests/connectors/test_registry.py refuses the unknown type where connectors are built.
    assert parse_config(SANDBOX.replace("type: storefront", "type: magento")).channels[0].type == "magento"


def test_location_must_ship_through_a_fulfillment_channel() -> None:
    message = refused(
        SANDBOX.replace(
            'fulfillment_channel: wms\n    country: US\n    postal_code: "07001"',
            'fulfillment_channel: storefront\n    country: US\n    postal_code: "07001"',
        )
    )
    assert "locations[0].fulfillment_channel: channel 'storefront' is not a fulfillment channel" in message


def test_duplicate_channel_ids_are_refused() -> None:
    message = refused(SANDBOX.replace("  - id: wms\n    type: wms", "  - id: storefront\n    type: wms"))
    assert "duplicate channel id(s): storefront" in message


def test_invalid_yaml_and_missing_file_are_explained(tmp_path: Path) -> None:
    assert "not valid YAML" in refused("channels: [unclosed")
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "absent.yaml")


def test_missing_credential_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(SANDBOX)
    monkeypatch.delenv("ORDERLOOP_STOREFRONT_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="ORDERLOOP_STOREFRONT_WEBHOOK_SECRET, which is not set"):
        config.channel("storefront").credential("webhook_secret")
    monkeypatch.setenv("ORDERLOOP_STOREFRONT_WEBHOOK_SECRET", "s3cret")
    assert config.channel("storefront").credential("webhook_secret") == "s3cret"


# --- routing ---------------------------------------------------------------------------------

ROUTING = SANDBOX[SANDBOX.index("routing:\n") :]


def with_routing(rules: str, sku_tags: str = "") -> str:
    """The sandbox file with its routing section replaced by `rules` (YAML list items)."""
    return SANDBOX.replace(ROUTING, f"routing:\n{sku_tags}  rules:\n{rules}")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_sandbox_routes_storefront_orders_east_then_west() -> None:
    from orderloop.routing import RoutingContext, route
    from tests.routing.builders import NOW, make_order

    config = load_config(ROOT / "orderloop.yaml")
    order = make_order([("MUG-11OZ", 1)])
    both = route(order, config, {("MUG-11OZ", "east"): 5, ("MUG-11OZ", "west"): 5}, RoutingContext(now=NOW))
    only_west = route(order, config, {("MUG-11OZ", "west"): 5}, RoutingContext(now=NOW))
    assert [a.location_id for a in both.assignments] == ["east"]
    assert [a.location_id for a in only_west.assignments] == ["west"]
    assert both.rule == "storefront-east-first"


def test_rule_naming_an_unknown_location_is_refused_with_rule_field_and_line() -> None:
    text = with_routing(
        "    - name: east-coast\n      when: {channels: [storefront]}\n      locations: [east, north]\n"
    )
    message = refused(text)
    line = line_of(text, "locations: [east, north]")
    assert f"brand.yaml:{line}: routing.rules[0].locations[1]: rule 'east-coast': unknown location 'north'" in message


def test_fallback_naming_an_unknown_location_is_refused() -> None:
    text = with_routing("    - name: r1\n      fallback:\n        - locations: [south]\n")
    message = refused(text)
    line = line_of(text, "- locations: [south]")
    assert (
        f"brand.yaml:{line}: routing.rules[0].fallback[0].locations[0]: rule 'r1': unknown location 'south'" in message
    )


def test_rule_naming_an_unknown_or_non_selling_channel_is_refused() -> None:
    text = with_routing("    - name: r1\n      when:\n        channels: [etsy, wms]\n")
    message = refused(text)
    line = line_of(text, "channels: [etsy, wms]")
    assert f"brand.yaml:{line}: routing.rules[0].when.channels[0]: rule 'r1': unknown channel 'etsy'" in message
    assert f"brand.yaml:{line}: routing.rules[0].when.channels[1]: rule 'r1': 'wms' is not a selling channel" in message


def test_unknown_sort_strategy_and_split_policy_are_refused_with_the_choices() -> None:
    text = with_routing("    - name: r1\n      sort: nearest\n      split: sometimes\n")
    message = refused(text)
    assert (
        f"brand.yaml:{line_of(text, 'sort: nearest')}: routing.rules[0].sort[0]: rule 'r1': Input should be "
        "'ranked', 'closest', 'most_stock' or 'fewest_shipments'" in message
    )
    assert (
        f"brand.yaml:{line_of(text, 'split: sometimes')}: routing.rules[0].split: rule 'r1': Input should be "
        "'never', 'minimise' or 'by_line'" in message
    )


def test_unknown_location_filter_and_order_type_are_refused() -> None:
    text = with_routing("    - name: r1\n      when: {order_types: [backorder]}\n      filters: [open, weather]\n")
    message = refused(text)
    assert "routing.rules[0].when.order_types[0]: rule 'r1': Input should be 'standard', 'pre_order'" in message
    assert (
        "routing.rules[0].filters[1]: rule 'r1': Input should be 'open', 'capacity', 'channel' or 'region'" in message
    )


def test_empty_order_value_range_can_never_match() -> None:
    text = with_routing("    - name: big\n      when:\n        order_value: {min: 500, max: 100}\n")
    message = refused(text)
    line = line_of(text, "order_value: {min: 500, max: 100}")
    assert (
        f"brand.yaml:{line}: routing.rules[0].when.order_value: rule 'big': can never match: "
        "no order value is at least 500 and below 100" in message
    )


def test_empty_list_condition_can_never_match() -> None:
    message = refused(with_routing("    - name: r1\n      when: {tags: []}\n"))
    assert "routing.rules[0].when.tags: rule 'r1': an empty list never matches; leave `tags` out" in message


def test_rule_after_a_catch_all_for_its_channels_can_never_match() -> None:
    text = with_routing(
        "    - name: everything\n      locations: [east]\n"
        "    - name: storefront-vip\n      when: {channels: [storefront], tags: [vip]}\n"
    )
    message = refused(text)
    line = line_of(text, "when: {channels: [storefront], tags: [vip]}")
    assert (
        f"brand.yaml:{line}: routing.rules[1].when: rule 'storefront-vip': can never match: rule 'everything' "
        "(rules[0]) comes first and takes every order of channel(s) storefront" in message
    )


def test_a_catch_all_only_shadows_rules_whose_channels_it_covers() -> None:
    from pydantic import ValidationError

    from orderloop.config import OrderloopConfig
    from tests.routing.builders import location, make_config

    locations = [location("east", "07001")]
    catch_all = {"name": "storefront-all", "when": {"channels": ["storefront"]}}
    # With a second selling channel, a later global rule still takes that channel's orders.
    config = make_config(locations, [catch_all, {"name": "global"}], selling=("storefront", "b2b"))
    assert [r.name for r in config.routing.rules] == ["storefront-all", "global"]
    assert isinstance(config, OrderloopConfig)
    # With storefront the only selling channel, the global rule could never match.
    with pytest.raises(ValidationError) as info:
        make_config(locations, [catch_all, {"name": "global"}], selling=("storefront",))
    assert "rule 'global': can never match: rule 'storefront-all' (rules[0])" in str(info.value)


def test_rule_whose_locations_are_all_closed_to_its_channel_can_never_ship() -> None:
    text = with_routing("    - name: r1\n      when: {channels: [storefront]}\n      locations: [east]\n").replace(
        '    postal_code: "07001"\n', '    postal_code: "07001"\n    exclude_channels: [storefront]\n'
    )
    message = refused(text)
    line = line_of(text, "      locations: [east]")
    assert (
        f"brand.yaml:{line}: routing.rules[0].locations: rule 'r1': can never ship: "
        "every candidate location is closed to channel(s) storefront" in message
    )


def test_rule_for_a_country_no_candidate_serves_can_never_ship() -> None:
    us_only = with_routing("    - name: canada\n      when: {countries: [CA]}\n      locations: [east, west]\n")
    for postal in ('"07001"', '"89501"'):
        us_only = us_only.replace(f"postal_code: {postal}\n", f"postal_code: {postal}\n    serves: [{{country: US}}]\n")
    message = refused(us_only)
    assert "routing.rules[0].locations: rule 'canada': can never ship: no candidate location serves CA" in message
    # Without the region filter the rule may ship anywhere, so it is accepted.
    parse_config(us_only.replace("      locations: [east, west]\n", "      filters: [open]\n"))


def test_unknown_sku_tag_and_duplicate_rule_names_are_refused() -> None:
    text = with_routing(
        "    - name: r1\n      when: {sku_tags: [fragile, hazmat]}\n    - name: r1\n      when: {tags: [x]}\n",
        sku_tags="  sku_tags:\n    fragile: [POSTER-*]\n",
    )
    message = refused(text)
    assert "routing.rules[0].when.sku_tags[1]: rule 'r1': unknown SKU tag 'hazmat' (fragile)" in message
    assert "routing.rules[1].name: rule 'r1': the name is already used by rules[0]" in message


def test_outage_must_end_after_it_starts() -> None:
    text = SANDBOX.replace(
        '    postal_code: "07001"\n',
        '    postal_code: "07001"\n    outages:\n      - {start: 2026-12-24T18:00:00Z, end: 2026-12-24T06:00:00Z}\n',
    )
    message = refused(text)
    line = line_of(text, "- {start: 2026-12-24T18:00:00Z")
    assert f"brand.yaml:{line}: locations[0].outages[0]: an outage must end after it starts" in message


def test_location_closed_to_an_unknown_channel_is_refused() -> None:
    text = SANDBOX.replace('    postal_code: "07001"\n', '    postal_code: "07001"\n    exclude_channels: [etsy]\n')
    message = refused(text)
    line = line_of(text, "exclude_channels: [etsy]")
    assert f"brand.yaml:{line}: locations[0].exclude_channels[0]: location 'east': unknown channel 'etsy'" in message


def test_products_declare_bundles_and_bad_ones_are_refused_at_their_line() -> None:
    config = load_config(ROOT / "orderloop.yaml")
    [kit] = [p for p in config.products if p.components]
    assert kit.sku == "GIFT-SET" and kit.components == {"TSHIRT-BLK-M": 1, "MUG-11OZ": 1}
    nested = SANDBOX.replace(
        "    components: {TSHIRT-BLK-M: 1, MUG-11OZ: 1}\n",
        "    components: {TSHIRT-BLK-M: 1, MUG-11OZ: 1}\n  - sku: DOUBLE-GIFT\n    components: {GIFT-SET: 2}\n",
    )
    message = refused(nested)
    line = line_of(nested, "components: {GIFT-SET: 2}")
    assert f"brand.yaml:{line}: products[1].components: GIFT-SET is a bundle itself" in message
    zero = refused(SANDBOX.replace("{TSHIRT-BLK-M: 1, MUG-11OZ: 1}", "{TSHIRT-BLK-M: 0, MUG-11OZ: 1}"))
    assert "products[0].components.TSHIRT-BLK-M: Input should be greater than 0" in zero


def test_inventory_rules_naming_an_unknown_location_are_refused_at_their_line() -> None:
    text = SANDBOX.replace("inventory: {locations: [east, west]}", "inventory: {locations: [east, north]}")
    message = refused(text)
    line = line_of(text, "inventory: {locations: [east, north]}")
    assert f"brand.yaml:{line}: channels[0].inventory.locations: unknown location(s) north" in message


def test_shipped_sandbox_storefront_has_a_return_policy() -> None:
    policy = load_config(ROOT / "orderloop.yaml").channel("storefront").returns
    assert policy is not None and policy.authorise == "auto" and policy.window_days == 30
    assert policy.not_received_after == timedelta(days=14)


def test_return_policy_naming_an_unknown_location_is_refused_at_its_line() -> None:
    message = refused(SANDBOX.replace("      receiving: original\n", "      receiving: nowhere\n", 1))
    line = next(i for i, text in enumerate(SANDBOX.splitlines(), 1) if "receiving: original" in text)
    assert f"brand.yaml:{line}: channels[0].returns.receiving: unknown location 'nowhere'" in message


def test_return_policy_refuses_an_unknown_condition_and_action() -> None:
    message = refused(
        SANDBOX.replace("damaged: non_sellable,", "dented: non_sellable,", 1).replace(
            "not_received_action: keep_waiting", "not_received_action: shrug", 1
        )
    )
    assert "channels[0].returns.restock.dented" in message
    assert "channels[0].returns.not_received_action: Input should be 'close' or 'keep_waiting'" in message


def test_return_policy_belongs_to_a_selling_channel() -> None:
    text = SANDBOX.replace(
        "      api_token: ORDERLOOP_WMS_API_TOKEN\n",
        "      api_token: ORDERLOOP_WMS_API_TOKEN\n    returns: {authorise: auto}\n",
        1,
    )
    wms = [c["id"] for c in yaml.safe_load(SANDBOX)["channels"]].index("wms")
    assert f"channels[{wms}].returns: a return policy belongs to a selling channel" in refused(text)


def test_exchange_log_retention_is_validated_with_its_line() -> None:
    config = parse_config(SANDBOX)
    assert config.exchange_log.retention == timedelta(days=30)
    line = next(i for i, text in enumerate(SANDBOX.splitlines(), 1) if "retention_days: 30" in text)
    for bad in ("0", "-3", "forever"):
        message = refused(SANDBOX.replace("  retention_days: 30\n", f"  retention_days: {bad}\n", 1))
        assert f"brand.yaml:{line}: exchange_log.retention_days:" in message
    week = parse_config(SANDBOX.replace("  retention_days: 30\n", "  retention_days: 7\n", 1))
    assert week.exchange_log.retention_days == 7
