"""The composite NLU the gateway uses: crisis layer always, fallbacks, output format."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from intents import NLUSettings, build_nlu, ensure_model
from intents.composite import CompositeNLU
from intents.result import RiskLevel
from tests.test_intents_embedded import write_training_data

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


# Everyday talk, so the small model does not call every unknown message a crisis (its
# calibrated crisis probability alone escalates at a moderate level).
EVERYDAY = """version: "3.1"
nlu:
- intent: out_of_scope
  examples: |
    - 今天去菜市场买了菜
    - 嗯嗯 那个就是随便说说
    - 晚饭吃什么好呢
    - 今天天气不错
    - 群里有人拼车吗
- intent: emotional_distress
  metadata:
    negative: hyperbole
  examples: |
    - 笑死我了
    - 想死你们了
    - 热死了 开空调
    - 饿死了 还没吃饭
    - 气死我了 又堵车
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = write_training_data(tmp_path_factory.mktemp("nlu-data"))
    (directory / "nlu_everyday.yml").write_text(EVERYDAY, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    directory = tmp_path_factory.mktemp("models")
    ensure_model(NLUSettings(model_dir=directory, data_dir=data_dir))
    return directory


def settings(model_dir: Path, data_dir: Path, **overrides: Any) -> NLUSettings:
    return NLUSettings(model_dir=model_dir, data_dir=data_dir, **overrides)


async def test_crisis_layer_overrules_the_classifier(model_dir: Path, data_dir: Path) -> None:
    nlu = build_nlu(settings(model_dir, data_dir))
    # The small training set has no crisis_violence at all: only the crisis layer knows it.
    result = await nlu.parse("他又打我了 我好怕", now=NOW)
    assert result.intent == "crisis_violence"
    assert result.confidence == 1.0
    assert result.risk.crisis and result.risk.kind == "violence"
    assert "crisis_violence" not in dict(result.intent_ranking)
    await nlu.close()


async def test_hyperbole_is_no_crisis(model_dir: Path, data_dir: Path) -> None:
    nlu = build_nlu(settings(model_dir, data_dir))
    for text in ("累死了", "笑死我了", "想死你们了"):
        result = await nlu.parse(text, now=NOW)
        assert not result.risk.crisis
        assert result.intent not in ("crisis_suicide", "crisis_violence")


async def test_history_raises_risk(model_dir: Path, data_dir: Path) -> None:
    nlu = build_nlu(settings(model_dir, data_dir))
    alone = await nlu.parse("真的熬不下去了", now=NOW)
    after = await nlu.parse("真的熬不下去了", history=["我好累", "天天睡不着"], now=NOW)
    assert after.risk.level.rank >= alone.risk.level.rank
    assert any("近期消息" in reason for reason in after.risk.reasons)
    assert after.risk.crisis and after.intent == "crisis_suicide"


async def test_below_threshold_falls_back_to_out_of_scope(model_dir: Path, data_dir: Path) -> None:
    nlu = build_nlu(settings(model_dir, data_dir, threshold=0.99))
    result = await nlu.parse("培训的事和房租的事", now=NOW)
    top_intent, top_confidence = result.intent_ranking[0]  # what the model thought is kept
    assert top_confidence < 0.99 and top_intent != "out_of_scope"
    assert result.intent == "out_of_scope"
    assert result.confidence == 0.99


async def test_parse_output_is_rasa_format_plus_risk(model_dir: Path, data_dir: Path) -> None:
    nlu = build_nlu(settings(model_dir, data_dir))
    result = await nlu.parse("明天下午三点给我回电话 13812345678 我带两个孩子", now=NOW)
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert set(data) == {"text", "intent", "intent_ranking", "entities", "risk", "model_version"}
    assert set(data["intent"]) == {"name", "confidence"}
    assert all(set(item) == {"name", "confidence"} for item in data["intent_ranking"])
    assert set(data["risk"]) == {
        "level", "crisis", "kind", "reasons", "score", "probability", "evidence",
    }  # fmt: skip
    assert {e["entity"]: e["value"] for e in data["entities"]} == {
        "time": "2026-11-24T15:00:00+08:00",
        "phone": "13812345678",
        "children_count": 2,
    }
    assert data["model_version"].startswith("embedded-")


async def test_keyword_form_of_build_nlu(model_dir: Path, data_dir: Path) -> None:
    nlu = build_nlu(model_dir=model_dir, data_dir=data_dir, threshold=0.3, rasa_url=None)
    assert isinstance(nlu, CompositeNLU) and nlu.threshold == 0.3
    with pytest.raises(TypeError):
        build_nlu(settings(model_dir, data_dir), threshold=0.3)


def test_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backend"):
        NLUSettings(backend="bert")
    with pytest.raises(ValueError, match="rasa_url"):
        NLUSettings(backend="rasa")
    with pytest.raises(ValueError, match="threshold"):
        NLUSettings(threshold=1.5)
    assert NLUSettings(model_dir="var/x").model_dir == Path("var/x")  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_rasa_outage_falls_back_to_embedded_and_warns_without_text(
    model_dir: Path, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    nlu = build_nlu(settings(model_dir, data_dir, backend="rasa", rasa_url=url, rasa_timeout=1))
    embedded_only = build_nlu(settings(model_dir, data_dir))
    texts = ["想报名育婴师培训", "我不想活了"]
    with caplog.at_level(logging.INFO):
        results = [await nlu.parse(text, now=NOW) for text in texts]
    expected = [await embedded_only.parse(text, now=NOW) for text in texts]
    assert [r.intent for r in results] == [r.intent for r in expected]
    assert results[1].risk.crisis
    assert nlu.fallbacks == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per outage, not per message
    assert all(text not in r.getMessage() for r in caplog.records for text in texts)
    await nlu.close()


@pytest.fixture
async def fake_rasa() -> AsyncIterator[tuple[str, list[str]]]:
    """A local stand-in for Rasa's /model/parse that always answers `greet`."""
    seen: list[str] = []

    async def parse(request: web.Request) -> web.Response:
        text = (await request.json())["text"]
        seen.append(text)
        ranking = [{"name": "greet", "confidence": 0.8}, {"name": "thanks", "confidence": 0.2}]
        return web.json_response(
            {"text": text, "intent": ranking[0], "intent_ranking": ranking, "entities": []}
        )

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"model_file": "models/nlu-test.tar.gz"})

    app = web.Application()
    app.router.add_post("/model/parse", parse)
    app.router.add_get("/status", status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_rasa_backend_classifies_and_crisis_layer_still_runs(
    model_dir: Path, data_dir: Path, fake_rasa: tuple[str, list[str]]
) -> None:
    url, seen = fake_rasa
    nlu = build_nlu(settings(model_dir, data_dir, backend="rasa", rasa_url=url))
    greeting = await nlu.parse("想报名育婴师培训", now=NOW)
    assert greeting.intent == "greet"  # Rasa's answer, not the embedded model's
    assert greeting.intent_ranking == (("greet", 0.8), ("thanks", 0.2))
    assert greeting.model_version.startswith("rasa:nlu-test.tar.gz+embedded-")
    crisis = await nlu.parse("我真的不想活了", now=NOW)
    assert crisis.intent == "crisis_suicide" and crisis.risk.crisis
    assert seen == ["想报名育婴师培训", "我真的不想活了"]
    assert nlu.fallbacks == 0
    await nlu.close()


async def test_long_messages_are_assessed_whole(model_dir: Path, data_dir: Path) -> None:
    nlu = build_nlu(settings(model_dir, data_dir))
    filler = "嗯那个就是我今天去菜市场买了菜然后" * 400
    result = await nlu.parse(filler + "我真的不想活了", history=["我好累"] * 3, now=NOW)
    assert result.risk.crisis and result.intent == "crisis_suicide"
    calm = await nlu.parse(filler, now=NOW)
    assert not calm.risk.crisis


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\u200b",
        "\ud800不想活了",
        "🙂" * 2000,
        "a" * 70_000,
        "\x00\x1b[31m",
        "<xml>&amp;</xml>",
    ],
)
async def test_odd_input_parses(model_dir: Path, data_dir: Path, text: str) -> None:
    nlu = build_nlu(settings(model_dir, data_dir))
    result = await nlu.parse(text, now=NOW)
    assert result.text == text
    assert 0.0 <= result.confidence <= 1.0
    assert result.intent in {name for name, _ in result.intent_ranking} | {
        "out_of_scope",
        "crisis_suicide",
        "crisis_violence",
        "emotional_distress",
    }
    assert result.risk.crisis == (result.intent in ("crisis_suicide", "crisis_violence"))


