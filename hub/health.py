"""`GET /healthz`: version, and whether the store and cache answer."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify

from hub import __version__
from hub.services import current_hub

if TYPE_CHECKING:
    from hub.store import Store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    hub = current_hub()
    store_ok = hub.store.ping()
    cache_ok = _cache_ok(hub)
    healthy = store_ok and cache_ok
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "store": {"backend": hub.store.backend, "ok": store_ok, **_cluster_mode(hub.store)},
        "cache": {"backend": hub.cache.config["CACHE_TYPE"].rpartition(".")[2], "ok": cache_ok},
        "dry_run": hub.settings.hub_dry_run,
        "tasks": hub.settings.hub_tasks,
    }
    return jsonify(body), 200 if healthy else 503


def _cluster_mode(store: Store) -> dict[str, bool]:
    """For Redis: whether it is a Redis Cluster (known once the store has reached it)."""
    cluster = getattr(getattr(store, "client", None), "cluster", None)
    return {} if cluster is None else {"cluster": cluster}


def _cache_ok(hub) -> bool:  # noqa: ANN001
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        hub.cache.set(key, "1", timeout=5)
        ok = hub.cache.get(key) == "1"
        hub.cache.delete(key)
        return ok
    except Exception:
        return False
