"""JSON text from encoders built once, for the few shapes hub writes on every webhook.

`json.dumps` builds its encoder anew on each call (and a `JSONEncoder` too when given any
option): about 12 k instructions before it writes a byte, more than encoding a small
object costs. A webhook writes five or six small objects (the event's headers and
message, the stage line, the attempt, the response), so hub keeps one encoder per set of
options. Output is exactly `json.dumps`'s with the same options. One difference: no check
for circular references (the objects here are fresh dicts of plain values); a cycle ends
in RecursionError instead of ValueError.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any


@functools.lru_cache(maxsize=16)
def encoder(
    *,
    sort_keys: bool = False,
    ensure_ascii: bool = True,
    allow_nan: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> Callable[[Any], str]:
    """A function writing what `json.dumps(obj, **these options)` writes, built once."""
    if c_make_encoder is None:  # an interpreter without the C accelerator: json.dumps itself
        return functools.partial(
            json.dumps, sort_keys=sort_keys, ensure_ascii=ensure_ascii, allow_nan=allow_nan, default=default
        )
    make_chunks = c_make_encoder(
        None,  # markers: no circular-reference check
        default or json.JSONEncoder().default,  # TypeError for what JSON cannot hold
        encode_basestring_ascii if ensure_ascii else encode_basestring,
        None,  # indent
        ": ",
        ", ",
        sort_keys,
        False,  # skipkeys
        allow_nan,
    )

    def dumps(obj: Any) -> str:
        return "".join(make_chunks(obj, 0))

    return dumps


dumps = encoder()  # json.dumps(obj)
dumps_sorted = encoder(sort_keys=True)  # json.dumps(obj, sort_keys=True)
