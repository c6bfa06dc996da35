"""A real PostgreSQL server for the test session, started from Debian's binaries.

The multi-instance queue (``FOR UPDATE SKIP LOCKED`` claims, LISTEN/NOTIFY events,
lease recovery after a crash) is only believable against the real server, so the test
setup runs one: ``initdb`` into a temporary directory, then ``postgres`` as a child of the
test process, listening on 127.0.0.1 on a free port (and a unix socket in the same
directory), with ``fsync`` off because the data is thrown away.

``synchronous_commit`` stays on (the default; ``synchronous_commit=False`` turns it off):
with fsync off it costs a ``write()`` per commit, not a disk flush, and with it off a
``kill()`` loses transactions committed in the last ~200 ms (they are still in the WAL
buffers), which would make "nothing accepted is ever lost" tests flaky for the wrong reason.

PostgreSQL refuses to run as root. When the tests run as root the server runs as the
``postgres`` system user (Debian's package creates it; otherwise a system user is
created), as the current user otherwise.

Robustness, because every team's suite shares it:

* **ports** — a free port is picked and the start retried on another one if something
  grabbed it in between; ``restart()`` keeps the port so URLs handed out stay valid.
* **no orphans** — the postmaster gets ``PR_SET_PDEATHSIG`` (SIGQUIT: immediate
  shutdown) from a long-lived spawner thread, so it dies with the test process even on
  ``kill -9``; ``atexit`` stops it on a normal exit; leftovers of sessions whose owner
  process is gone are removed at the next start.
* **crash on purpose** — ``kill()`` SIGKILLs the postmaster and its backends the way a
  crashed machine would; the next ``start()`` runs PostgreSQL's crash recovery.

Usage (the fixtures in ``tests/conftest.py`` do this)::

    server = PostgresServer()
    server.start()
    url = server.create_database("t_abc")   # postgresql+asyncpg://postgres@127.0.0.1:PORT/t_abc
    server.restart()                         # same port, data kept
    server.close()                           # stop and remove the data directory
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.ports import free_port

SUPERUSER = "postgres"
DIR_PREFIX = "arrtheaudio-pg-"
OWNER_FILE = "owner.pid"
_FALLBACK_OS_USER = "arrtheaudio-pg"
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PR_SET_PDEATHSIG = 1


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are not installed (the fixture skips or fails on this)."""


class PostgresStartError(RuntimeError):
    """The server did not come up; the message carries the tail of its log."""


def find_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb`` (or $PG_BIN_DIR)."""
    override = os.environ.get("PG_BIN_DIR")
    if override and (Path(override) / "initdb").is_file():
        return Path(override)
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> tuple[int, ...]:
        number = Path(path).parent.parent.name
        return tuple(int(part) for part in number.split(".") if part.isdigit())

    if candidates:
        return Path(max(candidates, key=version)).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _pid_alive(pid: int) -> bool:
    """True for a live, non-zombie process (a zombie holds no resources any more)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:
        return True
    return state not in ("Z", "X")


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            children.append(int(entry))
    return children


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the forked child
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text(encoding="ascii", errors="replace").splitlines()[0]
        return int(first.strip())
    except (OSError, ValueError, IndexError):
        return None


