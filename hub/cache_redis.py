"""Flask-Caching's Redis backend over hub's own client (`hub.store.redis_client`).

Flask-Caching's `RedisCache.factory` imports redis-py first thing, even when the host it is
given is a client already made (~100 ms of a cold start). This backend is the same class
made from that client directly, so reading a cached PayPal certificate on one Redis server
goes through hub's RESP client and never loads redis-py.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_caching.backends.rediscache import RedisCache as FlaskCachingRedisCache


class RedisCache(FlaskCachingRedisCache):
    @classmethod
    def factory(
        cls, app: Flask, config: dict[str, Any], args: list[Any], kwargs: dict[str, Any]
    ) -> RedisCache:
        return cls(*args, host=config["CACHE_REDIS_HOST"], key_prefix=config["CACHE_KEY_PREFIX"], **kwargs)
