"""Which modules a cold start imports, per source (`python -X importtime`), and what they cost.

    python -m bench.importtime [source ...]

For each source: the top-level packages imported from interpreter start until the child
exits, by cumulative import time, and which provider SDKs are among them. That includes
a queued source's handler, which runs after the ack (Stripe's `invoice.paid` notice loads
python-telegram-bot). The ack itself, and a Telegram reply carried in the webhook answer,
load no provider SDK: tests/test_cold_path.py holds that.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import PYTHON, ROOT, git_revision, hub_env, signed

SDKS = (
    "stripe",
    "telegram",
    "twilio",
    "googleapiclient",
    "google.oauth2",
    "httpx",
    "requests",
    "redis",
    "sentry_sdk",
    "zappa",
    "boto3",
)
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def loaded_sdks(importtime_lines: str) -> list[str]:
    return [sdk for sdk in SDKS if re.search(rf"\| *{re.escape(sdk)}$", importtime_lines, re.M)]


def main() -> None:
    sources = sys.argv[1:] or ["stripe", "telegram", "twilio", "google"]
    print(f"# bench.importtime  rev {git_revision()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for source in sources:
            request = signed(source)
            request_file = folder / "request.json"
            request_file.write_text(
                json.dumps(
                    {"path": request.path, "headers": request.headers, "body": request.body.decode("latin-1")}
                )
            )
            env = hub_env(folder / f"instance-{source}", HUB_TASKS="thread")
            command = [PYTHON, "-X", "importtime", "-m", "bench.startup_child", "hub", str(request_file)]
            out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
            total = sum(int(m.group(2)) for m in LINE.finditer(out.stderr) if len(m.group(3)) == 1) / 1000
            names = "\n".join(m.group(0) for m in LINE.finditer(out.stderr))
            sdks = ", ".join(loaded_sdks(names)) or "none"
            top = sorted(
                (
                    (int(m.group(2)) / 1000, m.group(4))
                    for m in LINE.finditer(out.stderr)
                    if len(m.group(3)) == 1
                ),
                reverse=True,
            )[:8]
            print(f"\n## {source}: {total:.0f} ms of imports; provider SDKs loaded: {sdks}")
            for ms, name in top:
                print(f"  {ms:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
