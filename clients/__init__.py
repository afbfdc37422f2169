"""Clients run by the official conformance suite."""

__all__: list[str] = []
