"""Markdown tables from the JSON the benchmarks write (for docs/benchmarks.md).

    .venv/bin/python bench/report.py var/bench/initial-sqlite.json var/bench/incremental-sqlite.json

For the initial cycle, besides the wall-clock ratio (the goal), it prints a *CPU-accounted* ratio:
(floor wall + engine client CPU [+ its PostgreSQL backend's CPU] − floor client CPU) / floor wall. The engine and the floor are
sequential clients, so what the engine adds to the floor is, to first order, its own CPU time;
this figure is far less sensitive than the wall clock to the other tenants of a shared 2-core box,
which slow the server down by different amounts from one run to the next.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def cpu_accounted(row: dict) -> float:
    floor, engine = row["floor"], row["engine"]
    added = engine["client_cpu"] + (engine.get("database_server_cpu") or 0) - floor["client_cpu"]
    return (floor["wall"] + added) / floor["wall"]


def _database_cpu(engine: dict, database: str) -> str:
    value = engine.get("database_server_cpu")
    if value is None:
        return "in-process" if database == "sqlite" else "not measured"
    return f"{value:.1f}"


def initial(result: dict) -> str:
    lines = [
        f"**Initial cycle, {result['users']:,} users + {result['groups']} groups, "
        f"{result['machine']['database']}**",
        "",
        "| rep | mode | floor s | engine s | engine/floor (wall) | client CPU floor / engine s "
        "| engine's PostgreSQL backend CPU s | server CPU floor / engine s | CPU-accounted ratio | engine requests | SQL queries "
        "| peak RSS MB (before) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for row in result["runs"]:
        floor, engine = row["floor"], row["engine"]
        requests_text = ", ".join(
            f"{k} ×{v}" for k, v in sorted(engine["requests"].items()) if not k.startswith("GET")
        )
        lines.append(
            f"| {row['repetition']} | {row['mode']} | {floor['wall']:.1f} | {engine['wall']:.1f} "
            f"| {row['ratio']:.2f} | {floor['client_cpu']:.1f} / {engine['client_cpu']:.1f} "
            f"| {_database_cpu(engine, result['database'])} "
            f"| {floor['server_cpu']:.1f} / {engine['server_cpu']:.1f} | {cpu_accounted(row):.2f} "
            f"| {requests_text} (+3 GET) | {engine['queries']} "
            f"| {engine['peak_rss_mb']:.0f} ({engine['rss_before_mb']:.0f}) |"
        )
    lines.append("")
    for mode in ("single", "bulk"):
        rows = [row for row in result["runs"] if row["mode"] == mode]
        if not rows:
            continue
        floors = [r["floor"]["wall"] for r in rows]
        engines = [r["engine"]["wall"] for r in rows]
        lines.append(
            f"- {mode}: median floor {statistics.median(floors):.1f} s, median engine "
            f"{statistics.median(engines):.1f} s, ratio of medians "
            f"{statistics.median(engines) / statistics.median(floors):.2f}, median of ratios "
            f"{statistics.median(r['ratio'] for r in rows):.2f}, CPU-accounted "
            f"{statistics.median(cpu_accounted(r) for r in rows):.2f}"
        )
    for mode, check in result.get("target_comparison", {}).items():
        lines.append(
            f"- target check ({mode}): {check['engine_objects']} objects in the engine's target, "
            f"{check['floor_objects']} in the floor's, {check['differing']} differing, "
            f"{check['missing_in_engine']} missing, {check['extra_in_engine']} extra"
        )
    return "\n".join(lines)


def incremental(result: dict) -> str:
    lines = [
        f"**Incremental cycle, 10 changes, {result['machine']['database']}** "
        f"(groups of {result['group_size']} members)",
        "",
        "| users | round | wall s | SQL queries | requests | peak RSS MB (before cycle) "
        "| Python heap peak MB |",
        "|---:|---:|---:|---:|---|---:|---:|",
    ]
    for size in result["sizes"]:
        for row in size["rounds"]:
            heap = f"{row['tracemalloc_peak_mb']:.1f}" if row["tracemalloc_peak_mb"] else "–"
            wall = f"{row['wall']:.3f}" + (
                " (under tracemalloc)" if row["tracemalloc_round"] else ""
            )
            requests_text = ", ".join(f"{k} ×{v}" for k, v in sorted(row["requests"].items()))
            lines.append(
                f"| {size['users']:,} | {row['round']} | {wall} | {row['queries']} "
                f"| {requests_text} | {row['peak_rss_mb']:.0f} ({row['rss_before_mb']:.0f}) "
                f"| {heap} |"
            )
    lines.append("")
    for size in result["sizes"]:
        init = size["initial_cycle"]
        lines.append(
            f"- {size['users']:,} users: directory written in {size['directory_seconds']:.0f} s; "
            f"set-up initial cycle (Bulk) {init['wall']:.0f} s; scim2-server index warm-up "
            f"{size['index_warmup_seconds']:.1f} s; problems in the target: "
            f"{sum(len(r['target_problems']) for r in size['rounds'])}"
        )
    return "\n".join(lines)


def main() -> None:
    for name in sys.argv[1:]:
        result = json.loads(Path(name).read_text())
        print(initial(result) if result["benchmark"] == "initial_cycle" else incremental(result))
        print()


if __name__ == "__main__":
    main()
