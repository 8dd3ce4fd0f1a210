"""bench_load's report: the JSON summary of a locust run (per page, totals, memory, machine,
verdicts) and the table it prints."""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import asdict
from typing import Any

from scripts.benchlib.client import percentile
from scripts.benchlib.load import locust_version
from scripts.benchlib.server import RssSampler


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "N/A") else None
    except ValueError:
        return None


def _server_percentiles(samples: list[list[float]]) -> dict[str, float | None]:
    """p50 / p95 / p99 of the app time, and p50 / p95 of its SQL share, from Server-Timing."""
    app = [a for a, _ in samples]
    sql = [d for _, d in samples]
    out: dict[str, float | None] = {}
    for key, values, pcts in (("server", app, (50, 95, 99)), ("sql", sql, (50, 95))):
        for pct in pcts:
            out[f"{key}_p{pct}_ms"] = round(percentile(values, pct), 1) if values else None
    return out


def summarise(raw: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The JSON report: per page, totals, memory, machine and the two verdicts."""
    pages = []
    for row in raw["stats"]:
        name = row["Name"]
        # The aggregate's server figures are over every page's, like locust's own row.
        server = (
            [ms for values in raw["server_ms"].values() for ms in values]
            if name == "Aggregated"
            else raw["server_ms"].get(name, [])
        )
        pages.append(
            {
                "page": name,
                "method": row["Type"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": _number(row.get("50%")),
                "p95_ms": _number(row.get("95%")),
                "p99_ms": _number(row.get("99%")),
                "max_ms": _number(row.get("Max Response Time")),
                "avg_ms": round(_number(row.get("Average Response Time")) or 0, 1),
                "rps": round(_number(row.get("Requests/s")) or 0, 2),
                **_server_percentiles(server),
            }
        )
    total = next((p for p in pages if p["page"] == "Aggregated"), None)
    sampler: RssSampler = raw["memory"]
    workers = [asdict(m) for m in sampler.workers.values()]
    max_rss_mb = max((m["max_kb"] for m in workers), default=0) / 1024
    failures = total["failures"] if total else sum(p["failures"] for p in pages)
    loads = raw["loadavg"]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "database": "given (--database-url)" if args.database_url else "scratch, seeded",
        "contacts": None if args.database_url else args.contacts,
        "users": args.users,
        "accounts": raw["accounts"],
        "prepare_s": raw["prepare_s"],
        "spawn_rate": args.spawn_rate,
        "run_time_s": args.run_time,
        "think_s": list(args.think),
        "timeout_s": args.timeout,
        "workers": args.workers,
        "elapsed_s": raw["elapsed_s"],
        "locust_version": locust_version(),
        "locust_returncode": raw["returncode"],
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_before": raw["loadavg_before"],
            "loadavg_1m_max": round(max(loads), 2) if loads else None,
            "loadavg_1m_end": round(loads[-1], 2) if loads else None,
            "locust_cpu_s": raw["locust_cpu_s"],
            "gunicorn_workers_cpu_s": raw["workers_cpu_s"],
        },
        "pages": [p for p in pages if p["page"] != "Aggregated"],
        "total": total,
        "failures": raw["failures"],
        "gunicorn_log_problems": raw["log_problems"][-40:],
        "memory": {
            "limit_mb": args.rss_limit_mb,
            "interval_s": sampler.interval,
            "workers": workers,
            "master": asdict(sampler.parent_memory) if sampler.parent_memory else None,
            "max_worker_mb": round(max_rss_mb, 1),
        },
        "ok": {
            "no_failures": failures == 0,
            "rss_under_limit": bool(workers) and max_rss_mb < args.rss_limit_mb,
        },
    }


def _ms(value: float | None) -> str:
    return f"{value:8.0f}" if value is not None else f"{'-':>8}"


def print_report(report: dict[str, Any]) -> None:
    print(
        f"\nLoad: {report['users']} users ({report['accounts']} accounts) for "
        f"{report['run_time_s']} s, think {report['think_s'][0]}-{report['think_s'][1]} s, "
        f"{report['workers']} gunicorn workers; client = locust's time (rounded as locust "
        "buckets it), srv / sql = the app's own time and its SQL share (Server-Timing)"
    )
    head = (
        f"{'page':22} {'n':>6} {'fail':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} "
        f"{'req/s':>7} {'srv p50':>8} {'srv p95':>8} {'sql p50':>8} {'sql p95':>8}"
    )
    print(head)
    print("-" * len(head))
    rows = report["pages"] + ([report["total"]] if report["total"] else [])
    for p in rows:
        print(
            f"{p['page']:22} {p['requests']:6d} {p['failures']:5d} {_ms(p['p50_ms'])} "
            f"{_ms(p['p95_ms'])} {_ms(p['p99_ms'])} {_ms(p['max_ms'])} {p['rps']:7.2f} "
            f"{_ms(p['server_p50_ms'])} {_ms(p['server_p95_ms'])} "
            f"{_ms(p['sql_p50_ms'])} {_ms(p['sql_p95_ms'])}"
        )
    total = report["total"] or {"rps": 0.0, "requests": 0, "failures": 0}
    print(
        f"\nThroughput: {total['rps']:.1f} req/s ({total['requests']} requests, "
        f"{total['failures']} failed); sign-ins and preparing the sessions took "
        f"{report['prepare_s']} s before the clock started."
    )
    for f in report["failures"]:
        print(
            f"  failure: {f.get('Method')} {f.get('Name')}: {f.get('Error')} "
            f"x{f.get('Occurrences')}"
        )
    if report["failures"] and report["gunicorn_log_problems"]:
        print("gunicorn log (problem lines):")
        for line in report["gunicorn_log_problems"]:
            print("  " + line)
    mem = report["memory"]
    print(
        f"\nWorker memory (VmRSS, every {mem['interval_s']:.0f} s), "
        f"limit {mem['limit_mb']:.0f} MB:"
    )
    for w in mem["workers"]:
        print(
            f"  pid {w['pid']}: first {w['first_kb'] / 1024:.1f} MB, max {w['max_kb'] / 1024:.1f} "
            f"MB, last {w['last_kb'] / 1024:.1f} MB ({w['samples']} samples)"
        )
    machine = report["machine"]
    print(
        f"\nMachine: {machine['cpus']} CPUs, load average (1 min) {machine['loadavg_1m_end']} at "
        f"the end, {machine['loadavg_1m_max']} at most; locust itself used "
        f"{machine['locust_cpu_s']} CPU s, the gunicorn workers "
        f"{sum(machine['gunicorn_workers_cpu_s'].values()):.1f} CPU s "
        f"(over {report['elapsed_s']} s)."
    )
    ok = report["ok"]
    print(
        f"Failures: {'none' if ok['no_failures'] else 'SOME'}; worker RSS under "
        f"{mem['limit_mb']:.0f} MB: {'yes' if ok['rss_under_limit'] else 'NO'} "
        f"(max {mem['max_worker_mb']} MB)."
    )
