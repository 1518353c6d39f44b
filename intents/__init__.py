"""Chinese intent and crisis classification. Imports nothing else of Careline's."""

from pathlib import Path
from typing import Any

from intents.protocol import NLU, ClassifierUnavailable, IntentClassifier
from intents.result import CONCERN_FOR_OTHER, Entity, ParseResult, Risk, RiskLevel
from intents.settings import NLUSettings
from intents.taxonomy import CRISIS_INTENTS, Intent, ServiceType, service_type

__all__ = [
    "CONCERN_FOR_OTHER",
    "CRISIS_INTENTS",
    "NLU",
    "ClassifierUnavailable",
    "Entity",
    "Intent",
    "IntentClassifier",
    "NLUSettings",
    "ParseResult",
    "Risk",
    "RiskLevel",
    "ServiceType",
    "build_nlu",
    "ensure_model",
    "service_type",
]


# The factory pulls in scikit-learn and jieba (seconds to import): only on first use, so the
# commands that never classify (config check, db upgrade) start at once.
def build_nlu(settings: NLUSettings | None = None, **overrides: Any) -> NLU:
    from intents.factory import build_nlu as build

    return build(settings, **overrides)


def ensure_model(settings: NLUSettings, *, force: bool = False) -> Path:
    from intents.factory import ensure_model as ensure

    return ensure(settings, force=force)
