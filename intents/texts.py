"""Chinese texts a social worker reads in risk reasons (cue reasons live in data/crisis.yml)."""

from __future__ import annotations

KIND_NAMES = {"suicide": "自杀/自伤", "violence": "暴力"}


def cue_reason(reason: str, matched: str) -> str:
    return f"{reason}：“{matched}”"


def history_reason(reason: str, matched: str) -> str:
    return f"近期消息·{reason}：“{matched}”"


def model_reason(kind: str, probability: float) -> str:
    return f"模型判断疑似{KIND_NAMES.get(kind, kind)}风险（概率 {probability:.2f}）"


def reported_reason() -> str:
    return "提及新闻/影视/他人经历（已降低权重）"
