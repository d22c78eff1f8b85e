"""A Redis Cluster of the tests' own: redis-server masters with cluster mode on, on free
loopback ports, each with its own folder for nodes.conf, stopped by their process ids.

Never the shared server on 6379. Made the way an operator makes one (`redis-cli --cluster
create`), or, for a one-node TLS cluster, by giving its node every slot.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from tests.auxil.unavailable import unavailable
from tests.faults.private_redis import free_port

SLOTS = 16384


@dataclass(frozen=True)
class Tls:
    """Files for a TLS server: a CA, and a certificate for 127.0.0.1 that it signed."""

    ca: Path
    cert: Path
    key: Path

    def listen(self, port: int) -> list[str]:
        """redis-server's options to speak TLS only, on `port` (clients need no certificate)."""
        return [
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(self.cert),
            "--tls-key-file",
            str(self.key),
            "--tls-ca-cert-file",
            str(self.ca),
            "--tls-auth-clients",
            "no",
        ]


def require_redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None or shutil.which("redis-cli") is None:
        reason = "redis-server/redis-cli are not installed (apt-get install redis-server)"
        unavailable("HUB_REQUIRE_REDIS", reason)
    return binary


def cluster_ports(count: int) -> list[int]:
    """Free ports whose cluster-bus twin (port + 10000) is free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


class LocalCluster:
    def __init__(self, folder: Path, *, masters: int = 3, tls: Tls | None = None) -> None:
        self.binary = require_redis_server()
        self.folder = folder
        self.tls = tls
        self.ports = cluster_ports(masters)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    # -- addresses ------------------------------------------------------------------------------

    def url(self, port: int) -> str:
        if self.tls:
            return f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={self.tls.ca}"
        return f"redis://127.0.0.1:{port}/0"

    @property
    def urls(self) -> list[str]:
        return [self.url(port) for port in self.ports]

    def node(self, port: int) -> redis.Redis:
        """A plain client to one node (the caller closes it)."""
        return redis.Redis.from_url(self.url(port), decode_responses=True, socket_timeout=10)

    def _ask(self, port: int, *command: object) -> object:
        with self.node(port) as client:
            return client.execute_command(*command)

    def node_id(self, port: int) -> str:
        return str(self._ask(port, "CLUSTER", "MYID"))

    def slot_of(self, key: str) -> int:
        return int(self._ask(self.ports[0], "CLUSTER", "KEYSLOT", key))  # type: ignore[arg-type]

    def owner(self, slot: int) -> int:
        """The port of the master that serves `slot`."""
        with self.node(self.ports[0]) as client:
            for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(master[1])
        raise LookupError(f"slot {slot} is not served")

    def others(self, slot: int) -> list[int]:
        """The ports of the masters that do not serve `slot` (a plain client there gets MOVED)."""
        owner = self.owner(slot)
        return [port for port in self.ports if port != owner]

    # -- life -----------------------------------------------------------------------------------

    @classmethod
    def started(cls, folder: Path, **options: object) -> LocalCluster:
        """A running cluster; tries fresh ports when another process took one meanwhile."""
        for attempt in range(3):
            cluster = cls(folder / f"try{attempt}", **options)  # type: ignore[arg-type]
            try:
                cluster.start()
                return cluster
            except (RuntimeError, subprocess.CalledProcessError):
                cluster.stop()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def start(self) -> None:
        for port in self.ports:
            folder = self.folder / str(port)
            folder.mkdir(parents=True, exist_ok=True)
            listen = ["--port", str(port)]
            if self.tls:
                listen = [*self.tls.listen(port), "--tls-cluster", "yes"]
            self.processes[port] = subprocess.Popen(
                [
                    self.binary,
                    *listen,
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(folder / "nodes.conf"),
                    "--cluster-node-timeout",
                    "5000",
                    "--dir",
                    str(folder),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--logfile",
                    str(folder / "redis.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for port in self.ports:
            self._wait_for(port)
        if len(self.ports) == 1:
            self._ask(self.ports[0], "CLUSTER", "ADDSLOTSRANGE", 0, SLOTS - 1)
        else:
            subprocess.run(
                [
                    "redis-cli",
                    *self._cli_tls(),
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{port}" for port in self.ports),
                    "--cluster-yes",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=60,
            )
        self.wait_until_settled()

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()

    def _cli_tls(self) -> list[str]:
        return ["--tls", "--cacert", str(self.tls.ca)] if self.tls else []

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.processes[port].poll() is None:
            try:
                if self._ask(port, "PING"):
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {port}; see {self.folder}/{port}/redis.log")

    def wait_until_settled(self, timeout: float = 30) -> None:
        """Every node says the cluster is ok and knows every node (gossip has converged)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [self._ask(port, "CLUSTER", "INFO") for port in self.ports]
            if all(_settled(str(info), len(self.ports)) for info in infos):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the cluster did not settle: {infos}")

    # -- resharding -----------------------------------------------------------------------------

    def move_slot(self, slot: int, to: int, *, batch: int = 10, pause: float = 0.002) -> None:
        """Migrate `slot` to the master on port `to`, a few keys at a time, as
        `redis-cli --cluster reshard` does (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT
        NODE), 10 keys per MIGRATE like its default pipeline. `pause` between batches keeps
        the slot half moved long enough for concurrent requests to meet it."""
        source = self.owner(slot)
        if source == to:
            return
        source_id, target_id = self.node_id(source), self.node_id(to)
        self._ask(to, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        self._ask(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        with self.node(source) as client:
            while keys := client.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch):
                client.execute_command("MIGRATE", "127.0.0.1", to, "", 0, 5000, "REPLACE", "KEYS", *keys)
                time.sleep(pause)
        for port in (to, source, *(p for p in self.ports if p not in (to, source))):
            self._ask(port, "CLUSTER", "SETSLOT", slot, "NODE", target_id)


def _settled(info: str, nodes: int) -> bool:
    fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
    return (
        fields.get("cluster_state") == "ok"
        and fields.get("cluster_slots_ok") == str(SLOTS)
        and fields.get("cluster_known_nodes") == str(nodes)
    )


def make_tls_files(folder: Path) -> Tls:
    """A throw-away CA and a server certificate for 127.0.0.1, made with `cryptography`."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(
        "hub test CA",
        ca_key.public_key(),
        ca_key,
        "hub test CA",
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
        ],
    )
    cert = _certificate(
        "127.0.0.1",
        key.public_key(),
        ca_key,
        "hub test CA",
        [
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
            (
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                False,
            ),
        ],
    )
    files = Tls(ca=folder / "ca.pem", cert=folder / "server.pem", key=folder / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    plain = serialization.NoEncryption()
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, plain)
    )
    return files


def _certificate(subject: str, public_key: Any, signer: Any, issuer: str, extensions: list[Any]) -> Any:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())
