"""`hub doctor`: is this configuration ready to serve, and does each provider answer?

Each check says what is wrong and what to do about it; reachability probes make one
cheap read-only call per provider (no message is sent, nothing is changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.providers import providers, resolve

if TYPE_CHECKING:
    from hub.services import Hub

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass
class Check:
    name: str
    status: str
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<10} {self.message}"


def run(hub: Hub, *, on_lambda: bool) -> list[Check]:
    settings = hub.settings
    checks = [
        _config(settings, on_lambda),
        Check("store", OK, f"{hub.store.backend} answers")
        if hub.store.ping()
        else Check("store", FAIL, f"{hub.store.backend} does not answer: check REDIS_URL / HUB_DATABASE"),
    ]
    for declared in providers():  # each provider's declared probe, in the registry's order
        if declared.doctor is None:
            continue
        name = declared.name
        missing = [n for n in declared.doctor.needs if not getattr(settings, n.lower())]
        if missing:
            checks.append(Check(name, WARN, f"disabled: set {', '.join(missing)} to enable it"))
            continue
        try:
            checks.append(Check(name, OK, resolve(declared.doctor.probe)(hub)))
        except Exception as exc:  # a probe failure is the finding, never a crash
            checks.append(Check(name, FAIL, f"{type(exc).__name__}: {_scrub(str(exc), settings)[:200]}"))
    return checks


def _scrub(text: str, settings: Any) -> str:
    for secret in settings.secret_values():
        text = text.replace(secret, "***")
    return text


def _config(settings: Any, on_lambda: bool) -> Check:
    problems = []
    if settings.hub_dry_run:
        problems.append("HUB_DRY_RUN is on: nothing is sent (set HUB_DRY_RUN=0 to go live)")
    if not settings.hub_public_url:
        problems.append("HUB_PUBLIC_URL is unset: Twilio signatures and setup-webhooks need it")
    if not settings.hub_stage:
        problems.append("HUB_STAGE is unset: setup-webhooks needs it to keep each stage's bot apart")
    if settings.dev_secrets:
        problems.append(f"generated development secrets in use: {', '.join(settings.dev_secrets)}")
    if settings.hub_tasks == "lambda" and not settings.redis_url:
        problems.append(
            "HUB_TASKS=lambda without REDIS_URL: each Lambda instance would keep its own "
            "SQLite file in /tmp; set REDIS_URL"
        )
    if on_lambda and settings.hub_tasks == "thread":
        problems.append("HUB_TASKS=thread on Lambda: work dies when the function freezes; use lambda")
    if not problems:
        return Check("config", OK, f"stage {settings.hub_stage}, live, tasks={settings.hub_tasks}")
    return Check("config", FAIL if not settings.hub_dry_run and problems else WARN, "; ".join(problems))
