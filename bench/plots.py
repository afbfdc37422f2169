"""The scaling curves as PNG plots (matplotlib, headless): one file per curve, each stamped with
the machine and the date and saying that its figures are relative.

    write_plots(results["curves"], machine="...", date="...", outdir=Path("docs/performance"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

from bench.harness import SERVERS

LABELS = {s.name: s.label for s in SERVERS} | {"ours-modern": "mcp_transport, modern leg (no session)"}
# ours stands out; the peers and the ceiling stay in the background colours
STYLE: dict[str, dict[str, Any]] = {
    "ours": {"color": "tab:red", "linewidth": 2.4},
    "ours-modern": {"color": "tab:orange", "linewidth": 2.0},
    "plain": {"color": "0.45", "linestyle": ":"},
    "official": {"color": "tab:blue"},
    "ts": {"color": "tab:green"},
    "fastmcp": {"color": "tab:purple"},
}


def _stamp(fig: Any, machine: str, date: str) -> None:
    fig.text(
        0.01,
        0.01,
        f"{machine}; {date}. Figures are relative: compare the lines with each other, "
        "not with another machine's.",
        fontsize=7,
        color="0.3",
        wrap=True,
    )


def _save(fig: Any, path: Path, machine: str, date: str) -> Path:
    _stamp(fig, machine, date)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _line(ax: Any, name: str, xs: list, ys: list, **extra: Any) -> None:
    pts = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if pts:
        ax.plot(*zip(*pts, strict=True), marker="o", markersize=3, **(STYLE.get(name, {}) | extra))


def _ticks(ax: Any, curves: list[list[int]]) -> None:
    """Ticks at the measured points, written out (not as powers)."""
    xs = sorted({x for xs in curves for x in xs})
    if xs:
        ax.set_xticks(xs, [f"{x:,}" for x in xs], fontsize=8)
        ax.minorticks_off()


def _axes(ax: Any, title: str, xs: list[list[int]], legend: bool = False, **labels: Any) -> None:
    """Scales and labels (``labels``, as for ``Axes.set``), title, ticks at the points, grid."""
    ax.set(**labels)
    ax.set_title(title, fontsize=10)
    _ticks(ax, xs)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(fontsize=8)


def _xs(curves: dict, key: str) -> list[list[int]]:
    return [[p[key] for p in c.get("points", [])] for c in curves.values()]


def plot_concurrency(lines: dict, path: Path, machine: str, date: str) -> Path:
    fig, (thr, lat) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name, pts in lines.items():
        xs = [p["clients"] for p in pts]
        _line(thr, name, xs, [p["rps"] for p in pts], label=LABELS.get(name, name))
        _line(lat, name, xs, [p["p99_ms"] for p in pts], label=f"{LABELS.get(name, name)} p99")
        _line(lat, name, xs, [p["p50_ms"] for p in pts], linestyle="--", linewidth=1, alpha=0.7)
    clients = [[p["clients"] for p in pts] for pts in lines.values()]
    thr.set_xscale("log", base=2)
    lat.set_xscale("log", base=2)
    _axes(
        thr,
        "Throughput against concurrency",
        clients,
        True,
        xlabel="concurrent clients",
        ylabel="tools/call per s (JSON)",
    )
    _axes(
        lat,
        "p99 (solid) and p50 (dashed) latency",
        clients,
        yscale="log",
        xlabel="concurrent clients",
        ylabel="latency ms (log)",
    )
    return _save(fig, path, machine, date)


def plot_idle_sessions(curves: dict, path: Path, machine: str, date: str) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for name, c in curves.items():
        pts = c.get("points", [])
        label = LABELS.get(name, name) + (" (stopped early)" if c.get("stopped") else "")
        _line(ax, name, [p["sessions"] for p in pts], [p["rss_kb"] / 1024 for p in pts], label=label)
    _axes(
        ax,
        "Memory against open idle sessions",
        _xs(curves, "sessions"),
        True,
        xscale="log",
        yscale="log",
        xlabel="open idle sessions",
        ylabel="server RSS MiB (log)",
    )
    return _save(fig, path, machine, date)


def plot_resume(curves: dict, path: Path, machine: str, date: str) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for name, c in curves.items():
        pts = c.get("points", [])
        xs = [p["length"] for p in pts]
        _line(ax, name, xs, [p["p50_ms"] for p in pts], label=f"{LABELS.get(name, name)} median")
        _line(ax, name, xs, [p["max_ms"] for p in pts], linestyle="--", linewidth=1, label="max")
    title = "Resume latency (GET + Last-Event-ID of the next-to-last event): should stay flat"
    _axes(
        ax,
        title,
        _xs(curves, "length"),
        True,
        xscale="log",
        xlabel="events in the stream resumed",
        ylabel="ms to the replayed event",
    )
    ax.set_ylim(bottom=0)
    return _save(fig, path, machine, date)


def plot_streams(curves: dict, path: Path, machine: str, date: str) -> Path:
    fig, (mem, thr) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name, c in curves.items():
        pts = c.get("points", [])
        xs = [p["streams"] for p in pts]
        label = LABELS.get(name, name)
        _line(mem, name, xs, [p["rss_kb"] / 1024 for p in pts], label=label)
        _line(thr, name, xs, [p["rps"] for p in pts], label=label)
    streams = _xs(curves, "streams")
    _axes(
        mem,
        "Memory against open SSE streams",
        streams,
        True,
        xscale="log",
        xlabel="open SSE (GET) streams, one per session",
        ylabel="server RSS MiB",
    )
    _axes(
        thr,
        "Throughput with the streams open",
        streams,
        xscale="log",
        xlabel="open SSE (GET) streams",
        ylabel="tools/call per s, c=32 (JSON)",
    )
    return _save(fig, path, machine, date)


PLOTS = (
    ("concurrency", "concurrency.png", plot_concurrency),
    ("idle_sessions", "idle_sessions.png", plot_idle_sessions),
    ("resume", "resume.png", plot_resume),
    ("streams", "sse_streams.png", plot_streams),
)


def write_plots(curves: dict, machine: str, date: str, outdir: Path) -> list[Path]:
    """One PNG per curve that has data, in ``outdir``; the paths written."""
    outdir.mkdir(parents=True, exist_ok=True)
    return [
        plot(curves[key], outdir / filename, machine, date)
        for key, filename, plot in PLOTS
        if curves.get(key)
    ]
