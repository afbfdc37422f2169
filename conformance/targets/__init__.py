"""Servers on other implementations that the suite is run against (``python -m conformance.report``)."""
