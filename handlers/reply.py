"""Choosing the reply. Crisis replies, and every reply to a message that escalated (a request for
a social worker included), are marked sensitive: no group ever shows them, and the mark is
stored with the reply, so a retried delivery answered from the database is kept private too.
Words said in a hotline call get no written reply."""

from __future__ import annotations

from handlers.texts import REPLIES, reply_text
from handlers.turn import ReplyText, Turn
from intents import CONCERN_FOR_OTHER, CRISIS_INTENTS, Intent
from storage.models import FollowUpKind


def reply(turn: Turn) -> None:
    if turn.case.call is not None:
        # Said on the phone: the person on the line answers her (or the call is over). A
        # written reply would sit in her thread as sent, though nobody could send it.
        return
    parse = turn.parse
    key = parse.intent
    if parse.risk.crisis and key not in CRISIS_INTENTS:
        key = Intent.CRISIS_VIOLENCE if parse.risk.kind == "violence" else Intent.CRISIS_SUICIDE
    # Someone else at risk: her message's intent is the classifier's best other answer, often
    # a poor one (a greeting, "not understood"), so the reply answers the concern itself.
    concern = parse.risk.for_another
    if concern:
        key = CONCERN_FOR_OTHER
    crisis = key in CRISIS_INTENTS
    callback = next((f for f in turn.decision.follow_ups if f.kind == FollowUpKind.CALLBACK), None)
    if callback is not None and not crisis:
        when = callback.due_at.astimezone(turn.zone).strftime("%m月%d日 %H:%M")
        text = reply_text("request_human_callback", when=when)
    else:
        text = reply_text(
            key if key in REPLIES else "out_of_scope",
            programme_hotline=turn.settings.programme_hotline,
        )
    # The policy runs the reply last: an escalation of this turn is known here.
    sensitive = crisis or concern or turn.decision.escalation is not None
    turn.decision.reply = ReplyText(text=text, sensitive=sensitive)
