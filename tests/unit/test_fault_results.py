"""The fault tier's figures reach docs/reliability.md from its results file, never by hand."""

from __future__ import annotations

import json

import pytest

from tests.faults.results import BEGIN, END, Count, Results, write_into


def test_the_table_is_written_between_the_markers_in_the_scenarios_order_with_totals(tmp_path):
    results = Results(tmp_path / "results.json")
    results.add(2, "SMTP server down 20 s", Count(commands=40, events=55, lost=0, duplicated=0), 3.04,
                note="12 e-mails, each received once")
    results.add(1, "kill -9 a partition leader", Count(commands=1200, events=1350), 11.0)
    document = tmp_path / "reliability.md"
    document.write_text(f"# Reliability\n\n{BEGIN}\nan older table\n{END}\n\nThe end.\n", encoding="utf-8")

    write_into(document, json.loads((tmp_path / "results.json").read_text(encoding="utf-8")))

    text = document.read_text(encoding="utf-8")
    assert "an older table" not in text and text.startswith("# Reliability") and text.endswith("The end.\n")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[1:] == ["| kill -9 a partition leader | 1,200 | 1,350 | 0 | 0 | 11.0 s |",
                        "| SMTP server down 20 s | 40 | 55 | 0 | 0 | 3.0 s |",
                        "| **all scenarios** | **1,240** | **1,405** | **0** | **0** | |"]
    assert "- SMTP server down 20 s: 12 e-mails, each received once" in text


def test_a_scenario_run_again_replaces_its_row(tmp_path):
    results = Results(tmp_path / "results.json")
    results.add(1, "restart PostgreSQL", Count(commands=10, events=10), 2.0)
    results.add(1, "restart PostgreSQL", Count(commands=20, events=25), 4.0)
    rows = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["rows"]
    assert [(row["accepted"], row["events"]) for row in rows] == [(20, 25)]


def test_a_document_without_the_markers_is_refused(tmp_path):
    document = tmp_path / "reliability.md"
    document.write_text("no markers here\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        write_into(document, {"started_at": "2026-01-01T00:00:00+00:00", "rows": []})
