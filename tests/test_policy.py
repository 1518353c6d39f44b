"""The care policy table, read as a supervisor would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers import Case, PolicySettings, Turn, decide
from handlers.contact import log_contact
from handlers.escalation import Escalate
from handlers.policy import POLICY, plan
from handlers.reply import reply
from handlers.texts import CONCERN_LABEL, REPLIES, reply_text
from handlers.turn import (
    ContinueContact,
    JoinEscalation,
    OpenContact,
    OpenEscalation,
    RaiseEscalation,
)
from intents import (
    CONCERN_FOR_OTHER,
    CRISIS_INTENTS,
    Intent,
    ParseResult,
    Risk,
    RiskLevel,
    service_type,
)
from storage.models import (
    Contact,
    Escalation,
    FollowUp,
    HotlineCall,
    Message,
    Person,
    Priority,
)


def parse(intent: str, level: RiskLevel = RiskLevel.NONE, kind: str | None = None) -> ParseResult:
    return ParseResult("…", intent, 0.9, risk=Risk(level, kind, ("线索",) if kind else ()))


def escalation_priority(actions) -> Priority | None:  # type: ignore[no-untyped-def]
    return next((a.priority for a in actions if isinstance(a, Escalate)), None)


def test_every_intent_has_a_policy_and_a_reply() -> None:
    assert set(POLICY) == set(Intent)
    assert all(intent.value in REPLIES for intent in Intent)
    assert all(actions[-1] is reply for actions in POLICY.values())


@pytest.mark.parametrize("intent", sorted(CRISIS_INTENTS))
def test_crisis_intents_escalate_p1(intent: Intent) -> None:
    assert escalation_priority(plan(parse(intent, RiskLevel.HIGH, "suicide"))) == Priority.P1


def test_a_mother_asking_for_a_person_is_escalated() -> None:
    assert escalation_priority(plan(parse(Intent.REQUEST_HUMAN))) == Priority.P2


@pytest.mark.parametrize("intent", [Intent.FINANCIAL_HARDSHIP, Intent.LEGAL_AID])
def test_money_and_legal_trouble_reach_a_person_as_p2(intent: Intent) -> None:
    assert escalation_priority(plan(parse(intent))) == Priority.P2


@pytest.mark.parametrize(
    ("level", "priority"),
    [
        (RiskLevel.IMMINENT, Priority.P1),
        (RiskLevel.HIGH, Priority.P1),
        (RiskLevel.MEDIUM, Priority.P2),
    ],
)
def test_risk_escalates_whatever_the_intent(level: RiskLevel, priority: Priority) -> None:
    actions = plan(parse(Intent.JOB_TRAINING, level, "suicide"))
    assert escalation_priority(actions) == priority
    assert log_contact in actions


def test_someone_elses_crisis_tells_a_worker_without_a_crisis_check_in_for_the_writer() -> None:
    actions = plan(parse(Intent.PARENTING_EDUCATION, RiskLevel.MEDIUM, CONCERN_FOR_OTHER))
    assert escalation_priority(actions) == Priority.P2
    assert log_contact in actions
    assert "schedule_check_in" not in [getattr(a, "__name__", "") for a in actions]
    own = plan(parse(Intent.PARENTING_EDUCATION, RiskLevel.MEDIUM, "suicide"))
    assert "schedule_check_in" in [getattr(a, "__name__", "") for a in own]


def test_her_own_childs_high_risk_is_told_at_once_still_as_a_concern() -> None:
    # 我女儿说她不想活了: the crisis layer gives the child's level (high) to the concern.
    actions = plan(parse(Intent.PARENTING_EDUCATION, RiskLevel.HIGH, CONCERN_FOR_OTHER))
    assert escalation_priority(actions) == Priority.P1
    assert "schedule_check_in" not in [getattr(a, "__name__", "") for a in actions]


def test_low_risk_alone_does_not_escalate() -> None:
    assert escalation_priority(plan(parse(Intent.EMOTIONAL_DISTRESS, RiskLevel.LOW))) is None


def test_services_are_logged_small_talk_is_not() -> None:
    for intent, actions in POLICY.items():
        assert (log_contact in actions) == (service_type(intent) is not None), intent


def test_unaddressed_group_chatter_gets_nothing_unless_at_risk() -> None:
    assert plan(parse(Intent.JOB_TRAINING), addressed=False) == ()
    at_risk = plan(parse(Intent.OUT_OF_SCOPE, RiskLevel.HIGH, "violence"), addressed=False)
    assert escalation_priority(at_risk) == Priority.P1


def test_crisis_replies_never_mention_means() -> None:
    means = ("药", "跳", "刀", "割", "炭", "绳", "农药", "楼")
    for key in ("crisis_suicide", "crisis_violence", CONCERN_FOR_OTHER):
        assert not any(word in REPLIES[key] for word in means), key


# --- the policy as a pure function: her case in, actions out (no database) -----------------

NOW = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)


def case(**parts) -> Case:  # type: ignore[no-untyped-def]
    person = Person(id=1, pseudonym="M-ABCDEF")
    message = Message(id=10, person_id=1, channel="api", direction="in", status="received")
    return Case(person=person, message=message, **parts)


def decide_for(parsed: ParseResult, her_case: Case):  # type: ignore[no-untyped-def]
    turn = Turn(
        case=her_case, parse=parsed, now=NOW, settings=PolicySettings(), zone=ZoneInfo("UTC")
    )
    return decide(turn)


def escalation(priority: str, deadline: datetime) -> Escalation:
    return Escalation(
        id=5,
        person_id=1,
        message_id=9,
        priority=priority,
        reason="r",
        risk_level="none",
        status="notified",
        sla_deadline=deadline,
    )


@pytest.mark.parametrize("best_other_answer", [Intent.GREET, Intent.OUT_OF_SCOPE, Intent.THANKS])
def test_someone_elses_risk_is_answered_as_a_concern_whatever_her_intent_reads(
    best_other_answer: Intent,
) -> None:
    # 我闺蜜想自杀: the classifier's best non-crisis answer may be a greeting at 0.0.
    decision = decide_for(parse(best_other_answer, RiskLevel.MEDIUM, CONCERN_FOR_OTHER), case())
    assert isinstance(decision.escalation, OpenEscalation)
    assert decision.escalation.priority == Priority.P2
    hotline = PolicySettings().programme_hotline
    assert decision.reply.text == reply_text(CONCERN_FOR_OTHER, programme_hotline=hotline)
    assert decision.reply.text != reply_text(best_other_answer.value)
    assert decision.reply.sensitive
    # A worker is called about it: one 人次 of companionship, whatever her words read as, and
    # the worker reads what it is about, not the poor intent.
    assert isinstance(decision.contact, OpenContact) and decision.contact.service_type == "陪伴式"
    assert decision.escalation.reason.startswith(CONCERN_LABEL)
    assert decision.contact.summary.startswith(CONCERN_LABEL)


def test_a_first_crisis_opens_a_p1_escalation_a_contact_and_a_check_in() -> None:
    decision = decide_for(parse(Intent.CRISIS_SUICIDE, RiskLevel.HIGH, "suicide"), case())
    assert isinstance(decision.escalation, OpenEscalation)
    assert decision.escalation.priority == Priority.P1
    assert decision.escalation.sla_deadline == NOW + timedelta(minutes=5)
    assert decision.notifies_staff
    assert isinstance(decision.contact, OpenContact) and decision.contact.service_type == "陪伴式"
    assert [f.kind for f in decision.follow_ups] == ["check_in"]
    assert decision.reply.sensitive


@pytest.mark.parametrize(
    "parsed",
    [parse(Intent.JOB_TRAINING), parse(Intent.CRISIS_SUICIDE, RiskLevel.HIGH, "suicide")],
)
def test_words_said_in_a_call_get_no_written_reply_but_the_rest_of_the_policy(
    parsed: ParseResult,
) -> None:
    call = HotlineCall(
        id=2, call_id="c-1", person_id=1, line="1号线", status="final", started_at=NOW
    )
    in_a_call = decide_for(parsed, case(call=call))
    written = decide_for(parsed, case())
    assert in_a_call.reply is None and written.reply is not None
    assert in_a_call.escalation == written.escalation
    assert in_a_call.follow_ups == written.follow_ups


def test_a_crisis_raises_her_open_p3_escalation_and_keeps_the_earlier_deadline() -> None:
    earlier = NOW + timedelta(minutes=1)
    decision = decide_for(
        parse(Intent.CRISIS_VIOLENCE, RiskLevel.HIGH, "violence"),
        case(open_escalation=escalation("P3", earlier)),
    )
    assert isinstance(decision.escalation, RaiseEscalation)
    assert decision.escalation.priority == Priority.P1
    assert decision.escalation.sla_deadline == earlier
    assert decision.notifies_staff


def test_a_message_of_no_greater_urgency_joins_her_escalation_without_paging() -> None:
    decision = decide_for(parse(Intent.REQUEST_HUMAN), case(open_escalation=escalation("P1", NOW)))
    assert decision.escalation == JoinEscalation(5)
    assert not decision.notifies_staff
    assert decision.reply.sensitive, "an answer within an escalated case stays private"


def test_a_message_within_the_gap_continues_her_contact() -> None:
    ongoing = Contact(
        id=3,
        person_id=1,
        channel="api",
        service_type="支持式",
        intent="legal_aid",
        message_count=2,
    )
    decision = decide_for(parse(Intent.LEGAL_AID), case(ongoing_contacts=(ongoing,)))
    assert decision.contact == ContinueContact(3, "legal_aid", ongoing.summary, 3)


def test_a_check_in_already_coming_sooner_is_not_doubled() -> None:
    soon = FollowUp(
        id=4,
        person_id=1,
        channel="api",
        kind="check_in",
        status="scheduled",
        due_at=NOW + timedelta(hours=2),
    )
    decision = decide_for(
        parse(Intent.CRISIS_SUICIDE, RiskLevel.HIGH, "suicide"), case(next_check_in=soon)
    )
    assert decision.follow_ups == []


RIGHTS_LINE = "全国妇女维权公益服务热线 12338"


def test_12338_is_always_named_as_the_national_womens_rights_line() -> None:
    for key, text in REPLIES.items():
        if "12338" in text:
            assert RIGHTS_LINE in text, key
        assert "关爱热线 12338" not in text, key


def test_crisis_replies_name_the_programme_hotline_as_ours() -> None:
    hotline = PolicySettings().programme_hotline
    for key in ("crisis_suicide", "crisis_violence"):
        text = reply_text(key, programme_hotline=hotline)
        assert f"本项目的关爱热线 {hotline}" in text, key
        assert "我们的关爱热线 12338" not in text, key


SHANGHAI = ZoneInfo("Asia/Shanghai")


def check_in_due(at_local: datetime) -> datetime:
    turn = Turn(
        case=case(),
        parse=parse(Intent.CRISIS_SUICIDE, RiskLevel.HIGH, "suicide"),
        now=at_local.astimezone(UTC),
        settings=PolicySettings(),
        zone=SHANGHAI,
    )
    (follow_up,) = decide(turn).follow_ups
    return follow_up.due_at.astimezone(SHANGHAI)


def test_a_crisis_at_night_is_checked_in_on_next_morning_not_at_night() -> None:
    due = check_in_due(datetime(2026, 3, 9, 2, 56, tzinfo=SHANGHAI))
    assert due == datetime(2026, 3, 10, 8, 30, tzinfo=SHANGHAI)


def test_a_crisis_late_in_the_evening_is_checked_in_the_morning_after_next() -> None:
    due = check_in_due(datetime(2026, 3, 9, 22, 15, tzinfo=SHANGHAI))
    assert due == datetime(2026, 3, 11, 8, 30, tzinfo=SHANGHAI)


def test_a_crisis_in_the_day_is_checked_in_a_day_later_at_the_same_time() -> None:
    due = check_in_due(datetime(2026, 3, 9, 14, 5, tzinfo=SHANGHAI))
    assert due == datetime(2026, 3, 10, 14, 5, tzinfo=SHANGHAI)


def test_a_callback_keeps_the_time_she_asked_for_even_at_night() -> None:
    from intents import Entity

    asked = datetime(2026, 3, 9, 22, 30, tzinfo=SHANGHAI)
    parsed = ParseResult(
        "今晚十点半给我回电话",
        Intent.REQUEST_HUMAN,
        0.9,
        entities=(Entity("time", asked.isoformat(), 0, 5, "今晚十点半"),),
    )
    turn = Turn(
        case=case(),
        parse=parsed,
        now=datetime(2026, 3, 9, 12, 0, tzinfo=SHANGHAI),
        settings=PolicySettings(),
        zone=SHANGHAI,
    )
    (callback,) = decide(turn).follow_ups
    assert callback.kind == "callback" and callback.due_at == asked


def opened(priority_intent: Intent, at_local: datetime, **risk) -> OpenEscalation:  # type: ignore[no-untyped-def]
    turn = Turn(
        case=case(),
        parse=parse(priority_intent, **risk),
        now=at_local.astimezone(UTC),
        settings=PolicySettings(),
        zone=SHANGHAI,
    )
    action = decide(turn).escalation
    assert isinstance(action, OpenEscalation)
    return action


def test_a_p1_pages_at_once_even_at_night() -> None:
    night = datetime(2026, 3, 8, 3, 0, tzinfo=SHANGHAI)  # a Sunday, 03:00
    action = opened(Intent.CRISIS_SUICIDE, night, level=RiskLevel.HIGH, kind="suicide")
    assert action.notify_at == night
    assert action.sla_deadline == night + timedelta(minutes=5)


def test_a_p2_at_the_weekend_pages_on_monday_morning_with_its_sla_from_then() -> None:
    action = opened(Intent.REQUEST_HUMAN, datetime(2026, 3, 8, 3, 0, tzinfo=SHANGHAI))
    monday = datetime(2026, 3, 9, 8, 30, tzinfo=SHANGHAI)
    assert action.priority == Priority.P2
    assert action.notify_at == monday
    assert action.sla_deadline == monday + timedelta(minutes=30)


def test_a_p2_in_working_hours_pages_at_once() -> None:
    tuesday = datetime(2026, 3, 10, 15, 0, tzinfo=SHANGHAI)
    assert opened(Intent.LEGAL_AID, tuesday).notify_at == tuesday


def test_a_p3_is_logged_for_the_queue_but_pages_nobody() -> None:
    turn = Turn(
        case=case(),
        parse=parse(Intent.JOB_TRAINING),
        now=NOW,
        settings=PolicySettings(),
        zone=SHANGHAI,
    )
    from handlers.escalation import Escalate

    Escalate(Priority.P3)(turn)
    assert isinstance(turn.decision.escalation, OpenEscalation)
    assert turn.decision.escalation.notify_at is None
    assert not turn.decision.notifies_staff


# --- repeated distress ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "parsed",
    [parse(Intent.EMOTIONAL_DISTRESS), parse(Intent.PARENTING_EDUCATION, RiskLevel.LOW, "self")],
    ids=["distress", "low risk"],
)
def test_the_third_message_showing_distress_within_days_escalates_p2(parsed: ParseResult) -> None:
    decision = decide_for(parsed, case(recent_distress=2))
    assert isinstance(decision.escalation, OpenEscalation)
    assert decision.escalation.priority == Priority.P2
    assert decision.escalation.cause == "repeated_distress"
    assert decision.escalation.reason.startswith("反复情绪困扰：7 天内第 3 次")
    assert decision.escalation.notify_at is not None, "paged in working hours like any P2"
    assert decision.reply is not None and decision.reply.sensitive


def test_fewer_messages_showing_distress_do_not_escalate() -> None:
    assert decide_for(parse(Intent.EMOTIONAL_DISTRESS), case(recent_distress=1)).escalation is None


def test_repeated_distress_joins_her_open_escalation_rather_than_opening_another() -> None:
    open_one = escalation("P2", NOW + timedelta(minutes=30))
    decision = decide_for(
        parse(Intent.EMOTIONAL_DISTRESS), case(recent_distress=4, open_escalation=open_one)
    )
    assert decision.escalation == JoinEscalation(5)


def test_how_many_and_within_how_many_days_are_policy_settings() -> None:
    settings = PolicySettings(repeated_distress_messages=5, repeated_distress_days=3)
    turn = Turn(
        case=case(recent_distress=3),
        parse=parse(Intent.EMOTIONAL_DISTRESS),
        now=NOW,
        settings=settings,
        zone=ZoneInfo("UTC"),
    )
    assert decide(turn).escalation is None
    turn = Turn(
        case=case(recent_distress=4),
        parse=parse(Intent.EMOTIONAL_DISTRESS),
        now=NOW,
        settings=settings,
        zone=ZoneInfo("UTC"),
    )
    assert decide(turn).escalation.reason.startswith("反复情绪困扰：3 天内第 5 次")  # type: ignore[union-attr]


def test_a_message_showing_no_distress_never_counts_towards_it() -> None:
    assert decide_for(parse(Intent.JOB_TRAINING), case(recent_distress=9)).escalation is None


def test_distress_while_her_escalation_is_open_joins_it_before_the_count_is_made() -> None:
    open_one = escalation("P1", NOW + timedelta(minutes=5))
    decision = decide_for(parse(Intent.EMOTIONAL_DISTRESS), case(open_escalation=open_one))
    assert decision.escalation == JoinEscalation(5)
