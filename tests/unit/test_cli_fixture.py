"""The ``cli`` fixture runs the command line in this process (typer's runner)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_cli_runs_a_command_in_process(cli: Callable[..., Any]) -> None:
    result = cli("--help")
    assert result.exit_code == 0, result.output
    assert "stock-list" in result.output and "key" in result.output


def test_cli_reports_a_usage_error_by_its_exit_code(cli: Callable[..., Any]) -> None:
    assert cli("no-such-command").exit_code == 2
