"""Plain records of a table's columns: the rows every message reads and writes.

A record has the model's columns, defaults and names, so code reading ``contact.summary`` does
not care which it has. It is not tied to a session: building one costs ~2 us where an ORM
instance costs ~40 (construction) to ~150 (a load), and every message builds several. Changes
are written with explicit statements (``storage.queries``), never by flushing a record.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

from sqlmodel import SQLModel

from storage.models import Classification, Contact, Escalation, FollowUp, Message, Person

R = TypeVar("R")


def record_type(model: type[SQLModel]) -> type:
    """A mutable dataclass with ``model``'s columns and defaults (keyword arguments only)."""
    fields = model.model_fields
    specs: list[tuple[str, Any, Any]] = []
    for column in model.__table__.columns:  # type: ignore[attr-defined]
        info = fields[column.key]
        if info.default_factory is not None:
            spec = dataclasses.field(default_factory=info.default_factory)  # type: ignore[arg-type]
        elif info.is_required():
            spec = dataclasses.field()
        else:
            spec = dataclasses.field(default=info.default)
        specs.append((column.key, Any, spec))
    return dataclasses.make_dataclass(f"{model.__name__}Record", specs, kw_only=True)


def columns(record: Any) -> dict[str, Any]:
    """A record's (or an ORM instance's) values by column, for an INSERT (``id`` left to the
    database)."""
    return {name: getattr(record, name) for name in _column_names(type(record))}


@cache
def _column_names(cls: type) -> tuple[str, ...]:
    if dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls)]
    else:
        names = [c.key for c in cls.__table__.columns]  # type: ignore[attr-defined]
    return tuple(name for name in names if name != "id")


def from_model(record_cls: type[R], instance: SQLModel) -> R:
    """The record of an ORM instance (e.g. one a report query loaded)."""
    names = [f.name for f in dataclasses.fields(record_cls)]  # type: ignore[arg-type]
    return record_cls(**{name: getattr(instance, name) for name in names})


PersonRecord = record_type(Person)
MessageRecord = record_type(Message)
ContactRecord = record_type(Contact)
EscalationRecord = record_type(Escalation)
FollowUpRecord = record_type(FollowUp)
ClassificationRecord = record_type(Classification)