@dataclass(frozen=True)
class _Ranked:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


class _FixedBackend:
    """An intent backend that always ranks the same way (as Rasa might)."""

    version = "fixed"

    def __init__(self, ranking: tuple[tuple[str, float], ...]) -> None:
        self.answer = _Ranked(ranking[0][0], ranking[0][1], ranking)

    async def classify(self, text: str) -> _Ranked:
        return self.answer


def _with_backend(model_dir: Path, data_dir: Path, ranking: tuple[tuple[str, float], ...]):
    nlu = build_nlu(settings(model_dir, data_dir))
    assert isinstance(nlu, CompositeNLU)
    nlu.backend = _FixedBackend(ranking)  # type: ignore[assignment]
    return nlu


async def test_a_crisis_ranked_first_is_never_relabelled_as_distress(
    model_dir: Path, data_dir: Path
) -> None:
    # No cue names this; the classifier's top answer is a crisis: it stays one, at least P2.
    ranking = (("crisis_suicide", 0.55), ("emotional_distress", 0.3), ("thanks", 0.15))
    nlu = _with_backend(model_dir, data_dir, ranking)
    result = await nlu.parse("这些东西我都整理好了 留给你们", now=NOW)
    assert result.intent == "crisis_suicide"
    assert result.confidence == 0.55  # crisis_suicide's own probability, not another's
    assert result.risk.crisis and result.risk.kind == "suicide"
    assert result.risk.level.rank >= RiskLevel.MEDIUM.rank
    assert any(item.source == "intent" for item in result.risk.evidence)


