"""A cold start that acknowledges a PayPal delivery, its certificate cached in Redis, loads
neither PayPal's SDK nor requests nor cryptography's X.509 and RSA code (80-150 ms), nor
urllib.request (the certificate's fetch), nor redis-py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.auxil.redis import require_redis
from tests.paypal.cached import cached_paypal

HEAVY = (
    "paypalserversdk",
    "requests",
    "cryptography.x509",
    "cryptography.hazmat.bindings",
    "urllib.request",
    "redis",  # redis-py (~100 ms with asyncio): the cache's GET and the intake go through hub/store/resp.py
    "asyncio",
)
SCRIPT = f"""
import json, sys
from hub import create_app

request = json.loads(open(sys.argv[1]).read())
app = create_app()
response = app.test_client().post(request["path"], data=request["body"].encode("latin-1"),
                                  headers=request["headers"])
loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"status": response.status_code, "body": response.get_json(), "loaded": loaded}}))
"""


def test_a_cached_certificate_ack_imports_no_sdk_and_no_x509(tmp_path) -> None:  # noqa: ANN001
    require_redis()
    with cached_paypal(tmp_path) as (env, signed):
        request = signed()
        path = tmp_path / "request.json"
        path.write_text(
            json.dumps(
                {"path": request.path, "headers": request.headers, "body": request.body.decode("latin-1")}
            )
        )
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "PAYPAL_", "REDIS_"))}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={**clean, **env, "HUB_INSTANCE_PATH": str(tmp_path / "cold"), "HUB_TASKS": "thread"},
        )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200 and answer["body"]["duplicate"] is False
    assert answer["loaded"] == []
