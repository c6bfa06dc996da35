"""The PostgreSQL test server really runs, survives restart and kill, and cleans up."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import asyncpg
import pytest

from tests.support.postgres import DIR_PREFIX, OWNER_FILE, PostgresServer, remove_stale_dirs

pytestmark = pytest.mark.postgres


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def test_pg_url_is_a_fresh_database_on_a_real_server(
    pg_url: str, postgres_server: PostgresServer
) -> None:
    assert pg_url.startswith(f"postgresql+asyncpg://postgres@127.0.0.1:{postgres_server.port}/t_")
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        version = await conn.fetchval("SHOW server_version_num")
        assert int(version) >= 130000
        assert await conn.fetchval("SHOW fsync") == "off"
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        await conn.execute("CREATE TABLE t (x int)")
    finally:
        await conn.close()


async def test_each_test_gets_its_own_database(pg_url: str, postgres_server: PostgresServer) -> None:
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        # The table made by the previous test lives in another database.
        assert await conn.fetchval("SELECT to_regclass('public.t')") is None
    finally:
        await conn.close()


def test_server_runs_as_non_root(postgres_server: PostgresServer) -> None:
    assert postgres_server.process is not None
    uid = os.stat(f"/proc/{postgres_server.process.pid}").st_uid
    assert uid != 0
    if os.geteuid() == 0:
        assert pwd.getpwuid(uid).pw_name in ("postgres", "arrtheaudio-pg")


async def test_restart_keeps_port_and_data_and_drops_connections(
    pg_url: str, postgres_server: PostgresServer
) -> None:
    conn = await asyncpg.connect(_dsn(pg_url))
    await conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
    port = postgres_server.port
    postgres_server.restart()
    assert postgres_server.port == port
    with pytest.raises((asyncpg.PostgresError, OSError, asyncpg.InterfaceError)):
        await conn.fetchval("SELECT 1")
    conn.terminate()
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        assert await conn.fetchval("SELECT x FROM kept") == 42
    finally:
        await conn.close()


async def test_kill_then_start_recovers_committed_data(pg_url: str, postgres_server: PostgresServer) -> None:
    conn = await asyncpg.connect(_dsn(pg_url))
    await conn.execute("CREATE TABLE crash (x int); INSERT INTO crash VALUES (7)")
    pid = postgres_server.process.pid  # type: ignore[union-attr]
    postgres_server.kill()
    assert not postgres_server.running
    assert (
        not Path(f"/proc/{pid}").exists()
        or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
    )
    conn.terminate()
    postgres_server.ensure_running()
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        assert await conn.fetchval("SELECT x FROM crash") == 7
    finally:
        await conn.close()


def test_bad_database_name_is_refused(postgres_server: PostgresServer) -> None:
    with pytest.raises(ValueError):
        postgres_server.create_database('x"; DROP DATABASE postgres; --')


def test_second_server_picks_another_port_and_close_removes_everything(
    postgres_server: PostgresServer,
) -> None:
    other = PostgresServer()
    try:
        other.start()
        assert other.port != postgres_server.port
        assert other.psql("SELECT 1") == "1"
        session_dir = other.session_dir
        assert session_dir is not None and session_dir.exists()
    finally:
        other.close()
    assert not session_dir.exists()
    assert not other.running
    other.close()  # idempotent


def test_postmaster_dies_with_a_killed_test_process() -> None:
    """kill -9 of the process that owns the server leaves no postmaster behind, and the
    next session removes the orphaned directory."""
    # Not under tmp_path: pytest's base temp dir is private to root, the postgres user
    # must be able to traverse the parents.
    base = Path(tempfile.mkdtemp(prefix="arrtheaudio-pgtest-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        _check_orphan_cleanup(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _check_orphan_cleanup(base: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pathlib import Path
        from tests.support.postgres import PostgresServer
        server = PostgresServer(base_dir=Path({str(base)!r}))
        server.start()
        print(server.process.pid, flush=True)
        time.sleep(120)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()  # type: ignore[union-attr]
        postmaster = int(line)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 15
        while Path(f"/proc/{postmaster}").exists() and time.monotonic() < deadline:
            stat = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if stat == "Z":
                break
            time.sleep(0.05)
        assert not Path(f"/proc/{postmaster}").exists() or (
            Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        )
    finally:
        if child.poll() is None:
            child.kill()
    leftovers = list(base.glob(DIR_PREFIX + "*"))
    assert len(leftovers) == 1 and (leftovers[0] / OWNER_FILE).exists()
    assert remove_stale_dirs(base) == leftovers
    assert not leftovers[0].exists()
