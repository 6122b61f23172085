"""Prometheus metrics of the gateway and the worker (prometheus_client, the Prometheus project's
own Python client). Each process exports its own registry: the gateway at `GET /metrics`, the
worker on `ORDERLOOP_WORKER_METRICS_PORT` (`serve_worker_metrics`). The Temporal SDK's worker
metrics come from its Rust core through the runtime's own Prometheus endpoint
(`temporal_runtime`, on `ORDERLOOP_TEMPORAL_METRICS_PORT`).

Everything here is cheap on the hot path: a counter increment or a histogram observation on a
child looked up once per label set (prometheus_client keeps the children), no allocation per
call beyond the label tuple."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds: a vendor call on loopback is a few ms, on the internet tens to hundreds.
_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds from an order's receipt to its last shipment: minutes to days.
_SHIP_BUCKETS = (1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400, 4 * 86400)
# Seconds an outbox row waited before its availability was pushed to the channel.
_PUSH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

ORDERS_ACCEPTED = Counter(
    "orderloop_orders_accepted",
    "Orders accepted at intake: an order workflow started for a new channel order.",
    ["channel"],
    registry=REGISTRY,
)
ORDERS_COMPLETED = Counter(
    "orderloop_orders_completed",
    "Orders shipped in full: the shipment commit that closed an order's last reserved line.",
    ["channel"],
    registry=REGISTRY,
)
EXCEPTIONS_RAISED = Counter(
    "orderloop_exceptions_raised",
    "Order and return exceptions raised (exception notices), by kind and channel.",
    ["channel", "kind"],
    registry=REGISTRY,
)
EXCEPTIONS_RESOLVED = Counter(
    "orderloop_exceptions_resolved",
    "Order and return exceptions resolved (resolved notices), by kind and channel; "
    "raised minus resolved is what is open.",
    ["channel", "kind"],
    registry=REGISTRY,
)
TIME_TO_SHIP = Histogram(
    "orderloop_time_to_ship_seconds",
    "From the order's acceptance at intake to the shipment commit that shipped it in full.",
    ["channel"],
    buckets=_SHIP_BUCKETS,
    registry=REGISTRY,
)
INVENTORY_PUSH_LATENCY = Histogram(
    "orderloop_inventory_push_latency_seconds",
    "Age of the oldest stock change (outbox row) a channel inventory push carried, at the push.",
    ["channel"],
    buckets=_PUSH_BUCKETS,
    registry=REGISTRY,
)
VENDOR_CALL_SECONDS = Histogram(
    "orderloop_vendor_call_seconds",
    "Vendor HTTP calls by channel and answer status (`error` when no answer came).",
    ["channel", "status"],
    buckets=_CALL_BUCKETS,
    registry=REGISTRY,
)
VENDOR_CALL_ERRORS = Counter(
    "orderloop_vendor_call_errors",
    "Vendor HTTP calls that failed: a non-2xx answer (its status) or none at all (`error`).",
    ["channel", "status"],
    registry=REGISTRY,
)

EXCHANGES_WRITTEN = Counter(
    "orderloop_exchange_log_written",
    "Exchange log rows (vendor calls, polls, webhooks) this process wrote to the ledger.",
    registry=REGISTRY,
)
EXCHANGES_DROPPED = Counter(
    "orderloop_exchange_log_dropped",
    "Exchange log rows this process dropped: its queue was full, or the ledger refused the batch.",
    registry=REGISTRY,
)


def render() -> bytes:
    """This process's metrics in the Prometheus text format."""
    return generate_latest(REGISTRY)


def vendor_call(channel: str, response: httpx.Response | None, seconds: float) -> None:
    """One vendor call's outcome: its latency by status, and an error unless it was a 2xx."""
    status = "error" if response is None else str(response.status_code)
    VENDOR_CALL_SECONDS.labels(channel, status).observe(seconds)
    if response is None or not response.is_success:
        VENDOR_CALL_ERRORS.labels(channel, status).inc()


def exception_notice(level: str, channel: str, kind: str) -> None:
    """An exception notice as the notify activity sees it: `exception` raises, `resolved`
    resolves; warnings and escalations are about an exception already counted."""
    if level == "exception":
        EXCEPTIONS_RAISED.labels(channel, kind).inc()
    elif level == "resolved":
        EXCEPTIONS_RESOLVED.labels(channel, kind).inc()


def order_shipped_in_full(channel: str, accepted_at: datetime | None, now: datetime | None = None) -> None:
    ORDERS_COMPLETED.labels(channel).inc()
    if accepted_at is not None:
        seconds = ((now or datetime.now(UTC)) - accepted_at).total_seconds()
        TIME_TO_SHIP.labels(channel).observe(max(0.0, seconds))


def inventory_pushed(channel: str, oldest_change: datetime | None, now: datetime | None = None) -> None:
    if oldest_change is not None:
        seconds = ((now or datetime.now(UTC)) - oldest_change).total_seconds()
        INVENTORY_PUSH_LATENCY.labels(channel).observe(max(0.0, seconds))


def serve_worker_metrics(port: int, host: str = "127.0.0.1") -> None:
    """The worker's `/metrics` (any path answers) on a daemon thread of prometheus_client."""
    start_http_server(port, addr=host, registry=REGISTRY)


def temporal_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime whose core exports the SDK's worker metrics (task slots, poll and
    schedule-to-start latencies, sticky cache) in the Prometheus format at `bind_address`
    (`host:port`), as in the SDK's README ("Metrics": `TelemetryConfig(metrics=PrometheusConfig(
    bind_address=...))`, temporalio/sdk-python)."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))
