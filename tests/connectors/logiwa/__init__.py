"""Logiwa connector: mapping, webhooks, client, sandbox and contract tests."""
