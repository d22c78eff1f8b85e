"""`frozen_record`: a frozen dataclass whose methods are written once, here, not per class.

Python 3.11's `@dataclass` writes the source of each method it generates (`__init__`,
`__setattr__` and `__delattr__` for a frozen class, `__eq__`, `__hash__`, `__repr__`) and
compiles it with `exec` as the class is made: for hub's declarations and its settings,
tens of compilations on every cold start before anything is served (docs/PERFORMANCE.md).
For classes built a few times per process and never compared or printed, that buys
nothing. A `frozen_record` is still a dataclass (`fields`, `replace`, `asdict` work) and
still frozen (assigning or deleting a field raises `FrozenInstanceError`); its `__init__`
takes the fields by position or name, with their defaults and default factories, as the
generated one does. Equality is identity, and it hashes by identity; `repr` is object's.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def frozen_record(cls: T) -> T:
    """`@dataclass(frozen=True, eq=False, repr=False)`, without compiling any method."""
    made = dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    fields = [f for f in dataclasses.fields(made) if f.init]
    made.__record_fields__ = tuple(
        (f.name, f.default, f.default_factory) for f in fields
    )  # (name, default, factory), in order
    made.__init__ = _init
    made.__setattr__ = _refuse_setattr
    made.__delattr__ = _refuse_delattr
    return made


_MISSING = dataclasses.MISSING


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    fields = cls.__record_fields__
    if len(args) > len(fields):
        raise TypeError(f"{cls.__name__}() takes {len(fields)} arguments but {len(args)} were given")
    for (name, _, _), value in zip(fields, args, strict=False):
        if name in kwargs:
            raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
        kwargs[name] = value
    for name, default, factory in fields:
        if name in kwargs:
            value = kwargs.pop(name)
        elif factory is not _MISSING:
            value = factory()
        elif default is not _MISSING:
            value = default
        else:
            raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
        object.__setattr__(self, name, value)
    if kwargs:
        raise TypeError(f"{cls.__name__}() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")


def _refuse_setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
