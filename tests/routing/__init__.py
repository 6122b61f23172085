"""Routing engine tests."""
