"""Which segments of a call are the caller's words, as text to classify.

Speaker labels from the call system can be wrong, both ways:

- The IVR's own sentences (welcome, menu, "calls are recorded") can land inside a caller's
  segment, and some name crises ("if you think of suicide, press 1"). Every configured
  ``hotline.ivr_prompts`` sentence is removed from every segment, whatever its label,
  matching across the spaces and punctuation speech-to-text adds or drops.
- A whole call can come under one label. When no segment labelled ``caller`` says anything,
  the labels cannot be right (she called, and the call system heard someone), so every agent
  and IVR segment left with words is taken as hers: when in doubt, Careline escalates. An
  agent's greeting taken as hers costs nothing (it reads as a greeting).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.channels.hotline.transcript import Segment
from bot.message import BadText, clean_text

# Between two characters of a prompt: any run of spaces, punctuation or symbols.
_GAP = r"[\W_]*"


@dataclass(frozen=True)
class Utterance:
    position: int  # the segment's index in the transcript
    segment: Segment
    text: str  # as stored: IVR prompts removed, cleaned


class IvrPrompts:
    def __init__(self, prompts: Iterable[str]) -> None:
        self._patterns = [p for p in map(_pattern, prompts) if p is not None]

    def remove(self, text: str) -> str:
        for pattern in self._patterns:
            text = pattern.sub(" ", text)
        return text


def _pattern(prompt: str) -> re.Pattern[str] | None:
    letters = [c for c in prompt if c.isalnum()]
    if not letters:
        return None
    return re.compile(_GAP.join(map(re.escape, letters)), re.IGNORECASE)


def her_words(segments: Sequence[Segment], prompts: IvrPrompts) -> list[Utterance]:
    said = [
        Utterance(position, segment, text)
        for position, segment in enumerate(segments)
        if (text := _words(segment.text, prompts))
    ]
    callers = [u for u in said if u.segment.speaker == "caller"]
    return callers or said


def _words(text: str, prompts: IvrPrompts) -> str:
    try:
        words = clean_text(prompts.remove(text))
    except BadText:  # nothing left: silence, or only the IVR speaking
        return ""
    return words if any(c.isalnum() for c in words) else ""  # punctuation says nothing
