"""gunicorn settings for self-hosting hub: `gunicorn -c infra/gunicorn_conf.py hub.wsgi:app`.

Command-line flags override these (e.g. `-b 0.0.0.0:8000`, `-w 4`). On AWS Lambda none of
this applies: API Gateway receives the whole body before it invokes the function.
(Not named gunicorn.conf.py on purpose: gunicorn would load that from the working
directory by itself, also for the benchmarks' own gunicorn runs.)
"""

import multiprocessing
import os

bind = "127.0.0.1:8000"  # behind a reverse proxy or load balancer; -b to listen elsewhere
# Threads, not gunicorn's default sync workers: one slow client held a sync worker (all
# of them, with 4 clients) for as long as it took to send its body. A waiting connection
# costs the threaded worker nothing until data arrives, and a request that arrives too
# slowly is cut off (infra/gunicorn_worker.py).
worker_class = "infra.gunicorn_worker.HubThreadWorker"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() + 1)
threads = 16  # requests in progress per worker: hub waits on the store, not the CPU
worker_connections = 1000  # open connections per worker (idle keep-alive ones included)
timeout = 30  # a request must arrive within this; a worker silent this long is restarted
graceful_timeout = 30
keepalive = 5
# Request size limits (gunicorn's defaults, written down): the request line, the number of
# header fields and each field's size. Bodies are limited by hub itself (1 MiB, 413).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Recycle workers now and then, at different times, so no slow leak can grow for ever.
max_requests = 10000
max_requests_jitter = 1000
