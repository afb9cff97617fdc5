"""Upstream provider adapters."""