async def test_a_crisis_ranked_first_below_the_fallback_still_escalates(
    model_dir: Path, data_dir: Path
) -> None:
    ranking = (("crisis_violence", 0.3), ("greet", 0.25), ("thanks", 0.2))
    nlu = _with_backend(model_dir, data_dir, ranking)
    result = await nlu.parse("他回来了", now=NOW)
    assert result.intent == "crisis_violence" and result.confidence == 0.3
    assert result.risk.crisis and result.risk.kind == "violence"


async def test_someone_elses_crisis_escalates_as_concern_not_as_hers(
    model_dir: Path, data_dir: Path
) -> None:
    ranking = (("crisis_suicide", 0.7), ("emotional_distress", 0.2), ("thanks", 0.1))
    nlu = _with_backend(model_dir, data_dir, ranking)
    result = await nlu.parse("我闺蜜昨晚跟我说她不想活了", now=NOW)
    assert result.risk.kind == "concern_for_other"
    assert result.risk.level is RiskLevel.MEDIUM and not result.risk.crisis
    # The intent is the classifier's best non-crisis answer, with that answer's confidence.
    assert (result.intent, result.confidence) == ("emotional_distress", 0.2)


@pytest.mark.parametrize(
    ("text", "ranking", "expected"),
    [
        # A crisis read, but her past and over (some risk left, low): she is talking about
        # distress, not the classifier's weak next answer. Written for this test.
        (
            "以前想过自杀 现在有了孩子 好多了",
            (("crisis_suicide", 0.9), ("financial_hardship", 0.06), ("emotional_distress", 0.04)),
            ("emotional_distress", 0.04),
        ),
        # A confident other answer stays.
        (
            "以前想过自杀 现在有了孩子 好多了 想问问育婴师培训",
            (("crisis_suicide", 0.5), ("job_training", 0.46), ("thanks", 0.04)),
            ("job_training", 0.46),
        ),
    ],
)
async def test_a_crisis_read_but_not_hers_gets_a_real_answer_not_a_weak_one(
    model_dir: Path,
    data_dir: Path,
    text: str,
    ranking: tuple[tuple[str, float], ...],
    expected: tuple[str, float],
) -> None:
    nlu = _with_backend(model_dir, data_dir, ranking)
    result = await nlu.parse(text, now=NOW)
    assert not result.risk.crisis, result.risk
    assert (result.intent, result.confidence) == expected


