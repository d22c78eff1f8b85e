"""What Redis Cluster costs hub: the first command of an instance, and how fast a slot moves.

usage: python -m bench.redis_cluster [--keys 20000] [--repeat 30]

Starts its own 3-master cluster and a single redis-server (tests/store/redis_cluster.py,
tests/faults/private_redis.py) on free loopback ports, and stops them. Prints the median
time of an instance's first store command (connect, ask `INFO cluster`, and for a cluster
load the slot map and the command table) and the time to move one slot holding `--keys`
keys, 10 keys per MIGRATE as `redis-cli --cluster reshard` does: while it moves, intake
into that slot waits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.store import redis_client  # noqa: E402
from tests.faults.private_redis import PrivateRedis  # noqa: E402
from tests.store.redis_cluster import LocalCluster  # noqa: E402


def first_command_ms(url: str, cluster: bool | None, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        redis_client._known_cluster.clear()  # a new instance has not asked yet
        began = time.perf_counter()
        client = redis_client.connect(url, cluster=cluster)
        client.exists("{hub}:events")
        times.append((time.perf_counter() - began) * 1000)
        client.close()
    return statistics.median(times)


def move_seconds(cluster: LocalCluster, keys: int) -> float:
    slot = cluster.slot_of("{bench}")
    with cluster.node(cluster.owner(slot)) as node:
        for start in range(0, keys, 500):
            pipe = node.pipeline(transaction=False)
            for n in range(start, min(start + 500, keys)):
                pipe.hset(f"{{bench}}:event:{n}", mapping={"payload": "x" * 200, "status": "done"})
            pipe.execute()
    began = time.monotonic()
    cluster.move_slot(slot, cluster.others(slot)[0], pause=0)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cluster = LocalCluster.started(Path(folder) / "cluster")
        single = PrivateRedis(Path(folder))
        single.start()
        try:
            rows = [
                ("single server, asked (auto)", single.url, None),
                ("single server, HUB_REDIS_CLUSTER=0", single.url, False),
                ("cluster, asked (auto)", cluster.urls[1], None),
                ("cluster, HUB_REDIS_CLUSTER=1", cluster.urls[1], True),
            ]
            for label, url, mode in rows:
                print(f"first command, {label:36s} {first_command_ms(url, mode, args.repeat):6.2f} ms")
            seconds = move_seconds(cluster, args.keys)
            print(f"moving a slot of {args.keys} keys: {seconds:.2f} s ({args.keys / seconds:,.0f} keys/s)")
        finally:
            cluster.stop()
            single.kill()


if __name__ == "__main__":
    main()
