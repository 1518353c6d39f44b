"""People and the identities they reach us by."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from storage.fieldcrypt import FieldCipher
from storage.models import Identity, Person
from storage.queries._upsert import insert_unless_duplicate
from storage.types import utcnow

_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud on the phone
# A random pseudonym already taken (one in ~10^9 per person) is drawn again, not an error on
# her first message.
PSEUDONYM_DRAWS = 8


def new_pseudonym() -> str:
    return "M-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


async def get_person(session: AsyncSession, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


async def find_person(
    session: AsyncSession, cipher: FieldCipher, kind: str, value: str
) -> Person | None:
    return await _by_lookup(session, kind, cipher.lookup_hash(kind, value))


async def _by_lookup(
    session: AsyncSession, kind: str, lookup: str, *, lock: bool = False
) -> Person | None:
    query = (
        select(Person)
        .join(Identity, Identity.person_id == Person.id)
        .where(Identity.kind == kind, Identity.lookup_hash == lookup)
    )
    if lock:  # her row only (PostgreSQL; SQLite's one writer needs no row lock)
        query = query.with_for_update(of=Person)
    return await session.scalar(query)


async def find_or_create_person(
    session: AsyncSession, cipher: FieldCipher, kind: str, value: str
) -> Person:
    """The person behind an identity, created on first contact."""
    return (await find_or_add_person(session, cipher, kind, value))[0]


async def find_or_add_person(
    session: AsyncSession,
    cipher: FieldCipher,
    kind: str,
    value: str,
    *,
    pseudonyms: Callable[[], str] = new_pseudonym,
    lock: bool = False,
) -> tuple[Person, bool]:
    """The person behind an identity, and whether this call created her (first contact).

    ``lock`` locks her row until the transaction ends (two of her messages decided at once
    then take turns); a person created here is locked by being new.

    Two first messages racing each other (on PostgreSQL, or from two processes) meet at the
    identity's unique constraint: the loser's identity is not inserted, so it drops the person
    it just created and takes the winner's (not created, then).
    """
    lookup = cipher.lookup_hash(kind, value)
    if person := await _by_lookup(session, kind, lookup, lock=lock):
        return person, False
    person = await _insert_person(session, pseudonyms)
    identity_id = await insert_unless_duplicate(
        session,
        Identity.__table__,  # type: ignore[attr-defined]
        {
            "person_id": person.id,
            "kind": kind,
            "lookup_hash": lookup,
            "value_encrypted": cipher.encrypt(value, context=kind),
            "created_at": person.created_at,
        },
    )
    if identity_id is None:
        await session.execute(delete(Person).where(Person.id == person.id))
        session.expunge(person)
        found = await _by_lookup(session, kind, lookup, lock=lock)
        assert found is not None, "the identity that won the race is there"
        return found, False
    return person, True


async def _insert_person(session: AsyncSession, pseudonyms: Callable[[], str]) -> Person:
    now = utcnow()
    for _ in range(PSEUDONYM_DRAWS):
        pseudonym = pseudonyms()
        person_id = await insert_unless_duplicate(
            session,
            Person.__table__,  # type: ignore[attr-defined]
            {"pseudonym": pseudonym, "created_at": now},
        )
        if person_id is not None:
            # Written: attach it as it is, without reading it back.
            person = Person(id=person_id, pseudonym=pseudonym, created_at=now)
            make_transient_to_detached(person)
            session.add(person)
            return person
    raise RuntimeError(f"no free pseudonym in {PSEUDONYM_DRAWS} draws")


async def identity_of_kind(session: AsyncSession, person_id: int, kind: str) -> Identity | None:
    """Her latest identity of ``kind`` (its value is encrypted with the kind as context)."""
    return await session.scalar(
        select(Identity)
        .where(Identity.person_id == person_id, Identity.kind == kind)
        .order_by(Identity.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )
