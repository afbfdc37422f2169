"""Servers on other implementations that the suite is run against (``python -m conformance.report``)."""

__all__: list[str] = []
