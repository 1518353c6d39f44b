"""RasaClassifier against a local fake of Rasa's HTTP API on 127.0.0.1 (no Rasa needed)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from intents.protocol import ClassifierUnavailable, IntentClassifier
from intents.rasa_client import RasaClassifier

CRISIS_TEXT = "我把药攒起来了，孩子没有我会更好"


def rasa_answer(text: str, ranking: list[tuple[str, float]]) -> dict[str, Any]:
    """The shape Rasa 3.6 answers on /model/parse."""
    top_name, top_conf = ranking[0]
    return {
        "text": text,
        "intent": {"name": top_name, "confidence": top_conf},
        "entities": [],
        "text_tokens": [[0, len(text)]],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }


@dataclass
class FakeRasa:
    """Answers /model/parse with whatever ``respond`` builds; records what it received."""

    respond: Callable[[dict[str, Any]], web.StreamResponse] = field(
        default=lambda body: web.json_response(
            rasa_answer(body["text"], [("greet", 0.91), ("thanks", 0.06), ("goodbye", 0.03)])
        )
    )
    received: list[dict[str, Any]] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)
    status_answer: dict[str, Any] = field(
        default_factory=lambda: {"model_file": "models/nlu-20261123-184500-brisk-leaf.tar.gz"}
    )
    hang: bool = False
    never_answer: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/model/parse", self._parse)
        app.router.add_get("/status", self._status)
        return app

    async def _parse(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received.append(body)
        if self.hang:
            await self.never_answer.wait()  # set only at teardown
        self.peers.append(request.transport.get_extra_info("peername"))
        return self.respond(body)

    async def _status(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.status_answer)


@pytest.fixture
def fake() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
async def server(fake: FakeRasa) -> AsyncIterator[TestServer]:
    test_server = TestServer(fake.app(), host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    fake.never_answer.set()
    await test_server.close()


@pytest.fixture
async def client(server: TestServer) -> AsyncIterator[RasaClassifier]:
    classifier = RasaClassifier(str(server.make_url("/")), timeout=2.0)
    yield classifier
    await classifier.close()


def answer_with(payload: Any, status: int = 200) -> Callable[[dict[str, Any]], web.Response]:
    return lambda body: web.Response(
        status=status, body=json.dumps(payload), content_type="application/json"
    )


async def test_good_answer_gives_intent_confidence_and_ranking(
    client: RasaClassifier, fake: FakeRasa
) -> None:
    classifier: IntentClassifier = client
    scores = await classifier.classify("你好呀")
    assert scores.intent == "greet"
    assert scores.confidence == pytest.approx(0.91)
    assert scores.ranking == (("greet", 0.91), ("thanks", 0.06), ("goodbye", 0.03))
    assert fake.received == [{"text": "你好呀"}]


async def test_version_names_the_served_model_after_first_answer(client: RasaClassifier) -> None:
    assert client.version == "rasa"
    await client.classify("你好")
    assert client.version == "rasa:nlu-20261123-184500-brisk-leaf.tar.gz"


async def test_nlu_fallback_becomes_out_of_scope(client: RasaClassifier, fake: FakeRasa) -> None:
    # FallbackClassifier puts nlu_fallback on top with the threshold as its confidence; a
    # trained out_of_scope can appear in the same ranking: the two merge, keeping the stronger.
    fake.respond = lambda body: web.json_response(
        rasa_answer(
            body["text"],
            [("nlu_fallback", 0.5), ("job_training", 0.31), ("out_of_scope", 0.2)],
        )
    )
    scores = await client.classify("砍一刀帮我点一下")
    assert scores.intent == "out_of_scope"
    assert scores.confidence == pytest.approx(0.5)
    assert scores.ranking == (("out_of_scope", 0.5), ("job_training", 0.31))


async def test_null_intent_for_tokenless_text_is_out_of_scope(
    client: RasaClassifier, fake: FakeRasa
) -> None:
    fake.respond = answer_with(
        {"text": "。。。", "intent": {"name": None, "confidence": 0.0}, "intent_ranking": []}
    )
    scores = await client.classify("。。。")
    assert (scores.intent, scores.confidence, scores.ranking) == ("out_of_scope", 0.0, ())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "唔該晒，佢冇嘢喺度 😭😭",
        "\u202eRTL override\u200b零宽\ufeff",
        "𠮷野家 \U0001f468\u200d\U0001f469\u200d\U0001f467",
        "长" * 5000,
        "lone surrogate \ud800 from a broken client",
    ],
)
async def test_odd_unicode_reaches_rasa_intact(
    client: RasaClassifier, fake: FakeRasa, text: str
) -> None:
    await client.classify(text)
    assert fake.received == [{"text": text}]


async def test_one_connection_is_reused_across_calls(
    client: RasaClassifier, fake: FakeRasa
) -> None:
    for _ in range(3):
        await client.classify("谢谢你们")
    assert len(fake.peers) == 3
    assert len(set(fake.peers)) == 1


async def test_close_then_classify_opens_a_new_session(client: RasaClassifier) -> None:
    await client.classify("你好")
    await client.close()
    scores = await client.classify("你好")
    assert scores.intent == "greet"


async def test_server_error_is_unavailable_without_the_text(
    client: RasaClassifier, fake: FakeRasa, caplog: pytest.LogCaptureFixture
) -> None:
    fake.respond = lambda body: web.Response(status=500, text=f"boom while parsing {body['text']}")
    with pytest.raises(ClassifierUnavailable) as caught:
        await client.classify(CRISIS_TEXT)
    assert "500" in str(caught.value)
    assert_text_not_leaked(CRISIS_TEXT, caught.value, caplog)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json {" + CRISIS_TEXT, id="not-json"),
        pytest.param(f"<html><p>{CRISIS_TEXT}</p></html>", id="html-page"),
        pytest.param('{"intent": {"name": "' + CRISIS_TEXT, id="truncated-json"),
        pytest.param(b"\xff\xfe" + CRISIS_TEXT.encode("utf-16-le"), id="not-utf8"),
    ],
)
async def test_malformed_body_is_unavailable(
    client: RasaClassifier, fake: FakeRasa, caplog: pytest.LogCaptureFixture, body: str | bytes
) -> None:
    # Each body echoes the text as Rasa's answer does: the decode error must not carry it on.
    raw = body.encode() if isinstance(body, str) else body
    fake.respond = lambda _: web.Response(body=raw, content_type="application/json")
    with pytest.raises(ClassifierUnavailable) as caught:
        await client.classify(CRISIS_TEXT)
    assert_text_not_leaked(CRISIS_TEXT, caught.value, caplog)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([], id="list"),
        pytest.param({"text": "x"}, id="no-intent"),
        pytest.param({"intent": "greet"}, id="intent-not-object"),
        pytest.param({"intent": {"name": 3, "confidence": 0.9}}, id="name-not-string"),
        pytest.param({"intent": {"name": "", "confidence": 0.9}}, id="empty-name"),
        pytest.param({"intent": {"name": "greet", "confidence": "high"}}, id="conf-string"),
        pytest.param({"intent": {"name": "greet", "confidence": True}}, id="conf-bool"),
        pytest.param({"intent": {"name": "greet", "confidence": 1.5}}, id="conf-above-1"),
        pytest.param({"intent": {"name": "greet", "confidence": -0.1}}, id="conf-negative"),
        pytest.param({"intent": {"name": "greet"}}, id="conf-missing"),
        pytest.param(
            {"intent": {"name": "greet", "confidence": 0.9}, "intent_ranking": {"greet": 0.9}},
            id="ranking-not-list",
        ),
        pytest.param(
            {"intent": {"name": "greet", "confidence": 0.9}, "intent_ranking": ["greet"]},
            id="ranking-item-not-object",
        ),
    ],
)
async def test_unexpected_json_shape_is_unavailable(
    client: RasaClassifier, fake: FakeRasa, payload: Any
) -> None:
    fake.respond = answer_with(payload)
    with pytest.raises(ClassifierUnavailable):
        await client.classify("你好")


async def test_non_finite_confidence_is_unavailable(client: RasaClassifier, fake: FakeRasa) -> None:
    # Python's json writes NaN, as a careless server might; the client must not pass it on.
    fake.respond = lambda _: web.Response(
        body=b'{"intent": {"name": "greet", "confidence": NaN}}', content_type="application/json"
    )
    with pytest.raises(ClassifierUnavailable):
        await client.classify("你好")


async def test_timeout_is_unavailable(
    server: TestServer, fake: FakeRasa, caplog: pytest.LogCaptureFixture
) -> None:
    fake.hang = True
    classifier = RasaClassifier(str(server.make_url("/")), timeout=0.2)
    try:
        with pytest.raises(ClassifierUnavailable) as caught:
            await classifier.classify(CRISIS_TEXT)
    finally:
        await classifier.close()
    assert "timeout" in str(caught.value)
    assert_text_not_leaked(CRISIS_TEXT, caught.value, caplog)


async def test_connection_refused_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="intents.rasa_client")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    classifier = RasaClassifier(f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        with pytest.raises(ClassifierUnavailable) as caught:
            await classifier.classify(CRISIS_TEXT)
    finally:
        await classifier.close()
    assert_text_not_leaked(CRISIS_TEXT, caught.value, caplog)
    assert any("rasa unavailable" in r.getMessage() for r in caplog.records)


async def test_recovers_after_an_outage(client: RasaClassifier, fake: FakeRasa) -> None:
    good = fake.respond
    fake.respond = lambda _: web.Response(status=503)
    with pytest.raises(ClassifierUnavailable):
        await client.classify("你好")
    fake.respond = good
    assert (await client.classify("你好")).intent == "greet"


def assert_text_not_leaked(text: str, exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert text not in str(exc)
    assert exc.__cause__ is None and exc.__suppress_context__
    assert all(text not in record.getMessage() for record in caplog.records)
