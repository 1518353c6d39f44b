"""The contact log's query: filters, search and keyset pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from storage.db import Database
from storage.queries.contact_log import ContactFilter, Cursor, contact_page
from tests.records_data import (
    RISK_ORDER,
    MadeContact,
    make_contacts,
    newest_first,
    utc,
)

START = utc(2026, 3, 1, 0, 0)


async def _all_pages(db: Database, filters: ContactFilter, limit: int) -> list[list[int]]:
    pages, after = [], None
    while True:
        async with db.session() as session:
            page = await contact_page(session, filters, RISK_ORDER, after=after, limit=limit)
        pages.append([row.id for row in page.rows])
        if page.next is None:
            return pages
        after = page.next


def _ids(contacts: list[MadeContact]) -> list[int]:
    return [c.id for c in newest_first(contacts)]


async def test_each_filter_keeps_exactly_the_matching_contacts(database: Database) -> None:
    made = await make_contacts(database, 60, start=START)
    sample = made[17]
    cases = {
        "channel": (ContactFilter(channel=sample.channel), lambda c: c.channel == sample.channel),
        "service": (
            ContactFilter(service_type=sample.service_type),
            lambda c: c.service_type == sample.service_type,
        ),
        "intent": (ContactFilter(intent=sample.intent), lambda c: c.intent == sample.intent),
        "worker": (
            ContactFilter(worker=sample.handled_by),
            lambda c: c.handled_by == sample.handled_by,
        ),
        "risk": (ContactFilter(risk=sample.risk), lambda c: c.risk == sample.risk),
        "dates": (
            ContactFilter(since=made[10].started_at, until=made[30].started_at),
            lambda c: made[10].started_at <= c.started_at < made[30].started_at,
        ),
        "combined": (
            ContactFilter(channel=sample.channel, risk=sample.risk, worker=sample.handled_by),
            lambda c: (
                (c.channel, c.risk, c.handled_by)
                == (sample.channel, sample.risk, sample.handled_by)
            ),
        ),
    }
    for name, (filters, keep) in cases.items():
        expected = _ids([c for c in made if keep(c)])
        pages = await _all_pages(database, filters, limit=100)
        assert pages == [expected], name
        assert expected, f"the data has no contact for {name}"


async def test_rows_carry_the_highest_risk_of_their_messages(database: Database) -> None:
    made = await make_contacts(database, 20, start=START)
    async with database.session() as session:
        page = await contact_page(session, ContactFilter(), RISK_ORDER, limit=50)
    by_id = {c.id: c for c in made}
    assert [(r.id, r.risk, r.pseudonym) for r in page.rows] == [
        (c.id, c.risk, c.pseudonym) for c in newest_first(made)
    ]
    assert len({r.risk for r in page.rows}) > 1 and by_id


async def test_search_matches_a_part_of_the_summary_literally(database: Database) -> None:
    made = await make_contacts(database, 30, start=START)
    for term in ("第1", "100%", "%", "_", "JOB_TRAINING"):
        expected = _ids([c for c in made if term.lower() in c.summary.lower()])
        assert await _all_pages(database, ContactFilter(search=term), limit=100) == [expected]
    assert await _all_pages(database, ContactFilter(search="没有这段话"), limit=10) == [[]]


async def test_keyset_pages_cover_every_contact_once_in_order(database: Database) -> None:
    made = await make_contacts(database, 23, start=START)
    pages = await _all_pages(database, ContactFilter(), limit=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [i for page in pages for i in page] == _ids(made)


async def test_pages_stay_the_same_while_new_contacts_arrive(database: Database) -> None:
    made = await make_contacts(database, 15, start=START)
    async with database.session() as session:
        first = await contact_page(session, ContactFilter(), RISK_ORDER, limit=5)
    # New contacts arrive, newer than any shown, between reading page 1 and page 2.
    newer = await make_contacts(database, 4, start=START + timedelta(days=30), seed=9)
    async with database.session() as session:
        second = await contact_page(session, ContactFilter(), RISK_ORDER, after=first.next)
        back = await contact_page(
            session, ContactFilter(), RISK_ORDER, before=second.previous, limit=5
        )
        newest = await contact_page(session, ContactFilter(), RISK_ORDER, before=back.previous)
    expected = _ids(made)
    assert [r.id for r in first.rows] == expected[:5]
    assert [r.id for r in second.rows] == expected[5:]
    assert [r.id for r in back.rows] == expected[:5]
    assert [r.id for r in newest.rows] == _ids(newer)
    assert newest.previous is None and second.next is None


def test_a_cursor_survives_its_link_and_a_forged_one_is_ignored() -> None:
    cursor = Cursor(utc(2026, 3, 1, 8, 30), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for forged in ("", "!!!", "bm90IGEgY3Vyc29y", Cursor(utc(2026, 1, 1), 1).encode()[:-3]):
        assert Cursor.decode(forged) is None


async def test_an_unknown_risk_level_is_refused(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(ValueError):
            await contact_page(session, replace(ContactFilter(), risk="dire"), RISK_ORDER)
