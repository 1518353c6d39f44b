"""In-memory counters of what the channel edges refused.

Served as JSON at ``GET /channels/stats`` (counts only: no ids, no content). They reset when the
process restarts; they are for spotting a misconfigured token or an attack, not for reporting.
"""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger("careline.channels")


class ChannelStats:
    def __init__(self) -> None:
        self.rejected: Counter[tuple[str, str]] = Counter()

    def reject(self, channel: str, reason: str) -> None:
        """Count one refused request and log it once, without anything it carried."""
        self.rejected[channel, reason] += 1
        log.warning("%s: request rejected (%s)", channel, reason)

    def to_dict(self) -> dict[str, dict[str, dict[str, int]]]:
        return {
            "rejected": _nest(self.rejected),
        }


def _nest(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = {}
    for (channel, key), count in sorted(counter.items()):
        nested.setdefault(channel, {})[key] = count
    return nested
