"""Remote commands about the library around the queue: Sonarr/Radarr connections and schedules.

``arrtheaudio arr test`` asks the server to fetch every configured Arr library now and shows
each connection's state and title count (exit 7 when one of them failed);
``arrtheaudio schedules`` lists the scheduled scans with their next and last runs.
"""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from arrtheaudio.cli import exit_codes, render
from arrtheaudio.cli.remote import remote_command, session
from arrtheaudio_proto.v1 import admin_service_pb2, batch_service_pb2

_STATE_STYLE = {
    admin_service_pb2.CONNECTION_STATE_OK: "green",
    admin_service_pb2.CONNECTION_STATE_ERROR: "red",
    admin_service_pb2.CONNECTION_STATE_UNKNOWN: "yellow",
}
_OUTCOME = {
    batch_service_pb2.SCHEDULE_RUN_OUTCOME_STARTED: "[green]started[/]",
    batch_service_pb2.SCHEDULE_RUN_OUTCOME_SKIPPED: "[yellow]skipped[/]",
    batch_service_pb2.SCHEDULE_RUN_OUTCOME_FAILED: "[red]failed[/]",
}


def connections_table(reply: admin_service_pb2.TestArrConnectionsResponse) -> Table:
    table = Table(title=f"Arr connections ({len(reply.connections)})")
    for column in ("Kind", "Name", "URL", "State", "Titles", "Message"):
        table.add_column(column, justify="right" if column == "Titles" else "left")
    for c in reply.connections:
        kind = admin_service_pb2.ArrKind.Name(c.kind).removeprefix("ARR_KIND_").lower()
        state = admin_service_pb2.ConnectionState.Name(c.state).removeprefix("CONNECTION_STATE_").lower()
        style = _STATE_STYLE.get(c.state, "white")
        table.add_row(
            kind, escape(c.name), escape(c.url), f"[{style}]{state}[/]", str(c.title_count), escape(c.message)
        )
    return table


def schedules_table(reply: batch_service_pb2.ListSchedulesResponse) -> Table:
    table = Table(title=f"Schedules ({len(reply.schedules)})")
    for column in ("Name", "Cron", "Path", "Next run", "Last run", "Outcome", "Last batch", "Message"):
        table.add_column(column)
    for s in reply.schedules:
        table.add_row(
            escape(s.name),
            escape(s.cron),
            escape(s.options.path) + (" (dry run)" if s.options.dry_run else ""),
            render.when(s, "next_run_at"),
            render.when(s, "last_run_at"),
            _OUTCOME.get(s.last_outcome, "-"),
            s.last_batch_id or "-",
            escape(s.last_message),
        )
    return table


def register(group: click.Group) -> None:
    @group.group("arr")
    def arr() -> None:
        """The Sonarr/Radarr connections the server reads original languages from."""

    @arr.command("test")
    @remote_command
    def arr_test() -> None:
        """Fetch every configured Arr library now; state and title count per connection."""
        s = session()
        reply = s.client.test_arr_connections()
        if s.as_json:
            s.show(reply)
        elif not reply.connections:
            s.console.print("No Arr connections configured (arr.sonarr / arr.radarr in the config).")
        else:
            s.show(reply, connections_table(reply))
        if any(c.state == admin_service_pb2.CONNECTION_STATE_ERROR for c in reply.connections):
            click.get_current_context().exit(exit_codes.UNAVAILABLE)

    @group.command("schedules")
    @remote_command
    def schedules() -> None:
        """Scheduled scans (schedules: in the config): next run, last run, last batch."""
        s = session()
        reply = s.client.list_schedules()
        if s.as_json:
            s.show(reply)
        elif not reply.schedules:
            s.console.print("No schedules configured (schedules: in the config).")
        else:
            s.show(reply, schedules_table(reply))
