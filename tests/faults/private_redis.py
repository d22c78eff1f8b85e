"""A redis-server of the test's own, on a free port in a temp dir, that the test may kill.

Never the shared server on 6379: other suites use it. Persistence is on (AOF, fsync on
every write) so what was acknowledged before a crash is there after the restart.
"""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from tests.auxil.unavailable import unavailable

if TYPE_CHECKING:
    from tests.store.redis_cluster import Tls


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """`password`: the server requires it (`requirepass`); `tls`: it speaks TLS only."""

    def __init__(self, folder: Path, *, password: str | None = None, tls: Tls | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            reason = "redis-server is not installed (apt-get install redis-server)"
            unavailable("HUB_REQUIRE_REDIS", reason)
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.password = password
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.url_for(db=0)

    def url_for(self, *, db: int, password: str | None = None) -> str:
        secret = password if password is not None else self.password
        user = f":{quote(secret, safe='')}@" if secret is not None else ""
        if self.tls:
            return f"rediss://{user}127.0.0.1:{self.port}/{db}?ssl_ca_certs={self.tls.ca}"
        return f"redis://{user}127.0.0.1:{self.port}/{db}"

    def _listen(self) -> list[str]:
        options = ["--requirepass", self.password] if self.password is not None else []
        if self.tls is None:
            return [*options, "--port", str(self.port)]
        return [*options, *self.tls.listen(self.port)]

    def _answers(self) -> bool:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=0.2)
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.tls.ca))
            sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
        with sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                *self._listen(),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self._answers():
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}; see {self.folder}/redis.log")

    def kill(self) -> None:
        """SIGKILL: the crash case, no shutdown hooks."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: the server accepts connections but never answers (a hung host)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
