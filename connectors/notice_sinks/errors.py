"""The one error a sink raises: the notice did not arrive (the sender retries, then dead-letters)."""

from __future__ import annotations


class DeliveryError(Exception):
    """The sink refused the notice or could not be reached; the message says which and why."""
