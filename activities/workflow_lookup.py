"""Whether a workflow Orderloop signals ever ran: told apart after a signal answered NOT_FOUND
(closed, or never started), by the poll jobs that deliver what a channel reported."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode


async def has_run(client: Client, workflow_id: str) -> bool:
    """True when the workflow exists (running or closed); any error but NOT_FOUND is raised."""
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
