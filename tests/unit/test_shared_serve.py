"""``branchwork serve``: gunicorn's processes and threads come from the settings unless given."""

from __future__ import annotations

import os

import pytest

from shared import cli


@pytest.fixture
def launched(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "execvp", lambda program, argv: calls.append(argv))
    return calls


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_serve_takes_workers_and_threads_from_the_settings(monkeypatch, launched):
    monkeypatch.setenv("BRANCHWORK_HTTP_WORKERS", "3")
    monkeypatch.setenv("BRANCHWORK_HTTP_THREADS", "5")
    cli.main(["serve", "members"])
    assert _option(launched[0], "--workers") == "3" and _option(launched[0], "--threads") == "5"


def test_the_command_line_overrides_the_settings(monkeypatch, launched):
    monkeypatch.setenv("BRANCHWORK_HTTP_WORKERS", "3")
    cli.main(["serve", "members", "--workers", "1", "--threads", "4"])
    assert _option(launched[0], "--workers") == "1" and _option(launched[0], "--threads") == "4"
