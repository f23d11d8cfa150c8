"""``make bench``: the platform's speed as ratios to raw baselines measured in the same run.

Sections (``--only`` picks some): raw (pgbench), platform (HTTP writes with every consumer keeping up,
CPU per command by process), freshness (command → journal → views, hop by hop), peer (our event store
against the eventsourcing library), core (the relay against a bare producer), rebuild (views and read
models from a million events against a raw COPY), readside (journal ingest against plain INSERTs;
scorecards over a million journalled events). The results go to ``bench/results/`` as JSON with the
machine they were measured on, and a summary with every target is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report  # noqa: E402
from bench.stack import Stack, machine  # noqa: E402

SECTIONS = ("raw", "platform", "freshness", "peer", "core", "rebuild", "readside")
RESULTS = Path(__file__).resolve().parent / "results"


def run_section(name: str, stack: Stack, results: dict, args) -> dict:
    raw_rate = results.get("raw", {}).get("tx_per_s")
    if name == "raw":
        from bench.raw import pgbench_rate
        return pgbench_rate(stack, clients=args.clients, seconds=args.seconds)
    if name == "platform":
        from bench.throughput import platform_run
        return platform_run(stack, raw_rate, clients=args.clients, seconds=args.seconds)
    if name == "freshness":
        from bench.freshness import freshness
        return freshness(stack, samples=args.samples)
    if name == "peer":
        from bench.peer import peer_section
        return peer_section(stack)
    if name == "core":
        from bench.core import relay_section
        return {"relay": relay_section(stack)}
    if name == "rebuild":
        from bench.rebuild import rebuild_section
        return rebuild_section(stack)
    if name == "readside":
        from bench.readside import readside_section
        return readside_section(stack)
    raise ValueError(f"unknown section {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--samples", type=int, default=120, help="freshness probes")
    args = parser.parse_args(argv)
    stack = Stack.discover()
    only = [name for name in SECTIONS if name in args.only]
    if "platform" in only and "raw" not in only:
        only.insert(0, "raw")  # ratios need the raw rate of the same run
    results: dict = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(stack)}
    timings = {}
    for name in only:
        started = time.perf_counter()
        print(f"bench: {name} …", flush=True)
        results[name] = run_section(name, stack, results, args)
        timings[name] = round(time.perf_counter() - started, 1)
        print(json.dumps(results[name], ensure_ascii=False, indent=1), flush=True)
    results["section_seconds"] = timings
    results["targets"] = report.targets(results)
    path = save(results)
    print(report.summary(results))
    print(f"bench: results in {path}")
    return 0 if results.get("platform", {}).get("kept_up", True) else 1  # a missed target is reported, not fatal


def save(results: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = results["started_at"].replace(":", "").replace("+0000", "Z")
    path = RESULTS / f"{stamp}-{results['machine']['host']}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
