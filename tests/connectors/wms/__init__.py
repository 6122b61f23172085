"""WMS connector: mapping, webhooks, and the client's contract with the WMS sandbox."""
