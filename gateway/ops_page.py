"""The operations page at `/ops` (docs/operations-page.md): one HTML page and its assets, shipped
in the package under gateway/static/ops (the chart library, uPlot, vendored beside its licence:
the page works offline and loads nothing from another origin). The page holds no data: it asks
for the operator's token and reads the operator API with it, so serving the page itself needs
none."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "static" / "ops"
# The page runs only its own scripts and talks only to this gateway.
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter(tags=["operations page"])


@router.get("/ops", include_in_schema=False)
async def ops_page() -> FileResponse:
    headers = {"Content-Security-Policy": _POLICY, "Cache-Control": "no-cache"}
    return FileResponse(ASSETS / "index.html", headers=headers)


def install_ops_page(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/ops/assets", StaticFiles(directory=ASSETS), name="ops-assets")
