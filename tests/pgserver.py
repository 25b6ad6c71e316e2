"""A throwaway PostgreSQL server for tests: initdb in a temp dir, loopback port, stopped after.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user.
Tests that need it skip with a clear reason where the server binaries are absent.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bin() -> Path | None:
    for cand in [shutil.which("pg_ctl"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)]:
        if cand and Path(cand).exists():
            return Path(cand).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    user = "ek"
    password = "s3cret-pw"
    database = "ekdb"

    def __init__(self) -> None:
        bindir = pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (Debian package 'postgresql')")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="ek-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o700)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    def start(self) -> PgServer:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if self.as_postgres:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--pwfile", str(pwfile), "-A", "scram-sha-256", "-E", "UTF8")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start",
        )
        import psycopg

        for _ in range(50):
            try:
                with psycopg.connect(self.url("postgres"), password=self.password, autocommit=True) as c:
                    c.execute(f"CREATE DATABASE {self.database}")
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        return self

    def url(self, database: str | None = None) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database or self.database}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
