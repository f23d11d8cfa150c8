"""The targets of the pipeline (docs/performance.md) checked against one run, and a table of every figure."""

from __future__ import annotations

from collections.abc import Callable


def _get(results: dict, *path: str):
    value = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


TARGETS: list[tuple[str, tuple[str, ...], Callable[[float], bool], str]] = [
    ("CPU per command, every process of the stack", ("platform", "cpu_ms_per_command"), lambda v: v <= 5.0, "≤ 5 ms"),
    ("HTTP writes against the raw rate, consumers keeping up", ("platform", "ratio_to_raw"), lambda v: v >= 0.40,
     "≥ 0.40×"),
    ("freshness p99, command → views read, 4 writers", ("freshness", "to_views_read_ms", "p99"), lambda v: v <= 200,
     "≤ 200 ms"),
    ("audit views rebuild against a raw COPY", ("rebuild", "audit_views", "ratio_to_copy"), lambda v: v >= 0.30,
     "≥ 0.30×"),
    ("members read models rebuild against a raw COPY", ("rebuild", "members", "ratio_to_copy"), lambda v: v >= 0.30,
     "≥ 0.30×"),
    ("activities read models rebuild against a raw COPY", ("rebuild", "activities", "ratio_to_copy"),
     lambda v: v >= 0.30, "≥ 0.30×"),
    ("notify read models rebuild against a raw COPY", ("rebuild", "notify", "ratio_to_copy"), lambda v: v >= 0.30,
     "≥ 0.30×"),
    ("journal ingest against plain INSERTs", ("readside", "journal_ingest", "ratio_to_insert"), lambda v: v >= 0.30,
     "≥ 0.30×"),
    ("branch yearly scorecard p95 over 1 M events", ("readside", "branch_year", "p95_ms"), lambda v: v <= 50,
     "≤ 50 ms"),
    ("bureau quarterly roll-up of 100 branches p95 over 1 M events", ("readside", "bureau_quarter", "p95_ms"),
     lambda v: v <= 200, "≤ 200 ms"),
    ("our append against the eventsourcing library", ("peer", "ratio_to_library"), lambda v: v >= 2.0, "≥ 2×"),
]


def targets(results: dict) -> list[dict]:
    """Each target with the run's figure; ``met`` is None where the section did not run."""
    checked = []
    for name, path, test, wanted in TARGETS:
        value = _get(results, *path)
        checked.append({"target": name, "wanted": wanted, "value": value,
                        "met": None if value is None else bool(test(value))})
    return checked


def summary(results: dict) -> str:
    lines = ["", "| target | wanted | this run | met |", "|---|---|---|---|"]
    for target in results["targets"]:
        met = {True: "yes", False: "**no**", None: "not run"}[target["met"]]
        lines.append(f"| {target['target']} | {target['wanted']} | {target['value']} | {met} |")
    platform = results.get("platform")
    if platform:
        lines += ["", f"platform: {platform['commands_per_s']} commands/s = {platform['ratio_to_raw']}× raw"
                      f" ({results['raw']['tx_per_s']} tx/s); consumers kept up: {platform['kept_up']}",
                  "CPU ms per command by process:"]
        lines += [f"  {name:32} {ms:8.2f}" for name, ms in platform["cpu_ms_per_command_by_process"].items()]
        lines.append(f"  {'(load clients, not counted)':32} {platform['client_cpu_ms_per_command']:8.2f}")
    return "\n".join(lines)
