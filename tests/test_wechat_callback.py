"""bot.channels.wechat.callback with wechatpy as the independent WeChat-side client.

The replay guard keeps its memory in an SQLite database here; ``test_wechat_replay`` runs it on
every database.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import pytest
from sqlalchemy.engine import URL
from wechatpy.crypto import WeChatCrypto as WechatpyOfficialCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WechatpyWorkCrypto

from bot.accepted_requests import StoredAcceptedRequests
from bot.channels.wechat.callback import CallbackRejected, CallbackVerifier, InboundMessage
from bot.channels.wechat.crypto import WeChatCrypto, make_signature
from bot.channels.wechat.replay import ReplayGuard
from bot.channels.wechat.xml import build_text_reply, parse_xml
from storage.db import Database
from tests.wechat_vectors import WeChatVector, safe_vectors

NOW = 1_700_000_000
TOKEN = "careline-test-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode()[:-1]
APPID = "wxcarelinetest0001"
CORPID = "wwcarelinetest0001"
ACCOUNT = "gh_careline"
MOTHER = "oMother0001"

INNER_TEXT = (
    f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
    f"<FromUserName><![CDATA[{MOTHER}]]></FromUserName><CreateTime>{NOW}</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[孩子发烧了，我一个人好怕]]></Content>"
    "<MsgId>24000000000000001</MsgId></xml>"
)


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def accepted(sqlite_url: URL) -> AsyncIterator[StoredAcceptedRequests]:
    db = Database(sqlite_url)
    yield StoredAcceptedRequests(db)
    await db.close()


def guard(accepted: StoredAcceptedRequests, now: float = NOW) -> ReplayGuard:
    return ReplayGuard("wechat_mp", accepted, clock=FakeClock(now))


def safe_verifier(accepted: StoredAcceptedRequests, receive_id: str = APPID) -> CallbackVerifier:
    crypto = WeChatCrypto(TOKEN, AES_KEY, receive_id)
    return CallbackVerifier(token=TOKEN, guard=guard(accepted), crypto=crypto)


def plain_verifier(accepted: StoredAcceptedRequests) -> CallbackVerifier:
    return CallbackVerifier(token=TOKEN, guard=guard(accepted))


def wechat_safe_request(
    inner: str = INNER_TEXT,
    *,
    nonce: str = "1234567",
    timestamp: int = NOW,
    appid: str = APPID,
    outer_extra: str = "",
) -> tuple[dict[str, str], str]:
    """The query and body WeChat sends in safe mode, encrypted and signed by wechatpy."""
    theirs = WechatpyOfficialCrypto(TOKEN, AES_KEY, appid)
    envelope = parse_xml(theirs.encrypt_message(inner, nonce, str(timestamp)))
    query = {
        "signature": make_signature(TOKEN, str(timestamp), nonce),
        "timestamp": str(timestamp),
        "nonce": nonce,
        "openid": MOTHER,
        "encrypt_type": "aes",
        "msg_signature": str(envelope["MsgSignature"]),
    }
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>{outer_extra}"
        f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    )
    return query, body


def plain_query(nonce: str = "7654321", timestamp: int = NOW) -> dict[str, str]:
    return {
        "signature": make_signature(TOKEN, str(timestamp), nonce),
        "timestamp": str(timestamp),
        "nonce": nonce,
        "openid": MOTHER,
    }


def rejection(call: object, *args: object) -> tuple[int, str]:
    with pytest.raises(CallbackRejected) as info:
        call(*args)  # type: ignore[operator]
    return info.value.status, info.value.reason


async def refusal(verifier: CallbackVerifier, query: dict[str, str], body: str) -> tuple[int, str]:
    with pytest.raises(CallbackRejected) as info:
        await verifier.open(query, body)
    return info.value.status, info.value.reason


# -- GET URL verification ----------------------------------------------------------------------


async def test_official_account_url_check_answers_echostr(accepted: StoredAcceptedRequests) -> None:
    query = plain_query() | {"echostr": "4375120948345356249"}
    for verifier in (
        plain_verifier(accepted),
        safe_verifier(accepted),
    ):  # OA signs the GET plainly in any mode
        assert verifier.verify_url(query) == "4375120948345356249"


async def test_forged_or_missing_url_check_signature_is_forbidden(
    accepted: StoredAcceptedRequests,
) -> None:
    query = plain_query() | {"echostr": "1"}
    assert rejection(plain_verifier(accepted).verify_url, query | {"signature": "0" * 40}) == (
        403,
        "bad_signature",
    )
    without = {k: v for k, v in query.items() if k != "signature"}
    assert rejection(plain_verifier(accepted).verify_url, without) == (403, "missing_signature")
    assert rejection(plain_verifier(accepted).verify_url, query | {"timestamp": ""})[0] == 403


async def test_wecom_url_check_decrypts_echostr_signed_by_wechatpy_peer(
    accepted: StoredAcceptedRequests,
) -> None:
    verifier = safe_verifier(accepted, CORPID)
    echo = WeChatCrypto(TOKEN, AES_KEY, CORPID).encrypt("5927782489442352469")
    query = {
        "msg_signature": make_signature(TOKEN, str(NOW), "42", echo),
        "timestamp": str(NOW),
        "nonce": "42",
        "echostr": echo,
    }
    assert verifier.verify_url(query) == "5927782489442352469"
    # wechatpy's WeCom client agrees on the same request.
    theirs = WechatpyWorkCrypto(TOKEN, AES_KEY, CORPID)
    assert theirs.check_signature(query["msg_signature"], str(NOW), "42", echo) == (
        "5927782489442352469"
    )
    assert rejection(verifier.verify_url, query | {"nonce": "43"}) == (403, "bad_signature")


URL_CHECK_QUERIES = [
    v for v in safe_vectors() if v.kind == "wecom_url_verify" and "request_query" in v.inputs
]
# Mini Program JSON bodies are not one of Careline's channels.
XML_INBOUND_BODIES = [
    v
    for v in safe_vectors()
    if v.direction == "inbound" and v.inputs.get("body", "").lstrip().startswith("<")
]


@pytest.mark.parametrize("vector", URL_CHECK_QUERIES, ids=lambda v: v.id)
async def test_wecom_url_check_vector_from_the_raw_query(
    accepted: StoredAcceptedRequests, vector: WeChatVector
) -> None:
    i = vector.inputs
    crypto = WeChatCrypto(i["token"], i["encoding_aes_key"], i["receive_id"])
    verifier = CallbackVerifier(token=i["token"], guard=guard(accepted), crypto=crypto)
    query = {k: v[0] for k, v in parse_qs(i["request_query"], strict_parsing=True).items()}
    assert verifier.verify_url(query) == vector.expected["response_body"]


# -- POST in safe mode -------------------------------------------------------------------------


async def test_safe_mode_message_from_wechatpy_is_opened(accepted: StoredAcceptedRequests) -> None:
    query, body = wechat_safe_request()
    message = await safe_verifier(accepted).open(query, body.encode())
    assert message.encrypted
    assert message.fields["Content"] == "孩子发烧了，我一个人好怕"
    assert message.fields["FromUserName"] == MOTHER


async def test_sealed_reply_is_decrypted_by_wechatpy(accepted: StoredAcceptedRequests) -> None:
    verifier = safe_verifier(accepted)
    query, body = wechat_safe_request()
    inbound = await verifier.open(query, body)
    reply = build_text_reply(
        to_user=MOTHER, from_user=ACCOUNT, content="我们在，社工马上联系你 ]]> 😀", create_time=NOW
    )
    sealed = verifier.seal(reply, inbound, timestamp=str(NOW + 1))
    envelope = parse_xml(sealed)
    theirs = WechatpyOfficialCrypto(TOKEN, AES_KEY, APPID)
    decrypted = theirs.decrypt_message(
        sealed, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    assert decrypted == reply
    assert envelope["Nonce"] == query["nonce"] and envelope["TimeStamp"] == str(NOW + 1)


async def test_compatibility_mode_plaintext_fields_are_ignored(
    accepted: StoredAcceptedRequests,
) -> None:
    # In compatibility mode the outer XML carries plaintext copies; only the signed,
    # encrypted inner message counts.
    query, body = wechat_safe_request(outer_extra="<Content><![CDATA[forged]]></Content>")
    message = await safe_verifier(accepted).open(query, body)
    assert message.fields["Content"] == "孩子发烧了，我一个人好怕"


@pytest.mark.parametrize("vector", XML_INBOUND_BODIES, ids=lambda v: v.id)
async def test_published_inbound_bodies_open_with_their_clock(
    accepted: StoredAcceptedRequests, vector: WeChatVector
) -> None:
    i = vector.inputs
    crypto = WeChatCrypto(i["token"], i["encoding_aes_key"], i["receive_id"])
    verifier = CallbackVerifier(
        token=i["token"], guard=guard(accepted, int(i["timestamp"])), crypto=crypto
    )
    query = {"timestamp": i["timestamp"], "nonce": i["nonce"], "msg_signature": i["msg_signature"]}
    message = await verifier.open(query, i["body"])
    expected = vector.expected["fields"]
    assert {k: message.fields[k] for k in expected} == expected


async def test_forged_msg_signature_is_forbidden_and_not_remembered(
    accepted: StoredAcceptedRequests,
) -> None:
    verifier = safe_verifier(accepted)
    query, body = wechat_safe_request()
    assert await refusal(verifier, query | {"msg_signature": "f" * 40}, body) == (
        403,
        "bad_signature",
    )
    assert (await verifier.open(query, body)).encrypted  # the genuine request still gets in


async def test_an_identical_request_is_a_retry_and_opens_the_same(
    accepted: StoredAcceptedRequests,
) -> None:
    verifier = safe_verifier(accepted)
    query, body = wechat_safe_request()
    first = await verifier.open(query, body)
    retry = await verifier.open(query, body)
    assert retry.fields == first.fields and not retry.ticket.first


async def test_the_same_signed_pair_sealed_again_is_a_replay(
    accepted: StoredAcceptedRequests,
) -> None:
    verifier = safe_verifier(accepted)
    query, body = wechat_safe_request()
    await verifier.open(query, body)
    # Signed by the token holder with the same timestamp and nonce, but another body.
    resealed_query, resealed = wechat_safe_request()
    assert resealed != body
    assert await refusal(verifier, resealed_query, resealed) == (403, "replay_reused_nonce")


async def test_released_request_can_be_retried(accepted: StoredAcceptedRequests) -> None:
    verifier = safe_verifier(accepted)
    query, body = wechat_safe_request()
    message = await verifier.open(query, body)
    await verifier.release(message)
    assert await verifier.open(query, body) == message


async def test_stale_request_is_forbidden(accepted: StoredAcceptedRequests) -> None:
    query, body = wechat_safe_request(timestamp=NOW - 301)
    assert await refusal(safe_verifier(accepted), query, body) == (403, "replay_stale")


async def test_message_for_another_account_is_forbidden(accepted: StoredAcceptedRequests) -> None:
    query, body = wechat_safe_request(appid="wxsomeoneelse00001")
    assert await refusal(safe_verifier(accepted), query, body) == (403, "wrong_receive_id")


async def test_signed_but_undecryptable_ciphertext_is_a_bad_request(
    accepted: StoredAcceptedRequests,
) -> None:
    garbage = base64.b64encode(b"\x00" * 48).decode()
    query = {
        "timestamp": str(NOW),
        "nonce": "1",
        "encrypt_type": "aes",
        "msg_signature": make_signature(TOKEN, str(NOW), "1", garbage),
    }
    body = f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>"
    assert await refusal(safe_verifier(accepted), query, body) == (400, "undecryptable")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "malformed_xml"),
        ("<xml><Encrypt>", "malformed_xml"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>', "malformed_xml"),
        ("<xml><ToUserName>gh</ToUserName></xml>", "missing_encrypt"),
        ("<xml><Encrypt></Encrypt></xml>", "missing_encrypt"),
    ],
)
async def test_malformed_safe_mode_body_is_a_bad_request(
    accepted: StoredAcceptedRequests, body: str, reason: str
) -> None:
    query, _ = wechat_safe_request()
    assert await refusal(safe_verifier(accepted), query, body) == (400, reason)


async def test_malformed_inner_xml_is_a_bad_request(accepted: StoredAcceptedRequests) -> None:
    query, body = wechat_safe_request("<xml><Content>unclosed</xml>")
    assert await refusal(safe_verifier(accepted), query, body) == (400, "malformed_xml")


async def test_plain_request_to_an_encrypted_endpoint_is_forbidden(
    accepted: StoredAcceptedRequests,
) -> None:
    assert await refusal(safe_verifier(accepted), plain_query(), INNER_TEXT) == (
        403,
        "encryption_required",
    )


async def test_unknown_encrypt_type_is_a_bad_request(accepted: StoredAcceptedRequests) -> None:
    query, body = wechat_safe_request()
    assert await refusal(safe_verifier(accepted), query | {"encrypt_type": "des"}, body) == (
        400,
        "unknown_encrypt_type",
    )


# -- POST in plain mode ------------------------------------------------------------------------


async def test_plain_mode_message_is_opened_and_reply_left_as_is(
    accepted: StoredAcceptedRequests,
) -> None:
    verifier = plain_verifier(accepted)
    message = await verifier.open(plain_query(), INNER_TEXT.encode())
    assert message == InboundMessage(
        parse_xml(INNER_TEXT), False, str(NOW), "7654321", message.ticket
    )
    reply = build_text_reply(to_user=MOTHER, from_user=ACCOUNT, content="收到", create_time=NOW)
    assert verifier.seal(reply, message, timestamp=str(NOW)) == reply


async def test_plain_mode_rejections(accepted: StoredAcceptedRequests) -> None:
    verifier = plain_verifier(accepted)
    forged = plain_query() | {"signature": "0" * 40}
    assert await refusal(verifier, forged, INNER_TEXT) == (403, "bad_signature")
    assert await refusal(verifier, plain_query(), "<xml>") == (400, "malformed_xml")
    await verifier.open(plain_query(nonce="1"), INNER_TEXT)
    # A plain-mode signature does not cover the body: a captured one with another body is
    # refused, while the very same request again is WeChat's retry.
    other_body = INNER_TEXT.replace("好怕", "没事了")
    assert await refusal(verifier, plain_query(nonce="1"), other_body) == (
        403,
        "replay_reused_nonce",
    )
    assert (await verifier.open(plain_query(nonce="1"), INNER_TEXT)).fields["MsgId"]
    encrypted_query, body = wechat_safe_request()
    assert await refusal(verifier, encrypted_query, body) == (400, "encryption_not_configured")


async def test_crypto_token_must_match(accepted: StoredAcceptedRequests) -> None:
    with pytest.raises(ValueError):
        CallbackVerifier(
            token="other", guard=guard(accepted), crypto=WeChatCrypto(TOKEN, AES_KEY, APPID)
        )
