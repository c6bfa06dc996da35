"""The ``arrtheaudio`` command: one click group, subcommands registered from their own modules.

Remote commands (talking to a running server) live beside this module; the local
``process`` / ``scan`` commands import the server package lazily, so the client
distribution works without the server's dependencies installed.
"""

from __future__ import annotations

import importlib

import click

# Modules that each define ``register(group: click.Group) -> None``; missing ones are skipped
# so a partial install (client only) still offers what it can.
_COMMAND_MODULES = (
    "arrtheaudio.cli.local",
    "arrtheaudio.cli.remote",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="arrtheaudio")
def cli() -> None:
    """ArrTheAudio: set the right default audio track on your media files."""


def _register_all(group: click.Group) -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(group)


_register_all(cli)


def main() -> None:
    cli()
