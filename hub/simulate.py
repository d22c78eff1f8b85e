"""Correctly signed sample webhooks, like `stripe trigger`: for `hub simulate`, the
playground and tests. A tool, not framework: each provider's declaration names the
builder that shapes and signs its samples (`Simulation.build`, on the provider's side);
this module holds what they share and finds them through the registry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from hub.faults import FAIL_FIELD
from hub.providers import Simulation, provider, providers, resolve

if TYPE_CHECKING:
    from hub.config import Settings


@dataclass
class SignedRequest:
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path


def sources() -> list[str]:
    """The sources `hub simulate` sends: every provider that declares a simulation."""
    return sorted(p.name for p in providers() if p.simulation is not None)


def _simulation(source: str) -> Simulation | None:
    try:
        return provider(source).simulation
    except LookupError:
        return None


def sample_types(source: str) -> list[str]:
    """The sample files hub/samples/<source>/ holds, by name."""
    folder = resources.files("hub") / "samples" / source.split("-")[0]
    if not folder.is_dir():
        return []
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def simulate_types(source: str) -> list[str]:
    """The types `hub simulate <source>` accepts: one per sample (Google's: the push states)."""
    simulation = _simulation(source)
    if simulation is None:
        return []
    return list(simulation.types) if simulation.types else sample_types(source)


def failable() -> list[str]:
    """Sources whose samples have a body that can carry `--fail` (a Google push has none)."""
    return [source for source in sources() if (s := _simulation(source)) and s.failable]


def with_planned_failures(payload: dict[str, Any], fail: int) -> dict[str, Any]:
    """`payload` asking a dry-run hub to fail its first `fail` attempts (hub.faults)."""
    return {**payload, FAIL_FIELD: fail} if fail else payload


def load_sample(source: str, type: str) -> dict[str, Any]:
    path = resources.files("hub") / "samples" / source / f"{type}.json"
    if not path.is_file():
        raise LookupError(f"no sample {source}/{type}; samples: {', '.join(sample_types(source)) or 'none'}")
    return json.loads(path.read_text())


def build(
    settings: Settings,
    source: str,
    type: str,
    base_url: str,
    text: str | None = None,
    *,
    fail: int = 0,
    **options: Any,
) -> SignedRequest:
    """The request `hub simulate <source> <type>` sends; `fail`: see hub.faults. `options`
    go to the provider's builder (the playground's chat id or phone number)."""
    simulation = _simulation(source)
    if simulation is None:
        raise LookupError(f"unknown source {source!r}: use one of {', '.join(sources())}")
    if type not in simulate_types(source):
        known = ", ".join(simulate_types(source)) or "none"
        raise LookupError(f"no {source} sample {type!r}; known types: {known}")
    if fail and not simulation.failable:
        raise LookupError(f"--fail needs a sample with a body to carry it: {', '.join(failable())}")
    return resolve(simulation.build)(settings, type, base_url, text, fail=fail, **options)
