"""Structured logging for every Orderloop process: structlog, JSON lines when not on a terminal,
each line bound to its service (and, where known, the order's workflow id) so one order can be
followed across gateway, worker and sandboxes.

Orderloop's own loggers render each line and write it to stderr themselves; other libraries'
standard-library logging (uvicorn, temporalio) goes through a handler that renders its records
into the same lines. Through the standard library, each of Orderloop's lines cost its process
several times the CPU (a LogRecord, the handler's lock, the formatter's second pass), and the
worker writes five lines per order (see docs/performance.md)."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(service: str, fmt: str = "auto", level: str = "info") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    threshold = logging.getLevelNamesMapping().get(level.upper())
    if threshold is None:
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning, error or critical")
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    # A traceback as text in the JSON line (the console renderer prints it itself).
    tracebacks: list[structlog.types.Processor] = [structlog.processors.format_exc_info] if use_json else []
    structlog.configure(
        processors=[*shared, _add_service(service), *tracebacks, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _add_service(service),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _add_service(service: str) -> structlog.types.Processor:
    def add(_: object, __: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
        event.setdefault("service", service)
        return event

    return add
