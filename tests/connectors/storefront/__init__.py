"""Storefront connector: mapping, webhooks, and the client's contract with the storefront sandbox."""
