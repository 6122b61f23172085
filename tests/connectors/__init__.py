"""Connector tests: mapping, webhooks and contract tests against each sandbox."""
