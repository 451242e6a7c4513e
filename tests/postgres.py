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


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a postgresql:// URL of an empty database, dropped with the server afterwards."""
    if os.environ.get("BENCH_TEST_POSTGRES"):
        yield os.environ["BENCH_TEST_POSTGRES"]
        return
    bindir = _binaries()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
    root = tempfile.mkdtemp(prefix="bench-pg-")
    data = os.path.join(root, "data")
    if as_user:
        shutil.chown(root, "postgres")
    port = _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    run(f"{bindir}/initdb", "-D", data, "-U", "bench", "--auth=trust", "-E", "UTF8")
    run(
        f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-w", "-t", "60",
        "-o", f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c max_connections=200",
        "start",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([f"{bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {root}/log")
            time.sleep(0.2)
        run(f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "bench", "bench")
        yield f"postgresql://bench@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
