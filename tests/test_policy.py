"""The care policy table, read as a supervisor would."""

from __future__ import annotations

import pytest

from handlers.contact import log_contact
from handlers.escalate import Escalate
from handlers.policy import POLICY, plan
from handlers.reply import reply
from handlers.settings import PolicySettings
from handlers.texts import REPLIES, reply_text
from intents import CRISIS_INTENTS, Intent, ParseResult, Risk, RiskLevel, service_type
from storage.models import Priority


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
    assert escalation_priority(plan(parse(Intent.REQUEST_HUMAN))) == Priority.P3


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
    for key in ("crisis_suicide", "crisis_violence"):
        assert not any(word in REPLIES[key] for word in means), key


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
