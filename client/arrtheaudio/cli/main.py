"""The ``arrtheaudio`` command: one click group, the remote commands plus any plugged-in ones.

The remote commands (talking to a running server) ship with this distribution. Other
distributions add commands through the ``arrtheaudio.commands`` entry point group: the
server's (``arrtheaudio-server``) adds ``process``, ``scan`` and ``serve``. Where no such
distribution is installed the commands simply do not exist, so a client-only install
offers nothing that fails on import.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import click

from arrtheaudio.cli import library, remote

# Entry point group other distributions register ``click.Command`` objects in.
COMMANDS_GROUP = "arrtheaudio.commands"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="arrtheaudio")
def cli() -> None:
    """ArrTheAudio: set the right default audio track on your media files."""


def plugin_entry_points() -> list[EntryPoint]:
    """The installed plugins' commands, in name order (one per name: the first one found wins)."""
    unique: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=COMMANDS_GROUP):
        unique.setdefault(entry_point.name, entry_point)
    return [unique[name] for name in sorted(unique)]


def add_plugin_commands(group: click.Group) -> None:
    """Add every plugged-in command whose module imports; a broken plugin is reported, not fatal.

    A half-installed plugin must not take the remote commands down with it: its command is
    left out with one line on stderr saying why.
    """
    for entry_point in plugin_entry_points():
        if entry_point.name in group.commands:
            continue  # the client's own commands win
        try:
            command = entry_point.load()
        except ImportError as exc:
            click.echo(
                f"warning: command {entry_point.name!r} from {entry_point.value} is unavailable: {exc}",
                err=True,
            )
            continue
        if not isinstance(command, click.Command):
            click.echo(f"warning: {entry_point.value} is not a click command; ignored", err=True)
            continue
        group.add_command(command, entry_point.name)


remote.register(cli)
library.register(cli)
add_plugin_commands(cli)


def main() -> None:
    cli()
