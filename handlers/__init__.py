"""What happens per intent: a pure policy over a snapshot of her case, returning actions."""

from handlers.policy import POLICY, decide, plan
from handlers.settings import PolicySettings
from handlers.turn import Case, Decision, ReplyText, Turn

__all__ = ["POLICY", "Case", "Decision", "PolicySettings", "ReplyText", "Turn", "decide", "plan"]
