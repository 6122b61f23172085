"""Turn a connector's error tree into Temporal's retry semantics, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from connectors.base import PermanentError, RateLimitedError, RejectedError, RetryableError


@contextmanager
def vendor_call(permanent_type: str, rejected_type: str | None = None) -> Iterator[None]:
    """Retryable errors become retryable `ApplicationError`s whose next delay is the vendor's
    `Retry-After`; permanent ones become non-retryable with a type an operator can search for."""
    try:
        yield
    except RateLimitedError as exc:
        raise ApplicationError(str(exc), type="VendorRateLimited", next_retry_delay=_delay(exc)) from exc
    except RetryableError as exc:
        raise ApplicationError(str(exc), type="VendorUnavailable", next_retry_delay=_delay(exc)) from exc
    except RejectedError as exc:
        raise ApplicationError(str(exc), type=rejected_type or permanent_type, non_retryable=True) from exc
    except PermanentError as exc:
        raise ApplicationError(str(exc), type=permanent_type, non_retryable=True) from exc


def _delay(exc: RetryableError) -> timedelta | None:
    return timedelta(seconds=exc.retry_after) if exc.retry_after else None
