"""Schema migrations with Alembic, run programmatically at every start (no alembic.ini needed).

* **fresh database** — every revision runs, from the 0.1 baseline up.
* **0.1 database** — it has the tables but no ``alembic_version``: it is stamped with the
  baseline revision, then upgraded in place (the rollups are built from its rows).
* **newer than the code** — its revision is unknown here: refused with :class:`SchemaTooNew`,
  nothing changed (an older server must not write a schema it does not understand).
* **several instances at once** (PostgreSQL) — the whole upgrade is one transaction holding
  the dialect's schema lock: the first upgrades, the others wait, then find nothing to do.

The revisions live in :mod:`.migrations` inside the server package, so an installed server
finds them. Developers add one with ``alembic -c server/arrtheaudio_server/queue/store/alembic.ini
revision -m "..."`` (see README).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from arrtheaudio_server.queue.store.database import Database

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001_v0_1"


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer ArrTheAudio than this one."""


def alembic_config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def head() -> str:
    """The newest revision this code knows."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


def current_revision(conn: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(conn).get_current_heads())


def _upgrade(conn: Connection, url: str) -> None:
    config = alembic_config(conn)
    script = ScriptDirectory.from_config(config)
    known = {revision.revision for revision in script.walk_revisions()}
    current = current_revision(conn)
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        raise SchemaTooNew(
            f"the queue database {url} is at schema revision {', '.join(unknown)}, which this version of "
            f"ArrTheAudio does not know (its newest is {script.get_current_head()}): a newer version "
            "upgraded it. Run that version (or a newer one) against it; nothing was changed."
        )
    if not current and inspect(conn).has_table("jobs"):
        # Written by 0.1 (create_all, no version table): its schema is the baseline.
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")


async def upgrade(db: Database) -> None:
    """Bring the database to this code's schema (or refuse a newer one), in one transaction."""
    async with db.write() as conn:
        await db.dialect.lock_schema(conn)
        safe_url = db.writer.url.render_as_string(hide_password=True)
        await conn.run_sync(_upgrade, safe_url)
