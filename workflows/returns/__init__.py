"""The return workflow (one per return): see `workflows.returns.workflow`."""

from workflows.returns.workflow import ReturnWorkflow

__all__ = ["ReturnWorkflow"]