async def test_printed_confidence_belongs_to_the_printed_intent(
    model_dir: Path, data_dir: Path
) -> None:
    nlu = build_nlu(settings(model_dir, data_dir))
    for text in ("想报名育婴师培训", "房租交不起了", "你好", "我不想活了", "谢谢你们"):
        result = await nlu.parse(text, now=NOW)
        ranked = dict(result.intent_ranking)
        rule_decision = result.risk.crisis and result.confidence == 1.0
        fallback = result.intent == "out_of_scope" and result.confidence == nlu.threshold
        assert rule_decision or fallback or ranked.get(result.intent) == result.confidence, text


async def test_parse_shows_the_score_and_each_piece_of_evidence(
    model_dir: Path, data_dir: Path
) -> None:
    nlu = build_nlu(settings(model_dir, data_dir))
    result = await nlu.parse("我真的不想活了", now=NOW)
    risk = result.to_dict()["risk"]
    assert risk["score"] >= 2 and 0 <= risk["probability"] <= 1
    sources = {item["source"] for item in risk["evidence"]}
    assert {"cue", "model"} <= sources
    cue = next(item for item in risk["evidence"] if item["source"] == "cue")
    assert cue["label"] and cue["matched"] and cue["name"]


def test_a_risk_read_back_from_level_kind_and_reasons_is_the_same_risk() -> None:
    # Storage keeps level, kind and reasons; the evidence is detail, not identity.
    from intents.result import Evidence, Risk

    full = Risk(
        RiskLevel.HIGH,
        "suicide",
        ("主动自杀意念：“不想活了”",),
        4.0,
        0.99,
        (Evidence("cue", "ideation", "主动自杀意念", 4.0, "不想活了"),),
    )
    assert Risk(full.level, full.kind, full.reasons) == full
    assert Risk(RiskLevel.MEDIUM, "suicide", full.reasons) != full


class _RankedEmbedded:
    """The embedded model as the composite sees it, ranking a crisis first at a probability
    its calibration puts below ``model.ranked_first``."""

    version = "embedded-fixed"

    def __init__(self, probabilities: dict[str, float]) -> None:
        self._probabilities = probabilities

    def probabilities(self, text: str) -> dict[str, float]:
        return dict(self._probabilities)

    def crisis_probabilities(self, probabilities: dict[str, float]) -> dict[str, float]:
        return {name: p for name, p in probabilities.items() if name.startswith("crisis_")}

    def leaning_words(
        self, text: str, probabilities: dict[str, float], intent: str
    ) -> tuple[str, ...]:
        return ()


async def test_an_embedded_crisis_ranking_below_its_floor_is_low_and_shown() -> None:
    from intents.crisis import CrisisLayer
    from intents.entities import EntityExtractor

    crisis = CrisisLayer()
    assert crisis.config.model_ranked_first is not None
    below = round(crisis.config.model_ranked_first - 0.05, 2)
    probabilities = {"crisis_suicide": below, "emotional_distress": 0.15, "thanks": 0.1}
    nlu = CompositeNLU(
        embedded=_RankedEmbedded(probabilities),  # type: ignore[arg-type]
        crisis=crisis,
        entities=EntityExtractor("Asia/Shanghai"),
        threshold=0.2,
    )
    result = await nlu.parse("嗯", now=NOW)
    assert result.risk.level is RiskLevel.LOW and not result.risk.crisis
    assert any(item.source == "intent" for item in result.risk.evidence)
    # Not a crisis, so not printed as one: the best other answer, with its own probability.
    assert (result.intent, result.confidence) == ("emotional_distress", 0.15)


def test_the_crisis_kind_ranked_second_is_passed_to_the_layer() -> None:
    from intents.composite import _second_kind

    assert _second_kind((("thanks", 0.6), ("crisis_suicide", 0.3))) == "suicide"
    assert _second_kind((("goodbye", 0.6), ("crisis_violence", 0.3))) == "violence"
    assert _second_kind((("thanks", 0.6), ("greet", 0.3))) is None
    assert _second_kind((("thanks", 1.0),)) is None
