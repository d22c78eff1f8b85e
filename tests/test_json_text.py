"""hub.json_text writes exactly what json.dumps writes with the same options."""

from __future__ import annotations

import json
import math

import pytest

from hub.json_text import dumps, dumps_sorted, encoder

VALUES = [
    {"b": 1, "a": [1.5, None, True, False, 0, -3], "c": {}},
    {"text": 'quote " backslash \\ newline \n tab \t', "emoji": "🎉", "accent": "é"},
    {"big": 10**30, "small": 1e-300, "neg": -0.0, "float": 1796221930.7455554},
    {"nested": {"z": [{"y": {"x": []}}]}},
    "a bare string",
    42,
    None,
    [],
]


@pytest.mark.parametrize("value", VALUES)
def test_the_text_is_json_dumps_text(value: object) -> None:
    assert dumps(value) == json.dumps(value)
    assert dumps_sorted(value) == json.dumps(value, sort_keys=True)
    assert encoder(ensure_ascii=False)(value) == json.dumps(value, ensure_ascii=False)


def test_non_finite_numbers_are_written_as_json_dumps_writes_them_or_refused() -> None:
    assert dumps([math.nan, math.inf]) == json.dumps([math.nan, math.inf])  # NaN, Infinity
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        encoder(allow_nan=False)({"amount": math.inf})


def test_what_json_cannot_hold_is_a_type_error_or_goes_to_default() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"when": object()})
    assert encoder(default=lambda value: f"<{type(value).__name__}>")({"s": {1}}) == '{"s": "<set>"}'


def test_one_encoder_is_built_per_set_of_options() -> None:
    assert encoder(sort_keys=True) is dumps_sorted
    assert encoder() is dumps
