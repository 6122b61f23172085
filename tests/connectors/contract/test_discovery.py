"""The suite finds every connector package by itself, and a package of a role without its
contract harness is a failing test that says what to add."""

from __future__ import annotations

import pytest

from connectors.registry import connector_spec
from orderloop.model import ConnectorRole
from tests.connectors.contract.discovery import connector_packages, opener, opener_of, packages_of
from tests.connectors.contract.roles import FileHarness, VendorHarness

# Sorted: a set of roles iterates in hash order, which differs between the test processes.
ROLES_OF_PACKAGES = [(vendor, role) for vendor in connector_packages() for role in sorted(connector_spec(vendor).roles)]


def test_every_connector_package_is_in_the_suite_of_each_of_its_roles() -> None:
    assert {"storefront", "shopify", "wms", "shipbob"} <= set(connector_packages())
    for vendor, role in ROLES_OF_PACKAGES:
        assert vendor in packages_of(role, files=connector_spec(vendor).speaks_files)


@pytest.mark.parametrize(("vendor", "role"), ROLES_OF_PACKAGES, ids=[f"{v}-{r}" for v, r in ROLES_OF_PACKAGES])
async def test_every_connector_package_has_a_harness_for_each_of_its_roles(
    vendor: str, role: ConnectorRole, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, protocol = opener_of(vendor, role)
    async with opener(vendor, role)(monkeypatch) as harness:
        assert isinstance(harness, protocol)
        assert isinstance(harness, FileHarness if connector_spec(vendor).speaks_files else VendorHarness)
        assert role in connector_spec(vendor).roles and harness.connector.role is role
        await harness.connector.aclose()


@pytest.mark.parametrize("role", list(ConnectorRole))
def test_a_package_without_a_harness_fails_saying_what_to_add(role: ConnectorRole) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"add tests/connectors/newvendor/contract_harness\.py defining"):
        opener("newvendor", role)
