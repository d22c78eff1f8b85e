"""Child of bench.startup: start cold, answer one request, print wall time and peak RSS.

`python -m bench.startup_child hub|bare REQUEST.json` (the request pre-signed by the parent).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_kib() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over a fork+exec,
    so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(target: str, request_file: str) -> None:
    request = json.loads(Path(request_file).read_text())
    if target == "hub":
        from hub.serving import serving_app  # what hub.wsgi runs: zappa's and gunicorn's app

        app = serving_app()
    else:
        from bench.bare_app import app
    client = app.test_client()
    body = request["body"].encode("latin-1")
    response = client.post(request["path"], data=body, headers=request["headers"])
    if response.status_code >= 300:
        sys.exit(f"not acknowledged: {response.status_code} {response.get_data(as_text=True)[:300]}")
    done = time.time()
    cpu_ms = time.process_time() * 1000  # this process's CPU since it started: less hit by load
    rss_kib = peak_rss_kib()
    print(
        json.dumps({"status": response.status_code, "rss_kib": rss_kib, "done": done, "cpu_ms": cpu_ms}),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
