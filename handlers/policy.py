"""The care policy: what Careline does for each intent, and how risk overrides it.

A supervisor asking "what happens when a mother says X?" reads this file: find X's intent in
``POLICY``; then ``plan`` adds an escalation and a check-in whenever the crisis layer sees risk,
whatever the intent — when in doubt, Careline escalates — and a P2 when her messages keep
showing distress (``handlers.distress``).
"""

from __future__ import annotations

from handlers.contact import log_contact
from handlers.distress import escalate_repeated_distress, shows_distress
from handlers.escalation import Escalate, priority_for_risk
from handlers.followup import callback_when_asked, check_in
from handlers.reply import reply
from handlers.turn import Decision, Step, Turn
from intents import CRISIS_INTENTS, Intent, ParseResult
from storage.models import Priority

_service = (log_contact, reply)

POLICY: dict[Intent, tuple[Step, ...]] = {
    # 陪伴式 — companionship
    Intent.CRISIS_SUICIDE: (Escalate(Priority.P1), log_contact, check_in("crisis"), reply),
    Intent.CRISIS_VIOLENCE: (Escalate(Priority.P1), log_contact, check_in("crisis"), reply),
    Intent.EMOTIONAL_DISTRESS: (log_contact, check_in("distress"), reply),
    Intent.REQUEST_HUMAN: (Escalate(Priority.P2), log_contact, callback_when_asked, reply),
    # 赋能式 — empowerment
    Intent.JOB_TRAINING: _service,
    Intent.PARENTING_EDUCATION: _service,
    Intent.ACTIVITY_SIGNUP: _service,
    # 支持式 — support
    Intent.FINANCIAL_HARDSHIP: (Escalate(Priority.P2), *_service),
    Intent.CHILD_SUPPORT: _service,
    Intent.HEALTH_SERVICE: _service,
    Intent.LEGAL_AID: (Escalate(Priority.P2), *_service),
    # no service
    Intent.GREET: (reply,),
    Intent.THANKS: (reply,),
    Intent.GOODBYE: (reply,),
    Intent.OUT_OF_SCOPE: (reply,),
}


def plan(parse: ParseResult, *, addressed: bool = True) -> tuple[Step, ...]:
    """The actions for one message, in order.

    A message not addressed to Careline (group chatter) gets no service of its own: only risk
    makes Careline act on it, and then fully — escalation, check-in and a private reply.
    """
    actions = POLICY.get(Intent(parse.intent), POLICY[Intent.OUT_OF_SCOPE])
    risk_priority = priority_for_risk(parse.risk)
    if not addressed and risk_priority is None and Intent(parse.intent) not in CRISIS_INTENTS:
        return ()
    if any(isinstance(a, Escalate) for a in actions):
        return actions
    if risk_priority is not None and parse.risk.for_another:
        # Someone else is at risk (她闺蜜说不想活了): a worker is told, but it is not the
        # writer's crisis, so no crisis check-in is scheduled for her.
        return (Escalate(risk_priority), log_contact, reply)
    if risk_priority is not None:
        # Risk the intent alone would not have escalated (e.g. "不想再撑了" read as distress).
        return (Escalate(risk_priority), log_contact, check_in("crisis"), reply)
    if shows_distress(parse):
        # Distress again and again within days: a person looks (P2), though no one message
        # would have escalated.
        return (escalate_repeated_distress, *actions)
    return actions


def decide(turn: Turn) -> Decision:
    """Run the policy's steps for this message over her case: what Careline does about it."""
    for step in plan(turn.parse, addressed=turn.case.message.addressed):
        step(turn)
    return turn.decision
