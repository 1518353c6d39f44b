"""What happens per intent: small async actions over one ``Turn``, chosen by ``policy.plan``."""

from handlers.policy import POLICY, plan
from handlers.settings import PolicySettings
from handlers.turn import Effects, ReplyText, Turn

__all__ = ["POLICY", "Effects", "PolicySettings", "ReplyText", "Turn", "plan"]
