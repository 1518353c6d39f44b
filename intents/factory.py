"""Builds the configured NLU: embedded or Rasa intents, always with the local crisis layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intents import embedded
from intents.composite import CompositeNLU
from intents.crisis import CrisisConfig, CrisisLayer
from intents.entities import EntityExtractor
from intents.protocol import NLU, IntentClassifier
from intents.settings import NLUSettings


def ensure_model(settings: NLUSettings, *, force: bool = False) -> Path:
    """The embedded model's directory, trained first when missing (``make run`` calls this)."""
    return embedded.ensure_trained(settings, force=force)


def _backend(settings: NLUSettings) -> IntentClassifier | None:
    if settings.backend != "rasa":
        return None
    # Imported only when configured: the Rasa client is optional at run time.
    from intents.rasa_client import RasaClassifier

    assert settings.rasa_url is not None  # NLUSettings validates this
    return RasaClassifier(settings.rasa_url, settings.rasa_timeout)


def build_nlu(settings: NLUSettings | None = None, **overrides: Any) -> NLU:
    """The composite NLU for ``settings`` (or ``NLUSettings(**overrides)``, the keyword form).

    The embedded model is always loaded: it is the fallback when Rasa is down and its crisis
    probabilities feed the crisis layer whatever the backend.
    """
    if settings is None:
        settings = NLUSettings(**{k: v for k, v in overrides.items() if v is not None})
    elif overrides:
        raise TypeError("pass either settings or keyword overrides, not both")
    return CompositeNLU(
        embedded=embedded.load(settings),
        crisis=CrisisLayer(CrisisConfig.load(settings.crisis_cues)),
        entities=EntityExtractor(settings.timezone),
        threshold=settings.threshold,
        backend=_backend(settings),
    )
