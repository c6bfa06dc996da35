"""Commands plugged into ``arrtheaudio`` through the ``arrtheaudio.commands`` entry point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import click
import pytest
from click.testing import CliRunner

from arrtheaudio.cli import main

GROUP = main.COMMANDS_GROUP


def _group() -> click.Group:
    @click.group()
    def group() -> None:
        """A fresh group, so the test does not change the real one."""

    @group.command("health")
    def health() -> None:
        click.echo("client's own health")

    return group


def test_the_server_distribution_plugs_in_process_scan_and_serve() -> None:
    # The server distribution is installed in the test environment (server/pyproject.toml).
    names = {entry_point.name for entry_point in main.plugin_entry_points()}
    assert {"process", "scan", "serve"} <= names
    assert {"process", "scan", "serve"} <= set(main.cli.commands)
    assert main.cli.commands["process"].callback.__module__ == "arrtheaudio_server.cli"


def test_broken_or_foreign_plugins_are_left_out_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    plugged = [
        EntryPoint(name="zz-ok", value="arrtheaudio_server.cli:scan_command", group=GROUP),
        EntryPoint(name="broken", value="no_such_module_for_arrtheaudio:command", group=GROUP),
        EntryPoint(name="notacommand", value="arrtheaudio.cli.main:main", group=GROUP),
        # A plugin may not replace one of the client's commands.
        EntryPoint(name="health", value="arrtheaudio_server.cli:serve_command", group=GROUP),
    ]
    monkeypatch.setattr(main, "entry_points", lambda group: plugged if group == GROUP else [])
    group = _group()
    runner = CliRunner()
    with runner.isolation() as (_, err, _):
        main.add_plugin_commands(group)
        warnings = err.getvalue().decode()
    assert set(group.commands) == {"health", "zz-ok"}
    assert "'broken'" in warnings and "no_such_module_for_arrtheaudio" in warnings
    assert "is not a click command" in warnings
    assert runner.invoke(group, ["health"]).output == "client's own health\n"
    assert runner.invoke(group, ["zz-ok", "--help"]).exit_code == 0


def test_first_entry_point_of_a_name_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    plugged = [
        EntryPoint(name="b", value="arrtheaudio_server.cli:scan_command", group=GROUP),
        EntryPoint(name="a", value="arrtheaudio_server.cli:process_command", group=GROUP),
        EntryPoint(name="a", value="arrtheaudio_server.cli:serve_command", group=GROUP),
    ]
    monkeypatch.setattr(main, "entry_points", lambda group: plugged)
    assert [(e.name, e.value) for e in main.plugin_entry_points()] == [
        ("a", "arrtheaudio_server.cli:process_command"),
        ("b", "arrtheaudio_server.cli:scan_command"),
    ]
