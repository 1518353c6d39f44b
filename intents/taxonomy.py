"""The intent taxonomy and how each intent maps to the programme's service types.

Reports, the care policy in ``handlers/`` and tests rely on these exact names.
"""

from __future__ import annotations

from enum import StrEnum


class ServiceType(StrEnum):
    """How the programme reports its work (人次 per year)."""

    COMPANIONSHIP = "陪伴式"
    EMPOWERMENT = "赋能式"
    SUPPORT = "支持式"


class Intent(StrEnum):
    CRISIS_SUICIDE = "crisis_suicide"
    CRISIS_VIOLENCE = "crisis_violence"
    EMOTIONAL_DISTRESS = "emotional_distress"
    REQUEST_HUMAN = "request_human"
    JOB_TRAINING = "job_training"
    PARENTING_EDUCATION = "parenting_education"
    ACTIVITY_SIGNUP = "activity_signup"
    FINANCIAL_HARDSHIP = "financial_hardship"
    CHILD_SUPPORT = "child_support"
    HEALTH_SERVICE = "health_service"
    LEGAL_AID = "legal_aid"
    GREET = "greet"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    OUT_OF_SCOPE = "out_of_scope"


SERVICE_TYPE: dict[Intent, ServiceType | None] = {
    Intent.CRISIS_SUICIDE: ServiceType.COMPANIONSHIP,
    Intent.CRISIS_VIOLENCE: ServiceType.COMPANIONSHIP,
    Intent.EMOTIONAL_DISTRESS: ServiceType.COMPANIONSHIP,
    Intent.REQUEST_HUMAN: ServiceType.COMPANIONSHIP,
    Intent.JOB_TRAINING: ServiceType.EMPOWERMENT,
    Intent.PARENTING_EDUCATION: ServiceType.EMPOWERMENT,
    Intent.ACTIVITY_SIGNUP: ServiceType.EMPOWERMENT,
    Intent.FINANCIAL_HARDSHIP: ServiceType.SUPPORT,
    Intent.CHILD_SUPPORT: ServiceType.SUPPORT,
    Intent.HEALTH_SERVICE: ServiceType.SUPPORT,
    Intent.LEGAL_AID: ServiceType.SUPPORT,
    Intent.GREET: None,
    Intent.THANKS: None,
    Intent.GOODBYE: None,
    Intent.OUT_OF_SCOPE: None,
}

CRISIS_INTENTS: frozenset[Intent] = frozenset({Intent.CRISIS_SUICIDE, Intent.CRISIS_VIOLENCE})


def service_type(intent: str) -> ServiceType | None:
    """The service type an intent is reported under, or None for small talk."""
    return SERVICE_TYPE.get(Intent(intent))
