"""API output is strict JSON: never `NaN` or `Infinity`, which strict parsers reject.

Intake refuses non-finite numbers (hub.payloads), but a value can still reach a response
another way (an event stored by an older release, a handler's result): it is written as
`null` instead of failing the whole response.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider

from hub.json_text import encoder


class StrictJSONProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:  # indented (debug mode) or other options: json.dumps with them
            kwargs["allow_nan"] = False
            write = functools.partial(super().dumps, **kwargs)
        else:  # every response out of debug mode: an encoder built once (hub.json_text)
            write = encoder(
                sort_keys=self.sort_keys,
                ensure_ascii=self.ensure_ascii,
                allow_nan=False,
                default=self.default,
            )
        try:
            return write(obj)
        except ValueError:  # "Out of range float values are not JSON compliant"
            return write(_finite(obj))


def _finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (the rare path only)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
