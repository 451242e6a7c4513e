"""A throwaway PostgreSQL server on loopback for the distributed-worker tests.

Uses BENCH_TEST_POSTGRES (a URL) when set; otherwise starts a private cluster with Debian's
`postgresql` binaries (installed by scripts/system-deps, which `make test` and .ci/run call) in a
temporary folder on a free port, as the `postgres` user when the tests run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

INSTALL_HINT = "install Debian's postgresql package (scripts/system-deps does it; `make test` runs that)"


def _binaries() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise RuntimeError(f"no PostgreSQL server binaries (initdb) on this machine; {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A private PostgreSQL cluster in a temporary folder on a free loopback port; `stop` and
    `start` it to play a database that goes away and comes back with its data."""

    def __init__(self) -> None:
        self.bindir = _binaries()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # PostgreSQL refuses root
        self.root = tempfile.mkdtemp(prefix="bench-pg-")
        self.data = os.path.join(self.root, "data")
        if self.as_user:
            shutil.chown(self.root, "postgres")
        self.port = _free_port()
        self._run(f"{self.bindir}/initdb", "-D", self.data, "-U", "bench", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql://bench@127.0.0.1:{self.port}/bench"

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, text=True)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} -c max_connections=200"
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"), "-w", "-t", "60", "-o", options, "start")
        deadline = time.monotonic() + 30
        while subprocess.run([f"{self.bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {self.root}/log")
            time.sleep(0.2)

    def stop(self) -> None:
        """As a crash would: no shutdown checkpoint, connections cut."""
        subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"], capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a postgresql:// URL of an empty database, dropped with the server afterwards."""
    if os.environ.get("BENCH_TEST_POSTGRES"):
        yield os.environ["BENCH_TEST_POSTGRES"]
        return
    with own_postgres_server() as server:
        yield server.url


@contextmanager
def own_postgres_server() -> Iterator[Server]:
    """A server of this test's own (never BENCH_TEST_POSTGRES), running, with an empty database."""
    server = Server()
    try:
        server.start()
        server._run(f"{server.bindir}/createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", "bench", "bench")
        yield server
    finally:
        server.remove()
