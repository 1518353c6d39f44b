"""bot.channels.wechat.callback with wechatpy as the independent WeChat-side client."""

from __future__ import annotations

import base64
import os
from urllib.parse import parse_qs

import pytest
from wechatpy.crypto import WeChatCrypto as WechatpyOfficialCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WechatpyWorkCrypto

from bot.channels.wechat.callback import CallbackRejected, CallbackVerifier, InboundMessage
from bot.channels.wechat.crypto import WeChatCrypto, make_signature
from bot.channels.wechat.replay import ReplayGuard
from bot.channels.wechat.xml import build_text_reply, parse_xml
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


def guard(now: float = NOW) -> ReplayGuard:
    return ReplayGuard(clock=FakeClock(now))


def safe_verifier(receive_id: str = APPID) -> CallbackVerifier:
    crypto = WeChatCrypto(TOKEN, AES_KEY, receive_id)
    return CallbackVerifier(token=TOKEN, guard=guard(), crypto=crypto)


def plain_verifier() -> CallbackVerifier:
    return CallbackVerifier(token=TOKEN, guard=guard())


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


# -- GET URL verification ----------------------------------------------------------------------


def test_official_account_url_check_answers_echostr() -> None:
    query = plain_query() | {"echostr": "4375120948345356249"}
    for verifier in (plain_verifier(), safe_verifier()):  # OA signs the GET plainly in any mode
        assert verifier.verify_url(query) == "4375120948345356249"


def test_forged_or_missing_url_check_signature_is_forbidden() -> None:
    query = plain_query() | {"echostr": "1"}
    assert rejection(plain_verifier().verify_url, query | {"signature": "0" * 40}) == (
        403,
        "bad_signature",
    )
    without = {k: v for k, v in query.items() if k != "signature"}
    assert rejection(plain_verifier().verify_url, without) == (403, "missing_signature")
    assert rejection(plain_verifier().verify_url, query | {"timestamp": ""})[0] == 403


def test_wecom_url_check_decrypts_echostr_signed_by_wechatpy_peer() -> None:
    verifier = safe_verifier(CORPID)
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
def test_wecom_url_check_vector_from_the_raw_query(vector: WeChatVector) -> None:
    i = vector.inputs
    crypto = WeChatCrypto(i["token"], i["encoding_aes_key"], i["receive_id"])
    verifier = CallbackVerifier(token=i["token"], guard=guard(), crypto=crypto)
    query = {k: v[0] for k, v in parse_qs(i["request_query"], strict_parsing=True).items()}
    assert verifier.verify_url(query) == vector.expected["response_body"]


# -- POST in safe mode -------------------------------------------------------------------------


def test_safe_mode_message_from_wechatpy_is_opened() -> None:
    query, body = wechat_safe_request()
    message = safe_verifier().open(query, body.encode())
    assert message.encrypted
    assert message.fields["Content"] == "孩子发烧了，我一个人好怕"
    assert message.fields["FromUserName"] == MOTHER


def test_sealed_reply_is_decrypted_by_wechatpy() -> None:
    verifier = safe_verifier()
    query, body = wechat_safe_request()
    inbound = verifier.open(query, body)
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


def test_compatibility_mode_plaintext_fields_are_ignored() -> None:
    # In compatibility mode the outer XML carries plaintext copies; only the signed,
    # encrypted inner message counts.
    query, body = wechat_safe_request(outer_extra="<Content><![CDATA[forged]]></Content>")
    message = safe_verifier().open(query, body)
    assert message.fields["Content"] == "孩子发烧了，我一个人好怕"


@pytest.mark.parametrize("vector", XML_INBOUND_BODIES, ids=lambda v: v.id)
def test_published_inbound_bodies_open_with_their_clock(vector: WeChatVector) -> None:
    i = vector.inputs
    crypto = WeChatCrypto(i["token"], i["encoding_aes_key"], i["receive_id"])
    verifier = CallbackVerifier(token=i["token"], guard=guard(int(i["timestamp"])), crypto=crypto)
    query = {"timestamp": i["timestamp"], "nonce": i["nonce"], "msg_signature": i["msg_signature"]}
    message = verifier.open(query, i["body"])
    expected = vector.expected["fields"]
    assert {k: message.fields[k] for k in expected} == expected


