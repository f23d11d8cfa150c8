"""The fault tier's figures: each scenario adds its rows to a results file, and after a passing run the
table of docs/reliability.md is written from that file (never typed by hand).

    python -m tests.faults.results RESULTS.json docs/reliability.md
"""

from __future__ import annotations

import json
import re
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path

BEGIN, END = "<!-- fault-results:begin -->", "<!-- fault-results:end -->"
COLUMNS = ("scenario", "commands accepted", "events checked", "lost", "duplicated", "time to recover")


@dataclass
class Count:
    """A census's figures: accepted commands, the events checked, those lost and those duplicated."""

    commands: int = 0
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)


class Results:
    """Rows of one run, kept in a JSON file as they are added (a later scenario failing keeps earlier rows)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.data = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "rows": []}
        self._save()

    def add(self, order: int, scenario: str, count: Count, recovery_seconds: float, **details) -> None:
        row = {"order": order, "scenario": scenario, "accepted": count.commands, "events": count.events,
               "lost": count.lost, "duplicated": count.duplicated, "recovery_seconds": round(recovery_seconds, 1),
               **details}
        with self._lock:
            self.data["rows"] = [r for r in self.data["rows"] if r["scenario"] != scenario] + [row]
            self._save()

    def _save(self) -> None:
        self.data["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.path.write_text(json.dumps(self.data, ensure_ascii=False, indent=2), encoding="utf-8")


def table(data: dict) -> str:
    """The results as a Markdown table, in the scenarios' order, with the run's date and totals."""
    rows = sorted(data["rows"], key=lambda r: (r["order"], r["scenario"]))
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append(f"| {row['scenario']} | {row['accepted']:,} | {row['events']:,} | {row['lost']} |"
                     f" {row['duplicated']} | {row['recovery_seconds']:.1f} s |")
    total = {key: sum(r[key] for r in rows) for key in ("accepted", "events", "lost", "duplicated")}
    lines.append(f"| **all scenarios** | **{total['accepted']:,}** | **{total['events']:,}** | **{total['lost']}** |"
                 f" **{total['duplicated']}** | |")
    notes = [f"- {row['scenario']}: {row['note']}" for row in rows if row.get("note")]
    started = data["started_at"].replace("T", " ").replace("+00:00", " UTC")
    return "\n".join([f"Run of {started} (`make test-faults`, {len(rows)} rows, generated from"
                      " `.run/faults/results.json`).", "", *lines, "", *notes])


def write_into(document: Path, data: dict) -> None:
    """Replace the part of ``document`` between the markers with the table."""
    text = document.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{document}: no {BEGIN} … {END} markers")
    document.write_text(pattern.sub(lambda _: f"{BEGIN}\n{table(data)}\n{END}", text), encoding="utf-8")


def main(argv: list[str]) -> int:
    results, document = Path(argv[0]), Path(argv[1])
    data = json.loads(results.read_text(encoding="utf-8"))
    write_into(document, data)
    print(f"{document}: table of {len(data['rows'])} rows from {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