def remove_stale_dirs(base: Path) -> list[Path]:
    """Remove data directories of earlier sessions whose test process no longer exists.

    Their postmaster is normally gone already (it dies with its parent); if one survived
    (the spawner thread's death signal was lost), it is stopped first. Directories whose
    owner is alive belong to a concurrent test session and are left alone.
    """
    removed = []
    for path in base.glob(DIR_PREFIX + "*"):
        try:
            owner = int((path / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            # No owner file: a directory still being set up, or one not worth guessing about.
            if time.time() - path.stat().st_mtime < 3600:
                continue
            owner = -1
        if owner > 0 and _pid_alive(owner):
            continue
        postmaster = _postmaster_pid(path / "data")
        if postmaster and _pid_alive(postmaster) and _is_our_postmaster(postmaster, path):
            os.kill(postmaster, signal.SIGQUIT)
            deadline = time.monotonic() + 10
            while _pid_alive(postmaster) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _is_our_postmaster(pid: int, session_dir: Path) -> bool:
    """Only signal a process whose command line names this session's data directory."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return "postgres" in cmdline and str(session_dir / "data") in cmdline


class PostgresServer:
    """One throw-away PostgreSQL cluster, owned by this process."""

    def __init__(
        self,
        *,
        bin_dir: Path | None = None,
        base_dir: Path | None = None,
        port: int | None = None,
        max_connections: int = 300,
        synchronous_commit: bool = True,
    ) -> None:
        found = bin_dir or find_bin_dir()
        if found is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb); "
                "install them with `scripts/bootstrap.sh --test` (apt package `postgresql`)"
            )
        self.bin_dir = found
        self.base_dir = base_dir or self._default_base()
        self.port = port or 0
        self.max_connections = max_connections
        self.synchronous_commit = synchronous_commit
        self.session_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._os_user: str | None = None
        self._initialised = False
        self._closed = False
        self._lock = threading.RLock()
        # The postmaster's death signal fires when the *thread* that forked it exits, so
        # every fork happens on this one thread, which lives as long as the process.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-spawner")
        self._atexit_registered = False

    # --- public API -------------------------------------------------------------------

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        assert self.session_dir is not None, "server not started"
        return self.session_dir / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.session_dir is not None, "server not started"
        return self.session_dir / "sock"

    @property
    def log_path(self) -> Path:
        assert self.session_dir is not None, "server not started"
        return self.session_dir / "postgres.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def url(self, database: str = "postgres", *, driver: str = "asyncpg") -> str:
        """An SQLAlchemy URL (``driver=""`` gives a plain libpq/asyncpg DSN)."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def start(self, timeout: float = 30.0) -> None:
        """initdb on first use, then start the postmaster and wait until it accepts connections."""
        with self._lock:
            if self._closed:
                raise RuntimeError("PostgresServer was closed")
            if self.running:
                return
            if not self._initialised:
                self._init_cluster()
            keep_port = self.port != 0
            attempts = 1 if keep_port else 5
            last_error: Exception | None = None
            for _ in range(attempts):
                if not keep_port:
                    self.port = free_port()
                try:
                    self._launch(timeout)
                    return
                except _PortInUse as exc:
                    last_error = exc
                    if keep_port:
                        break
            raise PostgresStartError(f"could not start PostgreSQL: {last_error}")

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (open sessions are disconnected, data is kept)."""
        with self._lock:
            process = self.process
            if process is None:
                return
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGQUIT)
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        self._kill_tree(process.pid)
                        process.wait(timeout=10)
            self.process = None

    def restart(self, timeout: float = 30.0) -> None:
        """Stop and start on the same port: clients see their connections drop, then come back."""
        with self._lock:
            self.stop(timeout)
            self._start_same_port(timeout)

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend, like a crash; ``start()`` then recovers."""
        with self._lock:
            process = self.process
            if process is None:
                return
            if process.poll() is None:
                self._kill_tree(process.pid)
                process.wait(timeout=10)
            self.process = None

    def ensure_running(self, timeout: float = 30.0) -> None:
        """Start again (same port) if a test stopped or killed the server and left it down."""
        with self._lock:
            if not self.running:
                self._start_same_port(timeout)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its ``postgresql+asyncpg://`` URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        if not _DB_NAME.match(name):
            raise ValueError(f"database name must match {_DB_NAME.pattern}: {name!r}")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it (PostgreSQL ≥ 13)."""
        if not _DB_NAME.match(name):
            raise ValueError(f"bad database name {name!r}")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def psql(self, sql: str, *, database: str = "postgres", timeout: float = 30.0) -> str:
        """Run SQL through ``psql`` over the unix socket; returns unaligned, tuples-only output.

        A subprocess rather than a driver, so fixtures work whether or not an event loop runs.
        """
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._env(),
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout.strip()

    def close(self) -> None:
        """Stop the server and remove its directory; safe to call twice (also runs at exit)."""
        with self._lock:
            if self._closed:
                return
            try:
                self.stop(timeout=15)
            except Exception:  # noqa: BLE001 - the directory must go even if stopping failed
                if self.process is not None:
                    self._kill_tree(self.process.pid)
                    self.process = None
            self._closed = True
            if self.session_dir is not None:
                shutil.rmtree(self.session_dir, ignore_errors=True)
            self._spawner.shutdown(wait=False)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AssertionError):
            return ""

    # --- internals --------------------------------------------------------------------

    @staticmethod
    def _default_base() -> Path:
        base = Path(tempfile.gettempdir())
        # The socket path (dir + "/sock/.s.PGSQL.NNNNN") must fit in 107 bytes, and the
        # postgres user must be able to traverse the parents: /tmp always qualifies.
        if len(str(base)) > 60 or not os.access(base, os.W_OK):
            base = Path("/tmp")
        return base

    def _start_same_port(self, timeout: float) -> None:
        # A port freed a moment ago can take a short while to become bindable again.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.start(timeout=timeout)
                return
            except PostgresStartError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _run_as_owner(self) -> dict[str, object]:
        if self._os_user is None:
            return {}
        record = pwd.getpwnam(self._os_user)
        return {"user": record.pw_uid, "group": record.pw_gid, "extra_groups": []}

    def _env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin_dir}:/usr/bin:/bin",
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
            "HOME": str(self.session_dir or "/tmp"),
        }

    def _ensure_os_user(self) -> None:
        if os.geteuid() != 0:
            return
        for name in ("postgres", _FALLBACK_OS_USER):
            try:
                pwd.getpwnam(name)
                self._os_user = name
                return
            except KeyError:
                continue
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _FALLBACK_OS_USER],
            check=True,
            capture_output=True,
        )
        self._os_user = _FALLBACK_OS_USER

    def _init_cluster(self) -> None:
        self._ensure_os_user()
        remove_stale_dirs(self.base_dir)
        self.session_dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=self.base_dir))
        (self.session_dir / OWNER_FILE).write_text(str(os.getpid()))
        self.socket_dir.mkdir()
        self.log_path.touch()
        os.chmod(self.session_dir, 0o755)
        if self._os_user is not None:
            record = pwd.getpwnam(self._os_user)
            for path in (self.session_dir, self.socket_dir, self.log_path):
                os.chown(path, record.pw_uid, record.pw_gid)
        if not self._atexit_registered:
            atexit.register(self.close)
            self._atexit_registered = True
        result = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=self.session_dir,
            env=self._env(),
            capture_output=True,
            text=True,
            check=False,
            **self._run_as_owner(),  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            output = f"{result.stdout}\n{result.stderr}"
            raise PostgresStartError(f"initdb failed ({result.returncode}):\n{output}")
        self._initialised = True

    def _spawn(self) -> subprocess.Popen[bytes]:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            return subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-c",
                    f"port={self.port}",
                    "-c",
                    f"listen_addresses={self.host}",
                    "-c",
                    f"unix_socket_directories={self.socket_dir}",
                    "-c",
                    "fsync=off",
                    "-c",
                    f"synchronous_commit={'on' if self.synchronous_commit else 'off'}",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    f"max_connections={self.max_connections}",
                    "-c",
                    "shared_buffers=64MB",
                    "-c",
                    "max_wal_size=1GB",
                    "-c",
                    "log_min_messages=warning",
                    "-c",
                    "log_connections=off",
                    "-c",
                    "timezone=UTC",
                ],
                cwd=self.session_dir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_set_pdeathsig,
                **self._run_as_owner(),  # type: ignore[arg-type]
            )
        finally:
            log.close()

    def _launch(self, timeout: float) -> None:
        log_offset = self.log_path.stat().st_size
        self.process = self._spawner.submit(self._spawn).result()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log_path.read_text(errors="replace")[log_offset:]
                self.process = None
                if "could not bind" in log or "Address already in use" in log:
                    raise _PortInUse(f"port {self.port} in use:\n{log[-2000:]}")
                raise PostgresStartError(f"postgres exited at start:\n{log[-4000:]}")
            if self._ready():
                return
            time.sleep(0.03)
        self._kill_tree(self.process.pid)
        self.process.wait(timeout=10)
        self.process = None
        raise PostgresStartError(f"postgres not ready after {timeout}s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        # Line 8 of postmaster.pid is the postmaster's status; "ready" once it accepts connections.
        try:
            lines = (self.data_dir / "postmaster.pid").read_text(errors="replace").splitlines()
        except OSError:
            return False
        pid = str(self.process.pid) if self.process is not None else ""
        return len(lines) >= 8 and lines[7].strip() == "ready" and lines[0].strip() == pid

    @staticmethod
    def _kill_tree(pid: int) -> None:
        children = _children_of(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_pid_alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.02)


class _PortInUse(PostgresStartError):
    pass
