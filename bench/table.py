"""The table of figures `make bench` prints and writes: one row per figure, one column per server,
and the ratios of ours to each peer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from bench.harness import FOREIGN, GEN_BOUND, SERVERS, Profile, _get


@dataclass
class Row:
    figure: str
    path: tuple  # under results["http"|"sessions"|"stdio"][server]
    fmt: str = "{:,.0f}"
    higher_is_better: bool = True
    target: str = ""
    target_ratio: float | None = None  # ours/official must be >= this (or <= for lower-is-better)
    target_abs: float | None = None  # ours must be <= this (lower-is-better) or >= (higher)
    ours_mode: str | None = None  # use this mode's column for ours
    ratio: bool = True  # show ours / SDK
    section: str = "http"
    gen_path: tuple | None = None


def rows(prof: Profile) -> list[Row]:
    idle = f"{prof.idle_sessions:,}"
    R = []
    for mode in ("json", "sse"):
        M = mode.upper()
        for c in (1, 32):
            tr = {("json", 32): 4.0, ("sse", 32): 6.0}.get((mode, c))
            R.append(
                Row(
                    f"tools/call req/s, {M}, c={c}",
                    (mode, f"c{c}", "rps"),
                    target=f">= {tr:g}x SDK" if tr else "",
                    target_ratio=tr,
                    gen_path=(mode, f"c{c}", "gen_cpu"),
                )
            )
            R.append(
                Row(
                    f"p50 latency ms, {M}, c={c}",
                    (mode, f"c{c}", "p50_ms"),
                    "{:.3f}",
                    False,
                    target="<= 0.2 ms" if (mode, c) == ("json", 1) else "",
                    target_abs=0.2 if (mode, c) == ("json", 1) else None,
                )
            )
            R.append(Row(f"p99 latency ms, {M}, c={c}", (mode, f"c{c}", "p99_ms"), "{:.3f}", False))
    R.append(Row("tools/call req/s, auto mode, c=32", ("auto", "c32", "rps"), ours_mode="auto"))
    for mode in ("json", "sse"):
        R.append(
            Row(
                f"tools/call req/s, {mode.upper()}, c=32, modern leg (no session)",
                (mode, "modern_c32", "rps"),
                ours_mode=mode,
            )
        )
        for pct in ("p50", "p99"):
            R.append(
                Row(
                    f"{pct} latency ms, {mode.upper()}, c=1, modern leg",
                    (mode, "modern_c1", f"{pct}_ms"),
                    "{:.3f}",
                    False,
                    ours_mode=mode,
                )
            )
    R.append(
        Row(
            "progress notifications/s over SSE",
            ("sse", "progress", "notifications_per_s"),
            target=">= 5x SDK",
            target_ratio=5.0,
        )
    )
    R.append(Row("SSE time to first byte ms, c=1", ("sse", "c1", "ttfb_ms"), "{:.3f}", False))
    R.append(
        Row(
            "SSE first progress event ms (progress_stream)",
            ("sse", "progress", "first_progress_ms"),
            "{:.3f}",
            False,
        )
    )
    R.append(
        Row(
            "server CPU-s per 1,000 calls, JSON c=32",
            ("json", "c32", "server_cpu_s_per_1000"),
            "{:.3f}",
            False,
        )
    )
    R.append(
        Row(
            "server CPU-s per 1,000 calls, SSE c=32", ("sse", "c32", "server_cpu_s_per_1000"), "{:.3f}", False
        )
    )
    R.append(
        Row(
            "sessions created/s",
            ("sessions_per_s",),
            section="sessions",
            target=">= 5x SDK",
            target_ratio=5.0,
        )
    )
    R.append(
        Row(
            f"RSS per idle session KB ({idle} open)",
            ("rss_per_session_kb",),
            "{:.2f}",
            False,
            section="sessions",
            target="<= 4 KB",
            target_abs=4.0,
        )
    )
    R.append(
        Row("idle session expired (its id then gets 404)", ("sessions_expired",), "{}", section="sessions")
    )
    R.append(
        Row(
            "RSS growth given back to the OS after expiry %",
            ("rss_freed_pct",),
            "{:.0f}",
            section="sessions",
            ratio=False,
        )
    )
    R.append(
        Row(
            "RSS growth of a 2nd batch after expiry, % of the 1st",
            ("second_batch_growth_pct",),
            "{:.0f}",
            False,
            section="sessions",
            target="freed (<= 25%)",
            target_abs=25.0,
            ratio=False,
        )
    )
    R.append(Row("tools/call req/s, JSON, c=32, 32 sessions", ("c32_base", "rps"), section="sessions"))
    R.append(
        Row(f"tools/call req/s, JSON, c=32, +{idle} idle sessions", ("c32_idle", "rps"), section="sessions")
    )
    R.append(
        Row(
            "server CPU-s per 1,000 calls, JSON c=32, 32 sessions",
            ("c32_base", "server_cpu_s_per_1000"),
            "{:.3f}",
            False,
            section="sessions",
        )
    )
    R.append(
        Row(
            f"server CPU-s per 1,000 calls, JSON c=32, +{idle} idle",
            ("c32_idle", "server_cpu_s_per_1000"),
            "{:.3f}",
            False,
            section="sessions",
        )
    )
    R.append(
        Row(
            f"throughput drop with {idle} idle sessions %",
            ("idle_drop_pct",),
            "{:.1f}",
            False,
            section="sessions",
            target="<= 15%",
            target_abs=15.0,
            ratio=False,
        )
    )
    R.append(Row("stdio sequential tools/call /s", ("sequential_per_s",), section="stdio"))
    R.append(Row("stdio concurrent (32 in flight) tools/call /s", ("concurrent_per_s",), section="stdio"))
    return R


PEERS = ("official", "ts", "fastmcp")  # the MCP SDKs we compare with, each a column and a ratio
SHORT = {"official": "Py SDK", "ts": "TS SDK", "fastmcp": "fastmcp"}


def _number(v: object) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v


def _where(results: dict, row: Row, server: str) -> tuple[dict | None, tuple]:
    """The results section of ``server`` for ``row`` and the path to its figure there."""
    sec = results.get(row.section, {}).get(server)
    if sec is None:
        return None, ()
    if row.ours_mode and row.section == "http":
        if server != "ours":
            return None, ()
        return sec, (row.ours_mode, *row.path[1:])
    return sec, row.path


def row_value(results: dict, row: Row, server: str) -> Any:
    """The figure of ``row`` for ``server``; None where it was not measured."""
    sec, path = _where(results, row, server)
    return None if sec is None else _get(sec, *path)


def _cell(results: dict, row: Row, server: str) -> str:
    v = row_value(results, row, server)
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    s = ("yes" if v else "no") if isinstance(v, bool) else row.fmt.format(v)
    sec, path = _where(results, row, server)
    parent = _get(sec, *path[:-1]) if len(path) > 1 else sec
    if isinstance(parent, dict) and parent.get("errors"):
        s += f" ({parent['errors']} errors)"
    if isinstance(parent, dict) and (parent.get("foreign_cpu") or 0) > FOREIGN:
        s += " ~"
    if row.gen_path:
        g = _get(results.get(row.section, {}).get(server) or {}, *row.gen_path)
        if g is not None and g >= GEN_BOUND:
            s += " (gen-bound)"
    return s


def _met(row: Row, ours: Any, sdk: Any) -> str:
    """The row's own target (against the official Python SDK, or an absolute bound)."""
    met = ""
    if row.target_ratio is not None and _number(ours) and _number(sdk) and sdk:
        met = "yes" if ours / sdk >= row.target_ratio else "**no**"
    if row.target_abs is not None and _number(ours):
        ok = ours >= row.target_abs if row.higher_is_better else ours <= row.target_abs
        met = "yes" if ok else "**no**"
    if row.target and ours is None:
        met = "not measured"
    return met


def build_table(results: dict, prof: Profile) -> tuple[list[str], list[list[str]]]:
    labels = {s.name: s.label for s in SERVERS}
    columns = ["plain", *PEERS, "ours"]
    header = ["figure", *(labels[c] for c in columns), *(f"ours / {SHORT[p]}" for p in PEERS)]
    header += ["target", "met"]
    table = []
    for row in rows(prof):
        ours = row_value(results, row, "ours")
        ratios = []
        for peer in PEERS:
            theirs = row_value(results, row, peer)
            ok = row.ratio and _number(ours) and _number(theirs) and theirs
            ratios.append(f"{ours / theirs:.2f}x" if ok else "—")
        cells = [_cell(results, row, c) for c in columns]
        met = _met(row, ours, row_value(results, row, "official"))
        table.append([row.figure, *cells, *ratios, row.target, met])
    return header, table


def render_text(header: list[str], table: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, table)])


def render_markdown(header: list[str], table: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in table]
    return "\n".join(out)
