"""Where the stack's CPU goes under the benchmark's load: py-spy on every Python process at once.

  .venv/bin/python bench/profile.py [--seconds 20] [--clients 8]

Runs the platform mix, samples each worker and HTTP process with py-spy (collapsed stacks under
``.run/profile/``), and prints for each process the functions that hold the most samples, inclusive
of what they call, so a decision to optimise starts from a measurement.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

from bench.load import run_mix, set_up_branches  # noqa: E402
from bench.stack import Stack, _pid_files  # noqa: E402

PY_SPY = Path(sys.executable).parent / "py-spy"


def python_processes(stack: Stack) -> dict[str, int]:
    """Every Python process of the stack by name; a gunicorn master is replaced by its worker."""
    found = {}
    for name, pid in _pid_files(stack.run_dir).items():
        try:
            process = psutil.Process(pid)
        except psutil.Error:
            continue
        if "python" not in " ".join(process.cmdline()[:1]) and "gunicorn" not in " ".join(process.cmdline()[:2]) \
                and "branchwork" not in " ".join(process.cmdline()[:2]):
            continue
        children = process.children()
        found[name] = children[0].pid if children and "gunicorn" in " ".join(process.cmdline()[:2]) else pid
    return found


def inclusive(collapsed: Path, top: int) -> list[tuple[str, float]]:
    """The functions holding the most samples, counting each function once per stack."""
    per_function: collections.Counter = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = {frame.split(" (")[0] + " " + frame.split("/")[-1].split(":")[0].rstrip(")")
                  for frame in stack.split(";")}
        for frame in frames:
            per_function[frame] += samples
    return [(name, count / max(total, 1)) for name, count in per_function.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the GIL: where Python spends CPU, not where it waits")
    args = parser.parse_args()
    stack = Stack.discover()
    out = stack.run_dir / "profile"
    out.mkdir(exist_ok=True)
    branches = set_up_branches(stack, args.clients, "profile")
    stop = threading.Event()
    load = threading.Thread(target=run_mix, args=(branches, args.seconds + 10, stop))
    load.start()
    gil = ["--gil"] if args.gil else []
    spies = {name: subprocess.Popen([str(PY_SPY), "record", "--pid", str(pid), "--duration", str(args.seconds),
                                     "--rate", "50", "--format", "raw", "--nonblocking", *gil,
                                     "--output", str(out / f"{name}.txt")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name, pid in python_processes(stack).items()}
    for spy in spies.values():
        spy.wait()
    stop.set()
    load.join()
    for name in sorted(spies):
        path = out / f"{name}.txt"
        if not path.exists():
            continue
        print(f"\n== {name}")
        for function, share in inclusive(path, args.top):
            print(f"  {share:6.1%}  {function}")


if __name__ == "__main__":
    main()
