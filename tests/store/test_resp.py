"""hub's own RESP client (hub/store/resp.py), which serves a webhook's commands on one Redis
server: the session its URL asks for (password, database, TLS with the certificate checked),
errors sorted as redis-py sorts them (503 where the provider should deliver again), a
script the server forgot, and URLs it leaves to redis-py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from hub.services import hub_of
from hub.store import resp
from integrations.samples import stripe_event
from tests.auxil.redis import drop_prefix, require_redis, unique_prefix
from tests.conftest import post
from tests.faults.private_redis import PrivateRedis
from tests.store.redis_cluster import make_tls_files

pytestmark = pytest.mark.redis

PASSWORD = "s3cret/with:odd@chars"


def _server(folder: Path, **options: object) -> Iterator[PrivateRedis]:
    server = PrivateRedis(folder, **options)  # type: ignore[arg-type]
    server.start()
    yield server
    server.kill()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A server of the test's own (a test here may flush or fill it)."""
    yield from _server(tmp_path)


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A server of the test's own that requires a password."""
    yield from _server(tmp_path, password=PASSWORD)


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A server of the test's own that speaks TLS only, as managed services do."""
    yield from _server(tmp_path, tls=make_tls_files(tmp_path))


def ack(app: Flask) -> tuple[int, dict]:
    answer = post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid"))
    return answer.status_code, answer.get_json()


def test_the_password_and_database_of_the_url_open_the_session(
    make_app: Callable[..., Flask], locked_redis: PrivateRedis
) -> None:
    app = make_app({"REDIS_URL": locked_redis.url_for(db=3)})

    status, body = ack(app)

    assert status == 200 and body["duplicate"] is False
    server = redis.Redis(port=locked_redis.port, password=PASSWORD, db=3)
    assert server.exists("{hub}:event:" + body["event_id"]) == 1, "stored in the URL's database"
    assert server.execute_command("SELECT", 0) and server.dbsize() == 0
    server.close()


def test_a_wrong_password_answers_503_store_unavailable(
    make_app: Callable[..., Flask], locked_redis: PrivateRedis
) -> None:
    no_password = f"redis://127.0.0.1:{locked_redis.port}/0"
    for url in (locked_redis.url_for(db=0, password="wrong"), no_password):
        status, body = ack(make_app({"REDIS_URL": url}))

        assert status == 503 and body["error"] == "store_unavailable", body
        assert "wrong" not in str(body) and PASSWORD not in str(body)


def test_tls_with_the_servers_certificate_checked(
    make_app: Callable[..., Flask], tls_redis: PrivateRedis
) -> None:
    app = make_app({"REDIS_URL": tls_redis.url})

    assert ack(app)[0] == 200
    health = app.test_client().get("/healthz").json
    assert health["store"] == {"backend": "redis", "ok": True, "cluster": False}
    assert health["cache"] == {"backend": "RedisCache", "ok": True}


def test_tls_to_an_untrusted_certificate_or_plain_text_to_a_tls_port_answers_503(
    make_app: Callable[..., Flask], tls_redis: PrivateRedis
) -> None:
    untrusted = tls_redis.url.partition("?")[0]  # the system's CAs only: the test CA is not one
    plain = "redis://" + untrusted.partition("://")[2]
    for url in (untrusted, plain):
        status, body = ack(make_app({"REDIS_URL": url}))

        assert status == 503 and body["error"] == "store_unavailable", url


def test_a_script_the_server_forgot_is_loaded_again(
    make_app: Callable[..., Flask], own_redis: PrivateRedis
) -> None:
    """SCRIPT FLUSH (or a restart without persistence) empties the server's script cache."""
    app = make_app({"REDIS_URL": own_redis.url})
    assert ack(app)[0] == 200
    redis.Redis(port=own_redis.port).script_flush()

    status, body = ack(app)

    assert status == 200 and body["duplicate"] is False
    assert len(hub_of(app).store.events()) == 2


def test_a_full_server_answers_503_and_stores_nothing(
    make_app: Callable[..., Flask], own_redis: PrivateRedis
) -> None:
    app = make_app({"REDIS_URL": own_redis.url})
    control = redis.Redis(port=own_redis.port)
    control.config_set("maxmemory", 1)

    status, body = ack(app)

    assert status == 503 and body["error"] == "store_unavailable", body
    control.config_set("maxmemory", 0)
    assert control.dbsize() == 0
    control.close()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("NOSCRIPT No matching script. Please use EVAL.", resp.NoScriptError),
        ("READONLY You can't write against a read only replica.", resp.ServerBusyError),
        ("OOM command not allowed when used memory > 'maxmemory'.", resp.ServerBusyError),
        ("MASTERDOWN Link with MASTER is down", resp.ServerBusyError),
        ("LOADING Redis is loading the dataset in memory", resp.RespConnectionError),
        ("NOAUTH Authentication required.", resp.RespConnectionError),
        ("WRONGPASS invalid username-password pair", resp.RespConnectionError),
        ("ERR max number of clients reached", resp.RespConnectionError),
        ("ERR unknown command 'FOO'", resp.RespError),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", resp.RespError),
    ],
)
def test_error_replies_are_sorted_as_redis_py_sorts_them(reply: str, error: type[Exception]) -> None:
    made = resp._error(reply)

    assert type(made) is error
    assert isinstance(made, resp.UNAVAILABLE_ERRORS) == (
        error in (resp.ServerBusyError, resp.RespConnectionError)
    )


@pytest.mark.parametrize(
    ("url", "served"),
    [
        ("redis://127.0.0.1:6379/0", True),
        ("redis://:pw@cache.example:6380", True),
        ("rediss://user:pw@cache.example/2?ssl_ca_certs=/etc/ca.pem", True),
        ("unix:///run/redis.sock", False),
        ("redis://127.0.0.1:6379/0?socket_timeout=1", False),
        ("redis://127.0.0.1:6379/zero", False),
        ("redis://127.0.0.1:notaport/0", False),
    ],
)
def test_urls_with_options_the_client_does_not_know_are_left_to_redis_py(url: str, served: bool) -> None:
    assert (resp.parse_url(url) is not None) is served


def test_a_url_left_to_redis_py_still_serves_webhooks(make_app: Callable[..., Flask]) -> None:
    url, prefix = require_redis() + "?socket_timeout=4", unique_prefix()
    try:
        app = make_app({"REDIS_URL": url, "HUB_REDIS_PREFIX": prefix})

        assert ack(app)[0] == 200 and len(hub_of(app).store.events()) == 1
    finally:
        drop_prefix(require_redis(), prefix)


def test_a_server_that_does_not_speak_redis_answers_503(make_app: Callable[..., Flask]) -> None:
    """Something else on the port (here an HTTP server): its answer is no RESP reply."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Refuse(BaseHTTPRequestHandler):
        def handle(self) -> None:
            self.request.recv(1024)
            self.request.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, body = ack(make_app({"REDIS_URL": f"redis://127.0.0.1:{server.server_port}/0"}))
    finally:
        server.shutdown()
        server.server_close()

    assert status == 503 and body["error"] == "store_unavailable", body
