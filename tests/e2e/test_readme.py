"""The README's first request runs as written, in bash, against the running platform, and answers what the
README says it answers (ids aside)."""

from __future__ import annotations

import json
import re
import subprocess

from tests.support import REPO_ROOT

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def first_request() -> tuple[str, list[str]]:
    """The README's commands (its indented block under "A first request") and the answers it shows."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A first request", 1)[1].split("\n## ", 1)[0]
    block = [line[4:] for line in section.splitlines() if line.startswith("    ")]
    answers = [line.split("# →", 1)[1].strip() for line in block if line.lstrip().startswith("# →")]
    return "\n".join(line for line in block if not line.lstrip().startswith("# →")), answers


def test_the_readmes_first_request_runs_as_written_and_answers_as_shown(platform, stack_env):
    script, answers = first_request()
    assert "<" not in script.replace("<<", ""), "no placeholder for the reader to fill in"
    for service, port in (("members", 8001), ("audit", 8004)):
        script = script.replace(f"localhost:{port}", platform.urls[service].removeprefix("http://"))
    env = {**stack_env, "PATH": stack_env.get("PATH", "/usr/bin:/bin")}
    for run in range(2):  # a second run finds the bureau's code taken and carries on with the same bureau
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.strip().splitlines()
        assert re.fullmatch(UUID, lines[0]), lines[0]
        if run == 0:
            bureau = lines[0]
        assert lines[0] == bureau
        branch, event = json.loads(lines[1]), json.loads(lines[2])
        shown_branch = json.loads(re.sub(r'"id":"[^"]*"', '"id":"x"', answers[1]))
        assert set(branch) == set(shown_branch) and branch["name"] == shown_branch["name"]
        assert event["event_type"] == "members.BranchEstablished" and event["data"]["branch_id"] == branch["id"]
        assert event["data"]["name"] == "离退休干部党支部" and set(event) == {"seq", "event_type", "data"}
    assert re.match(UUID, answers[0])
