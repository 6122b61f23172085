"""ShipBob connector: mapping, webhooks, client, and contract tests against its sandbox."""
