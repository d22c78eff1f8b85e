"""The shared cache (Flask-Caching), made the first time something uses it.

Importing Flask-Caching loads cachelib with every backend it knows (memcached, DynamoDB,
MongoDB, uWSGI, ...) and, for its Jinja tag, `jinja2.ext` and the app's Jinja environment:
5-10 ms of a cold start that only acknowledges a webhook or answers `/help`, which never
touch the cache. The weather, PayPal's certificates and tokens and `/healthz` do; the
first of them builds it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from flask_caching import Cache


class LazyCache:
    """Stands for `flask_caching.Cache(app, config=make_config())`, built on first use."""

    def __init__(self, app: Flask, make_config: Callable[[], dict[str, Any]]) -> None:
        self._app = app
        self._make_config = make_config
        self._cache: Cache | None = None
        self._lock = threading.Lock()  # two first uses in two threads still build one cache

    def built(self) -> Cache:
        if self._cache is None:
            with self._lock:
                if self._cache is None:
                    from flask_caching import Cache

                    # No Jinja `{% cache %}` tag: hub's templates do not use it, and adding
                    # it would build the app's Jinja environment here.
                    self._cache = Cache(self._app, config=self._make_config(), with_jinja2_ext=False)
        return self._cache

    @property
    def is_built(self) -> bool:
        return self._cache is not None

    def __getattr__(self, name: str) -> Any:  # get, set, delete, clear, config, cache, ...
        return getattr(self.built(), name)
