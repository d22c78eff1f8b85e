"""hub.records.frozen_record: a frozen dataclass built without compiling a method."""

from __future__ import annotations

import builtins
import dataclasses
from dataclasses import field

import pytest

from hub.records import frozen_record


def make_class() -> type:
    @frozen_record
    class Route:
        path: str
        verify: str = "v:f"
        tags: list[str] = field(default_factory=list)

    return Route


def test_it_is_built_without_exec(monkeypatch) -> None:  # noqa: ANN001
    compiled = []
    real_exec = builtins.exec
    monkeypatch.setattr(builtins, "exec", lambda *a, **k: compiled.append(a) or real_exec(*a, **k))
    make_class()
    assert compiled == []  # @dataclass(frozen=True) execs six methods' source here


def test_it_takes_fields_by_position_or_name_with_defaults_and_factories() -> None:
    Route = make_class()
    one, two = Route("/a"), Route(path="/b", verify="m:g")
    assert (one.path, one.verify, one.tags) == ("/a", "v:f", [])
    assert (two.path, two.verify) == ("/b", "m:g")
    assert Route("/c").tags is not one.tags  # a fresh list per record
    assert Route("/d", "x:y", ["t"]).tags == ["t"]


@pytest.mark.parametrize(
    ("args", "kwargs", "says"),
    [
        ((), {}, "missing required argument: 'path'"),
        (("/a",), {"path": "/b"}, "multiple values for argument 'path'"),
        (("/a", "v", [], "extra"), {}, "takes 3 arguments but 4 were given"),
        (("/a",), {"nope": 1}, "unexpected keyword arguments: nope"),
    ],
)
def test_wrong_arguments_are_refused_as_the_generated_init_refuses_them(args, kwargs, says) -> None:  # noqa: ANN001
    with pytest.raises(TypeError, match=says):
        make_class()(*args, **kwargs)


def test_it_is_frozen_and_still_a_dataclass() -> None:
    Route = make_class()
    route = Route("/a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.path = "/b"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del route.verify
    assert [f.name for f in dataclasses.fields(route)] == ["path", "verify", "tags"]
    changed = dataclasses.replace(route, verify="m:g")
    assert (changed.path, changed.verify, route.verify) == ("/a", "m:g", "v:f")
    assert dataclasses.asdict(changed) == {"path": "/a", "verify": "m:g", "tags": []}
    assert route == route and route != Route("/a")  # identity, like eq=False
    assert len({route, Route("/a")}) == 2
