"""Turning telemetry on in a process: the OpenTelemetry SDK's providers, built from the
standard ``OTEL_*`` variables, and the Prometheus ``/metrics`` endpoint.

Needs the ``otel`` extra (``pip install 'mcp-transport[otel]'``): ``opentelemetry-sdk``, the
OTLP/HTTP exporter and the Prometheus exporter. The library itself needs only the API
(:mod:`mcp_transport.telemetry`); this module is what ``--otel``, ``MCP_TRANSPORT_OTEL=1`` and
``--metrics`` of ``python -m servers.everything``, ``mcp-transport serve`` and
``mcp-transport proxy`` call.

Exporters (the OpenTelemetry SDK's environment variables, comma-separated lists):

* ``OTEL_TRACES_EXPORTER``: ``otlp`` (default), ``console`` or ``none``;
* ``OTEL_METRICS_EXPORTER``: ``otlp`` (default), ``console``, ``prometheus`` or ``none``;
* OTLP goes over HTTP/protobuf to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default
  ``http://localhost:4318``) or the per-signal ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
  ``..._METRICS_ENDPOINT``; ``OTEL_SERVICE_NAME`` names the service.

``console`` writes to stderr, never stdout: a stdio server's stdout is the protocol.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ENV_SWITCH", "add_arguments", "apply", "install", "requested", "with_metrics"]

ENV_SWITCH = "MCP_TRANSPORT_OTEL"

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def requested(flag: bool) -> bool:
    """Whether tracing and metrics export are asked for: ``--otel`` or MCP_TRANSPORT_OTEL=1."""
    return flag or os.environ.get(ENV_SWITCH, "").strip().lower() in ("1", "true", "yes", "on")


def add_arguments(parser: Any, *, metrics: bool = True) -> None:
    """``--otel`` (and ``--metrics``) on a command's argument parser."""
    group = parser.add_argument_group("observability (docs/guides/observability.md)")
    group.add_argument(
        "--otel",
        action="store_true",
        help=f"export traces and metrics as the OTEL_* variables say (or {ENV_SWITCH}=1; the otel extra)",
    )
    if metrics:
        group.add_argument(
            "--metrics",
            action="store_true",
            help="serve Prometheus metrics at /metrics on the same host and port",
        )


def apply(args: Any) -> bool:
    """Install the providers the parsed ``--otel`` / ``--metrics`` ask for; whether /metrics
    is to be served."""
    export, prometheus = requested(args.otel), bool(getattr(args, "metrics", False))
    if export or prometheus:
        install(export=export, prometheus=prometheus)
    return prometheus


def _names(variable: str) -> list[str]:
    value = os.environ.get(variable, "otlp")
    return [name.strip().lower() for name in value.split(",") if name.strip()]


def install(*, export: bool = True, prometheus: bool = False) -> None:
    """Install SDK tracer and meter providers globally and in :mod:`mcp_transport.telemetry`.

    ``export``: the exporters of ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``
    (``--otel``); ``prometheus``: a Prometheus reader for ``/metrics`` (``--metrics``).
    Raises SystemExit naming the variable when an exporter is unknown or not installed."""
    from . import telemetry

    try:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import MetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError as exc:
        raise SystemExit(
            f"error: --otel/--metrics need the otel extra: pip install 'mcp-transport[otel]' ({exc})"
        ) from None
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "mcp-transport")})
    tracer_provider = TracerProvider(resource=resource)
    readers: list[MetricReader] = []
    if export:
        for name in _names("OTEL_TRACES_EXPORTER"):
            _add_span_exporter(tracer_provider, name)
        readers += [reader for name in _names("OTEL_METRICS_EXPORTER") if (reader := _metric_reader(name))]
    if prometheus and not any(type(r).__name__ == "PrometheusMetricReader" for r in readers):
        readers.append(_metric_reader("prometheus"))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    telemetry.configure(tracer_provider if export else None, meter_provider)


def _add_span_exporter(provider: Any, name: str) -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if name == "none":
        return
    if name == "console":
        exporter: Any = ConsoleSpanExporter(out=sys.stderr)
    elif name == "otlp":
        _check_protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        exporter = _import("opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter")()
    else:
        raise SystemExit(f"error: OTEL_TRACES_EXPORTER={name!r} is not one of otlp, console, none")
    provider.add_span_processor(BatchSpanProcessor(exporter))


def _metric_reader(name: str) -> Any:
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    if name == "none":
        return None
    if name == "console":
        return PeriodicExportingMetricReader(ConsoleMetricExporter(out=sys.stderr))
    if name == "otlp":
        _check_protocol("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        exporter = _import("opentelemetry.exporter.otlp.proto.http.metric_exporter", "OTLPMetricExporter")
        return PeriodicExportingMetricReader(exporter())
    if name == "prometheus":
        # Registers with prometheus_client's default registry, which /metrics serves.
        # Without scope labels: the series read as the issue names them,
        # mcp_server_requests_total{method="tools/call",outcome="ok"}.
        return _import("opentelemetry.exporter.prometheus", "PrometheusMetricReader")(
            scope_info_enabled=False
        )
    raise SystemExit(f"error: OTEL_METRICS_EXPORTER={name!r} is not one of otlp, console, prometheus, none")


def _check_protocol(variable: str) -> None:
    protocol = os.environ.get(variable) or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if protocol != "http/protobuf":
        raise SystemExit(
            f"error: {variable}/OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: only http/protobuf is supported"
        )


def _import(module: str, name: str) -> Any:
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise SystemExit(
            f"error: {name} needs the otel extra: pip install 'mcp-transport[otel]' ({exc})"
        ) from None


def with_metrics(app: ASGIApp, path: str = "/metrics") -> ASGIApp:
    """``app`` with prometheus_client's ASGI exposition at ``path`` (GET, any of its content
    types, gzip when asked), on the same host and port; every other request goes to ``app``."""
    from prometheus_client import make_asgi_app

    exposition = make_asgi_app()

    async def routed(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != path:
            await app(scope, receive, send)
        elif scope["method"] in ("GET", "HEAD"):
            await exposition(scope, receive, send)
        else:
            body = b"Method not allowed: /metrics is read with GET\n"
            headers = [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain; charset=utf-8")]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": 405, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    return routed
