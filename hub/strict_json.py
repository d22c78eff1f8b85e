"""API output is strict JSON: never `NaN` or `Infinity`, which strict parsers reject.

Intake refuses non-finite numbers (hub.payloads), but a value can still reach a response
another way (an event stored by an older release, a handler's result): it is written as
`null` instead of failing the whole response.
"""

from __future__ import annotations

import math
from typing import Any

from flask.json.provider import DefaultJSONProvider


class StrictJSONProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs["allow_nan"] = False
        try:
            return super().dumps(obj, **kwargs)
        except ValueError:  # "Out of range float values are not JSON compliant"
            return super().dumps(_finite(obj), **kwargs)


def _finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (the rare path only)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
