"""bench_mongo_import's report: the summary of an import and its COPY baseline (per big
collection and for the whole import), the machine it ran on, and the table it prints."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

# The big collections, compared one by one: collection -> the tables its phase writes.
COMPARED = {
    "crm_Contacts": ("crm_contact", "crm_note"),
    "crm_Accounts": ("crm_company",),
    "crm_Leads": ("crm_lead",),
    "crm_Opportunities": ("crm_deal",),
}


def machine() -> dict[str, Any]:
    from django.db import connection

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
        fsync, synchronous_commit = cursor.fetchone()
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": server,
        "fsync": fsync,
        "synchronous_commit": synchronous_commit,
        "loadavg_1m_end": os.getloadavg()[0],
    }


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f}" if seconds > 0 else f"{'-':>10}"


def summarise(
    counts: dict[str, int], imported: dict[str, Any], rows: dict[str, int], copy: dict[str, float]
) -> dict[str, Any]:
    total_docs = sum(counts.values())
    phases = imported["phases"]
    compared = []
    for collection, tables in COMPARED.items():
        import_s = phases.get(collection, 0.0)
        copy_s = sum(copy[t] for t in tables)
        compared.append(
            {
                "collection": collection,
                "tables": list(tables),
                "documents": counts.get(collection, 0),
                "rows": sum(rows[t] for t in tables),
                "import_seconds": round(import_s, 2),
                "copy_seconds": round(copy_s, 2),
                "ratio": round(import_s / copy_s, 2) if copy_s else None,
            }
        )
    copy_total = sum(copy.values())
    return {
        "documents": total_docs,
        "import_seconds": round(imported["seconds"], 2),
        "documents_per_second": round(total_docs / imported["seconds"]),
        "copy_rows": sum(rows.values()),
        "copy_seconds": round(copy_total, 2),
        "ratio": round(imported["seconds"] / copy_total, 2) if copy_total else None,
        "compared": compared,
    }


def print_report(report: dict[str, Any]) -> None:
    counts, imported = report["counts"], report["import"]
    phases, states, summary = imported["phases"], imported["states"], report["summary"]
    print(
        f"\nImport: migrate_from_mongo --dump (quiet, batches of {report['batch_size']:,}), "
        f"exit code {imported['exit_code']}"
    )
    print(
        f"{'collection':<32}{'documents':>11}{'imported':>11}{'skipped':>9}{'failed':>8}"
        f"{'seconds':>9}{'docs/s':>10}"
    )
    for collection, count in sorted(counts.items(), key=lambda item: -phases.get(item[0], 0)):
        state = states.get(collection, {})
        seconds = phases.get(collection, 0.0)
        print(
            f"{collection:<32}{count:>11,}{state.get('imported', 0):>11,}"
            f"{state.get('skipped', 0):>9,}{state.get('failed', 0):>8,}{seconds:>9.1f}"
            f"{_rate(count, seconds)}"
        )
    rest = imported["seconds"] - sum(phases.values())
    print(f"{'(links phase)':<71}{phases.get('(links)', 0.0):>9.1f}")
    print(f"{'(report, error log, other)':<71}{rest:>9.1f}")
    print(
        f"{'total':<32}{summary['documents']:>11,}{'':>28}{imported['seconds']:>9.1f}"
        f"{_rate(summary['documents'], imported['seconds'])}"
    )
    backend = imported["backend_cpu_seconds"]
    print(
        f"CPU: this process {imported['client_cpu_seconds']:.1f} s, PostgreSQL backend "
        + (f"{backend:.1f} s" if backend is not None else "not measured (not a local server)")
        + f"; error log {imported['log_lines']:,} lines"
    )
    rss = imported["rss_mib"]
    print(
        f"Memory of this process during the import: {rss['start']} MiB at the start, "
        f"{rss['max']} MiB at most"
    )
    print(
        f"One pass over crm_Contacts.bson without decoding (the importer's count for its "
        f"progress bar): {report['contacts_raw_read_seconds']:.1f} s"
    )
    print(
        "\nBaseline: the same rows, copied out and loaded back with one COPY ... FROM STDIN "
        "(FORMAT BINARY)\nper table, into the same tables (same indexes, foreign keys and "
        "triggers; audit through the\nsame bulk opt-out as the import, one entry per table):"
    )
    print(f"{'collection':<20}{'tables':<24}{'rows':>11}{'import s':>10}{'COPY s':>9}{'ratio':>7}")
    for row in summary["compared"]:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        print(
            f"{row['collection']:<20}{' + '.join(row['tables']):<24}{row['rows']:>11,}"
            f"{row['import_seconds']:>10.1f}{row['copy_seconds']:>9.1f}{ratio:>7}"
        )
    ratio = f"{summary['ratio']:.2f}" if summary["ratio"] is not None else "-"
    print(
        f"{'whole import':<20}{'all record + link':<24}{summary['copy_rows']:>11,}"
        f"{summary['import_seconds']:>10.1f}{summary['copy_seconds']:>9.1f}{ratio:>7}"
    )
    m = report["machine"]
    print(
        f"\n{summary['documents']:,} documents in {summary['import_seconds']:.1f} s: "
        f"{summary['documents_per_second']:,} documents/s; import / COPY = {ratio} "
        f"(target: 20,000 documents/s on 2 cores, within 3x of COPY)"
    )
    print(
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), PostgreSQL {m['postgresql']} "
        f"(fsync {m['fsync']}, synchronous_commit {m['synchronous_commit']}), Python "
        f"{m['python']}, load average {m['loadavg_1m_end']:.2f} at the end; {m['date']}"
    )
