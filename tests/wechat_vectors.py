"""Loader for the published WeChat / WeCom callback vectors in ``tests/data/wechat_vectors.json``.

Read-only reference data kept in the repository (sources inside each item; see
``tests/data/README.md``), so a bare clone runs every WeChat test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

VECTORS_PATH = Path(__file__).resolve().parent / "data" / "wechat_vectors.json"


@dataclass(frozen=True)
class WeChatVector:
    id: str
    kind: str
    direction: str
    inputs: dict[str, Any]
    expected: dict[str, Any]

    @property
    def is_safe_mode(self) -> bool:
        return self.inputs.get("encoding_aes_key") is not None

    @property
    def ciphertext(self) -> str:
        """The signed ciphertext: ``Encrypt``, or WeCom's encrypted ``echostr``."""
        value = self.inputs.get("encrypt") or self.inputs.get("echostr")
        assert value, f"vector {self.id} has no ciphertext"
        return value


@cache
def load_vectors() -> tuple[WeChatVector, ...]:
    raw = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    vectors = tuple(
        WeChatVector(
            id=item["id"],
            kind=item["kind"],
            direction=item["direction"],
            inputs=item["inputs"],
            expected=item["expected"],
        )
        for item in raw
    )
    if not vectors:
        raise ValueError(f"{VECTORS_PATH} holds no vectors")
    return vectors


def plain_vectors() -> list[WeChatVector]:
    return [v for v in load_vectors() if not v.is_safe_mode]


def safe_vectors() -> list[WeChatVector]:
    return [v for v in load_vectors() if v.is_safe_mode]
