"""A mother's case page in the real app on a loopback port, on real databases: what each role
reads of her name and number, every view audited, her words rendered inert, notes and
callbacks written from the page (CSRF-checked), and the JSON twin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.hotline.calls import take_call
from bot.channels.hotline.her_words import IvrPrompts
from bot.channels.hotline.transcript import Segment, Transcript
from bot.message import IdentityKind, InboundMessage
from storage.models import (
    AuditEvent,
    CaseNote,
    Escalation,
    EscalationStatus,
    FollowUp,
    FollowUpKind,
    Message,
    OutboxItem,
    OutboxKind,
)
from tests.escalation_rows import add_escalation
from tests.staff_site import StaffSite, staff_site

PHONE = "13812340001"
MASKED = "138****0001"
HER_WORDS = '<script>alert("x")</script><b onclick="steal()">我不想活了</b>'


@pytest.fixture
async def site(db_url, model_dir, nlu, secrets, clock) -> AsyncIterator[StaffSite]:  # type: ignore[no-untyped-def]
    async with staff_site(db_url, model_dir, nlu, secrets, clock) as running:
        yield running


async def her_case(site: StaffSite, **kw) -> int:  # type: ignore[no-untyped-def]
    escalation = await add_escalation(
        site.services.db,
        site.services.pipeline.cipher,
        phone=PHONE,
        at=site.services.clock.now() - timedelta(minutes=5),
        **kw,
    )
    return escalation.person_id


async def case_page(client, person_id: int) -> str:  # type: ignore[no-untyped-def]
    response = await client.get(f"/staff/cases/{person_id}")
    assert response.status == 200
    return await response.text()


async def test_a_worker_reads_her_number_only_in_a_case_she_holds(site: StaffSite) -> None:
    person_id = await her_case(site, status=EscalationStatus.ACKNOWLEDGED, taken_by="sw-chen")
    chen, lin = await site.signed_in("sw-chen"), await site.signed_in("sw-lin")
    supervisor = await site.signed_in("sup-liang")

    assert PHONE in await case_page(chen, person_id)
    assert PHONE not in (lins := await case_page(lin, person_id))
    assert MASKED in lins
    assert PHONE in await case_page(supervisor, person_id)

    api = await lin.get(f"/staff/api/v1/cases/{person_id}")
    identities = (await api.json())["identities"]
    assert [(i["kind"], i["value"]) for i in identities] == [("phone", MASKED)]


async def test_once_resolved_her_number_is_masked_for_the_worker_too(site: StaffSite) -> None:
    person_id = await her_case(site, status=EscalationStatus.RESOLVED, taken_by="sw-chen")
    chen = await site.signed_in("sw-chen")
    page = await case_page(chen, person_id)
    assert PHONE not in page and MASKED in page


async def test_every_view_of_a_case_is_audited(site: StaffSite) -> None:
    person_id = await her_case(site)
    chen, supervisor = await site.signed_in("sw-chen"), await site.signed_in("sup-liang")
    await case_page(chen, person_id)
    await supervisor.get(f"/staff/api/v1/cases/{person_id}")

    async with site.services.db.session() as session:
        views = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "case.view").order_by(AuditEvent.id)
            )
        ).all()
    assert [(v.actor, v.object_type, v.object_id, v.detail["unmasked"]) for v in views] == [
        ("sw-chen", "person", person_id, False),
        ("sup-liang", "person", person_id, True),
    ]


async def test_her_words_are_shown_as_text_never_as_markup(site: StaffSite) -> None:
    outcome = await site.services.pipeline.handle(
        InboundMessage(
            channel="api",
            sender_id="m-inert",
            sender_kind=IdentityKind.API,
            text=HER_WORDS,
            sent_at=site.services.clock.now(),
        )
    )
    assert outcome.escalation is not None, "her words escalate: the queue shows them too"
    chen = await site.signed_in("sw-chen")
    async with site.services.db.session() as session:
        escalation = await session.get_one(Escalation, outcome.escalation["id"])
    person_id = escalation.person_id

    page = await case_page(chen, person_id)
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert" not in page
    assert '<b onclick="steal()">' not in page
    queue = await (await chen.get("/staff/queue")).text()
    assert "<script>alert" not in queue


async def test_a_note_is_added_from_the_page_and_shown_inert(site: StaffSite) -> None:
    person_id = await her_case(site)
    chen = await site.signed_in("sw-chen")

    refused = await chen.post_form(f"/staff/cases/{person_id}/notes", {"note": "x"}, csrf=False)
    assert refused.status == 403
    added = await chen.post_form(f"/staff/cases/{person_id}/notes", {"note": "<i>已家访</i>"})
    assert added.status == 303

    page = await case_page(chen, person_id)
    assert "&lt;i&gt;已家访&lt;/i&gt;" in page
    async with site.services.db.session() as session:
        notes = (await session.scalars(select(CaseNote))).all()
    assert [(n.author, n.text, n.person_id) for n in notes] == [
        ("sw-chen", "<i>已家访</i>", person_id)
    ]


async def test_a_callback_is_scheduled_for_the_local_time_given(site: StaffSite) -> None:
    person_id = await her_case(site)
    chen = await site.signed_in("sw-chen")
    now = site.services.clock.now()  # 09:00 in Shanghai
    due_local = (now + timedelta(hours=6)).astimezone(site.services.config.zone)

    response = await chen.post_form(
        f"/staff/cases/{person_id}/callbacks", {"due": due_local.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status == 303

    async with site.services.db.session() as session:
        follow_up = await session.scalar(select(FollowUp).where(FollowUp.person_id == person_id))
        fires = await session.scalar(
            select(OutboxItem).where(OutboxItem.kind == OutboxKind.FOLLOW_UP)
        )
    assert follow_up is not None
    assert follow_up.kind == FollowUpKind.CALLBACK
    assert follow_up.due_at == (now + timedelta(hours=6)).replace(second=0, microsecond=0)
    assert follow_up.escalation_id is not None  # her open case: its taker makes the call
    assert fires is not None and fires.follow_up_id == follow_up.id
    assert fires.due_at == follow_up.due_at
    assert "回电" in await case_page(chen, person_id)


@pytest.mark.parametrize(
    "due", ["", "tomorrow", "2026-03-08T08:00", "2026-03-08T09:00+08:00", "0001-01-01T00:00"]
)
async def test_a_callback_without_a_usable_future_time_is_refused(
    site: StaffSite, due: str
) -> None:
    person_id = await her_case(site)
    chen = await site.signed_in("sw-chen")
    response = await chen.post_form(f"/staff/cases/{person_id}/callbacks", {"due": due})
    assert response.status == 400
    assert "本次操作未作任何更改" in await response.text()
    async with site.services.db.session() as session:
        assert (await session.scalars(select(FollowUp))).all() == []


async def test_the_case_shows_her_messages_with_their_classification(site: StaffSite) -> None:
    person_id = await her_case(site, risk_reasons=("表达轻生念头",), channel="hotline")
    supervisor = await site.signed_in("sup-liang")
    api = await supervisor.get(f"/staff/api/v1/cases/{person_id}")
    body = await api.json()
    [message] = body["messages"]
    assert (message["text"], message["intent"], message["risk_level"]) == (
        "我不想活了",
        "crisis_suicide",
        "high",
    )
    assert message["risk_reasons"] == ["表达轻生念头"]
    assert message["channel"] == "hotline"
    [escalation] = body["escalations"]
    assert escalation["status"] == "notified"
    page = await case_page(supervisor, person_id)
    assert "表达轻生念头" in page and "关爱热线" in page


async def test_words_said_in_a_call_show_when_and_how_surely_and_a_label_not_hers(
    site: StaffSite,
) -> None:
    """A worker reads where in the call her words were said and how sure the recogniser was;
    words the call system labelled as the agent's (no segment was labelled hers) say so."""
    started = site.services.clock.now() - timedelta(minutes=10)
    mislabelled = Transcript(
        call_id="call-mislabelled",
        caller=PHONE,
        line="关爱热线 1号线",
        started_at=started,
        ended_at=started + timedelta(minutes=4),
        status="final",
        segments=[
            Segment(speaker="agent", start=72.4, end=80, text="我想问问培训", confidence=0.58)
        ],
    )
    await take_call(site.services.pipeline, mislabelled, IvrPrompts([]))
    async with site.services.db.session() as session:
        person_id = await session.scalar(select(Message.person_id).where(Message.text != ""))
    supervisor = await site.signed_in("sup-liang")
    [said, _call] = (await (await supervisor.get(f"/staff/api/v1/cases/{person_id}")).json())[
        "messages"
    ]
    assert (
        said["spoken"]
        == "通话第 1:12 起 · 语音识别可信度 58% · 通话系统标为接线员，按求助人的话处理"
    )
    assert said["spoken"] in await case_page(supervisor, person_id)


async def test_an_unknown_case_is_404(site: StaffSite) -> None:
    chen = await site.signed_in("sw-chen")
    assert (await chen.get("/staff/cases/424242")).status == 404
    assert (await chen.get("/staff/api/v1/cases/424242")).status == 404