def test_forged_msg_signature_is_forbidden_and_not_remembered() -> None:
    verifier = safe_verifier()
    query, body = wechat_safe_request()
    assert rejection(verifier.open, query | {"msg_signature": "f" * 40}, body) == (
        403,
        "bad_signature",
    )
    assert verifier.open(query, body).encrypted  # the genuine request still gets in


def test_replayed_request_is_forbidden() -> None:
    verifier = safe_verifier()
    query, body = wechat_safe_request()
    verifier.open(query, body)
    assert rejection(verifier.open, query, body) == (403, "replay_reused_nonce")


def test_released_request_can_be_retried() -> None:
    verifier = safe_verifier()
    query, body = wechat_safe_request()
    message = verifier.open(query, body)
    verifier.release(message)
    assert verifier.open(query, body) == message


def test_stale_request_is_forbidden() -> None:
    query, body = wechat_safe_request(timestamp=NOW - 301)
    assert rejection(safe_verifier().open, query, body) == (403, "replay_stale")


def test_message_for_another_account_is_forbidden() -> None:
    query, body = wechat_safe_request(appid="wxsomeoneelse00001")
    assert rejection(safe_verifier().open, query, body) == (403, "wrong_receive_id")


def test_signed_but_undecryptable_ciphertext_is_a_bad_request() -> None:
    garbage = base64.b64encode(b"\x00" * 48).decode()
    query = {
        "timestamp": str(NOW),
        "nonce": "1",
        "encrypt_type": "aes",
        "msg_signature": make_signature(TOKEN, str(NOW), "1", garbage),
    }
    body = f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>"
    assert rejection(safe_verifier().open, query, body) == (400, "undecryptable")


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
def test_malformed_safe_mode_body_is_a_bad_request(body: str, reason: str) -> None:
    query, _ = wechat_safe_request()
    assert rejection(safe_verifier().open, query, body) == (400, reason)


def test_malformed_inner_xml_is_a_bad_request() -> None:
    query, body = wechat_safe_request("<xml><Content>unclosed</xml>")
    assert rejection(safe_verifier().open, query, body) == (400, "malformed_xml")


def test_plain_request_to_an_encrypted_endpoint_is_forbidden() -> None:
    assert rejection(safe_verifier().open, plain_query(), INNER_TEXT) == (
        403,
        "encryption_required",
    )


def test_unknown_encrypt_type_is_a_bad_request() -> None:
    query, body = wechat_safe_request()
    assert rejection(safe_verifier().open, query | {"encrypt_type": "des"}, body) == (
        400,
        "unknown_encrypt_type",
    )


# -- POST in plain mode ------------------------------------------------------------------------


def test_plain_mode_message_is_opened_and_reply_left_as_is() -> None:
    verifier = plain_verifier()
    message = verifier.open(plain_query(), INNER_TEXT.encode())
    assert message == InboundMessage(parse_xml(INNER_TEXT), False, str(NOW), "7654321")
    reply = build_text_reply(to_user=MOTHER, from_user=ACCOUNT, content="收到", create_time=NOW)
    assert verifier.seal(reply, message, timestamp=str(NOW)) == reply


def test_plain_mode_rejections() -> None:
    verifier = plain_verifier()
    forged = plain_query() | {"signature": "0" * 40}
    assert rejection(verifier.open, forged, INNER_TEXT) == (403, "bad_signature")
    assert rejection(verifier.open, plain_query(), "<xml>") == (400, "malformed_xml")
    verifier.open(plain_query(nonce="1"), INNER_TEXT)
    assert rejection(verifier.open, plain_query(nonce="1"), INNER_TEXT) == (
        403,
        "replay_reused_nonce",
    )
    encrypted_query, body = wechat_safe_request()
    assert rejection(verifier.open, encrypted_query, body) == (400, "encryption_not_configured")


def test_crypto_token_must_match() -> None:
    with pytest.raises(ValueError):
        CallbackVerifier(token="other", guard=guard(), crypto=WeChatCrypto(TOKEN, AES_KEY, APPID))
