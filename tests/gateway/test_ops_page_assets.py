"""The operations page ships in the package and loads nothing from elsewhere: `/ops` answers the
page under a policy that allows only this origin, its assets (the vendored uPlot and its
licence among them) are served from the package, and none of them names another origin."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from gateway.ops_page import ASSETS

ASSET_PATHS = ["ops.js", "ops.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css", "vendor/uPlot.LICENSE"]


def test_the_page_and_its_assets_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/ops")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    for path in ASSET_PATHS:
        asset = client.get(f"/ops/assets/{path}")
        assert asset.status_code == 200, path
        assert asset.content == (ASSETS / path).read_bytes()
    assert "MIT License" in client.get("/ops/assets/vendor/uPlot.LICENSE").text
    assert client.get("/ops/assets/nothing.js").status_code == 404


def test_no_asset_loads_from_another_origin() -> None:
    html = (ASSETS / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith("/ops/assets/"), ref
    script = (ASSETS / "ops.js").read_text()
    assert not re.search(r"fetch\(\s*['\"`]https?:", script)
