"""The event store: `open_store(settings)` picks SQLite (default) or Redis (`REDIS_URL`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.store.base import OutboxEntry, RecordResult, Store

if TYPE_CHECKING:
    from hub.config import Settings

__all__ = ["OutboxEntry", "RecordResult", "Store", "open_store"]


def open_store(settings: Settings) -> Store:
    if settings.redis_url:
        from hub.store.redis import RedisStore

        return RedisStore(
            settings.redis_url,
            prefix=settings.hub_redis_prefix,
            cluster=settings.hub_redis_cluster,
            dedup_days=settings.hub_dedup_days,
        )
    from hub.store.sqlite import SQLiteStore

    return SQLiteStore(settings.database_path, dedup_days=settings.hub_dedup_days)
