"""bot.channels.wechat.crypto against the published vectors, wechatpy and malformed input."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.crypto import WeChatCrypto as WechatpyOfficialCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WechatpyWorkCrypto

from bot.channels.wechat.crypto import (
    DecryptError,
    InvalidEncodingAESKey,
    InvalidSignature,
    ReceiveIdMismatch,
    WeChatCrypto,
    WeChatCryptoError,
    check_signature,
    make_signature,
    signatures_equal,
)
from bot.channels.wechat.xml import build_encrypted_envelope, parse_xml
from tests.wechat_vectors import WeChatVector, load_vectors, plain_vectors, safe_vectors

PLAIN = plain_vectors()
SAFE = safe_vectors()
SAFE_INBOUND = [v for v in SAFE if v.direction == "inbound"]


def vid(vector: WeChatVector) -> str:
    return vector.id


def crypto_for(vector: WeChatVector, receive_id: str | None = None) -> WeChatCrypto:
    i = vector.inputs
    return WeChatCrypto(i["token"], i["encoding_aes_key"], receive_id or i["receive_id"])


def query_of(vector: WeChatVector) -> dict[str, str]:
    """The request's query parameters, decoded by a real parser when the vector has a query."""
    raw = vector.inputs.get("request_query")
    if raw is None:
        return {k: v for k, v in vector.inputs.items() if isinstance(v, str)}
    parsed = parse_qs(raw, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values())
    return {k: values[0] for k, values in parsed.items()}


def aes_key(vector: WeChatVector) -> bytes:
    return base64.b64decode(vector.inputs["encoding_aes_key"] + "=")


def raw_decrypt(vector: WeChatVector, ciphertext_b64: str) -> bytes:
    """Independent AES-CBC decryption with no unpadding, to inspect the vector's layout."""
    key = aes_key(vector)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(ciphertext_b64)) + decryptor.finalize()


def raw_encrypt(vector: WeChatVector, padded_plaintext: bytes) -> str:
    """Encrypt bytes exactly as given (any padding is the caller's), for malformed inputs."""
    key = aes_key(vector)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded_plaintext) + encryptor.finalize()).decode()


def layout(vector: WeChatVector, msg: bytes, receive_id: bytes | None = None) -> bytes:
    rid = vector.inputs["receive_id"].encode() if receive_id is None else receive_id
    return b"R" * 16 + len(msg).to_bytes(4, "big") + msg + rid


def pad32(data: bytes) -> bytes:
    pad = 32 - len(data) % 32
    return data + bytes([pad]) * pad


# -- the vectors ------------------------------------------------------------------------------


def test_vectors_cover_both_modes_and_pads_above_16() -> None:
    assert PLAIN and SAFE
    assert {v.expected["payload_format"] for v in SAFE} == {"xml", "json", "text"}
    assert any(v.expected["pad"] > 16 for v in SAFE)


@pytest.mark.parametrize("vector", PLAIN, ids=vid)
def test_plain_signature_vector(vector: WeChatVector) -> None:
    query = query_of(vector)
    token = vector.inputs["token"]
    assert make_signature(token, query["timestamp"], query["nonce"]) == query["signature"]
    check_signature(token, query["signature"], query["timestamp"], query["nonce"])
    if "echostr" in query:
        # GET URL verification answers echostr verbatim.
        assert query["echostr"] == vector.expected["response_body"]


@pytest.mark.parametrize("vector", SAFE, ids=vid)
def test_safe_vector_decrypts_after_signature_check(vector: WeChatVector) -> None:
    query = query_of(vector)
    ciphertext = query.get("echostr") or vector.ciphertext
    plaintext = crypto_for(vector).decrypt_message(
        ciphertext,
        msg_signature=query.get("msg_signature", vector.inputs["msg_signature"]),
        timestamp=query.get("timestamp", vector.inputs["timestamp"]),
        nonce=query.get("nonce", vector.inputs["nonce"]),
    )
    assert plaintext == vector.expected["plaintext"]


@pytest.mark.parametrize("vector", SAFE, ids=vid)
def test_safe_vector_payload_fields(vector: WeChatVector) -> None:
    plaintext = crypto_for(vector).decrypt(vector.ciphertext)
    expected_fields = vector.expected.get("fields", {})
    match vector.expected["payload_format"]:
        case "xml":
            fields = parse_xml(plaintext)
        case "json":
            fields = {k: str(v) for k, v in json.loads(plaintext).items()}
        case "text":
            assert plaintext == vector.expected["response_body"]
            fields = {}
    assert {k: fields[k] for k in expected_fields} == expected_fields


@pytest.mark.parametrize("vector", SAFE, ids=vid)
def test_safe_vector_layout_matches_expected_pad_and_length(vector: WeChatVector) -> None:
    plain = raw_decrypt(vector, vector.ciphertext)
    assert len(plain) == vector.expected["ciphertext_bytes"]
    assert plain[-1] == vector.expected["pad"]
    assert int.from_bytes(plain[16:20], "big") == vector.expected["length_field"]
    assert plain[:16] == vector.expected["random_prefix"].encode()


@pytest.mark.parametrize("vector", SAFE, ids=vid)
def test_reencryption_with_vector_prefix_is_byte_identical(vector: WeChatVector) -> None:
    crypto = crypto_for(vector)
    prefix = vector.expected["random_prefix"]
    assert crypto.encrypt(vector.expected["plaintext"], random_prefix=prefix) == vector.ciphertext
    reply = crypto.encrypt_message(
        vector.expected["plaintext"],
        timestamp=vector.inputs["timestamp"],
        nonce=vector.inputs["nonce"],
        random_prefix=prefix.encode(),
    )
    assert reply.encrypt == vector.ciphertext
    assert reply.msg_signature == vector.inputs["msg_signature"]


@pytest.mark.parametrize("vector", [v for v in SAFE if "body" in v.inputs], ids=vid)
def test_vector_body_carries_the_signed_ciphertext(vector: WeChatVector) -> None:
    body = vector.inputs["body"]
    fields = json.loads(body) if body.lstrip().startswith("{") else parse_xml(body)
    assert fields["Encrypt"] == vector.ciphertext
    if vector.direction == "reply":
        assert fields["MsgSignature"] == vector.inputs["msg_signature"]
        assert str(fields["TimeStamp"]) == vector.inputs["timestamp"]
        assert fields["Nonce"] == vector.inputs["nonce"]


@pytest.mark.parametrize("vector", [v for v in SAFE if v.direction == "reply"], ids=vid)
def test_our_envelope_for_reply_vector_parses_to_same_fields(vector: WeChatVector) -> None:
    reply = crypto_for(vector).encrypt_message(
        vector.expected["plaintext"],
        timestamp=vector.inputs["timestamp"],
        nonce=vector.inputs["nonce"],
        random_prefix=vector.expected["random_prefix"],
    )
    envelope = parse_xml(
        build_encrypted_envelope(
            encrypt=reply.encrypt,
            msg_signature=reply.msg_signature,
            timestamp=reply.timestamp,
            nonce=reply.nonce,
        )
    )
    assert envelope == {
        "Encrypt": vector.ciphertext,
        "MsgSignature": vector.inputs["msg_signature"],
        "TimeStamp": vector.inputs["timestamp"],
        "Nonce": vector.inputs["nonce"],
    }


def test_url_encoded_echostr_needs_a_real_query_parser() -> None:
    vector = next(v for v in SAFE if "%2B" in v.inputs.get("request_query", ""))
    query = query_of(vector)
    assert query["echostr"] == vector.inputs["echostr"]  # %2B -> "+", %2F -> "/", %3D -> "="
    crypto = crypto_for(vector)
    assert (
        crypto.verify_url(
            msg_signature=query["msg_signature"],
            timestamp=query["timestamp"],
            nonce=query["nonce"],
            echostr=query["echostr"],
        )
        == vector.expected["response_body"]
    )
    # A raw "+" turned into a space (naive form decoding) must not verify.
    mangled = query["echostr"].replace("+", " ")
    with pytest.raises(InvalidSignature):
        crypto.verify_url(
            msg_signature=query["msg_signature"],
            timestamp=query["timestamp"],
            nonce=query["nonce"],
            echostr=mangled,
        )
    with pytest.raises(DecryptError):
        crypto.decrypt(mangled)


@pytest.mark.parametrize("vector", [v for v in SAFE if v.kind == "wecom_url_verify"], ids=vid)
def test_wecom_verify_url_vectors(vector: WeChatVector) -> None:
    answer = crypto_for(vector).verify_url(
        msg_signature=vector.inputs["msg_signature"],
        timestamp=vector.inputs["timestamp"],
        nonce=vector.inputs["nonce"],
        echostr=vector.inputs["echostr"],
    )
    assert answer == vector.expected["response_body"]


def test_shared_nonce_vectors_are_independent() -> None:
    # Two vectors share nonce 415670741; each must verify only with its own timestamp.
    pair = [v for v in load_vectors() if v.inputs["nonce"] == "415670741"]
    assert len(pair) == 2
    first, second = pair
    with pytest.raises(InvalidSignature):
        crypto_for(first).check_msg_signature(
            first.inputs["msg_signature"], second.inputs["timestamp"], "415670741", first.ciphertext
        )


# -- wechatpy as the independent client -------------------------------------------------------

ROUND_TRIP_MESSAGES = [
    "",
    "hello",
    "<xml><Content><![CDATA[我想找个人说说话]]></Content></xml>",
    "妈妈 😀👩‍👧 繁體 粵語：唔該 \u200b tab\tnewline\n",
    "x" * 1000,
]


@pytest.mark.parametrize("vector", SAFE_INBOUND[:1] + SAFE_INBOUND[-1:], ids=vid)
@pytest.mark.parametrize("msg", ROUND_TRIP_MESSAGES)
def test_wechatpy_encrypts_what_we_decrypt(vector: WeChatVector, msg: str) -> None:
    i = vector.inputs
    theirs = WechatpyOfficialCrypto(i["token"], i["encoding_aes_key"], i["receive_id"])
    envelope = parse_xml(theirs.encrypt_message(msg, "n0nce", "1700000000"))
    ours = crypto_for(vector)
    assert (
        ours.decrypt_message(
            envelope["Encrypt"],
            msg_signature=envelope["MsgSignature"],
            timestamp=envelope["TimeStamp"],
            nonce=envelope["Nonce"],
        )
        == msg
    )


@pytest.mark.parametrize("vector", SAFE_INBOUND[:1] + SAFE_INBOUND[-1:], ids=vid)
@pytest.mark.parametrize("msg", ROUND_TRIP_MESSAGES)
def test_wechatpy_decrypts_what_we_encrypt(vector: WeChatVector, msg: str) -> None:
    i = vector.inputs
    reply = crypto_for(vector).encrypt_message(msg, timestamp="1700000000", nonce="n0nce")
    body = build_encrypted_envelope(
        encrypt=reply.encrypt,
        msg_signature=reply.msg_signature,
        timestamp=reply.timestamp,
        nonce=reply.nonce,
    )
    theirs = WechatpyOfficialCrypto(i["token"], i["encoding_aes_key"], i["receive_id"])
    assert theirs.decrypt_message(body, reply.msg_signature, "1700000000", "n0nce") == msg


def test_wechatpy_work_client_verifies_our_encrypted_echostr() -> None:
    vector = next(v for v in SAFE if v.kind == "wecom_url_verify")
    i = vector.inputs
    echo = crypto_for(vector).encrypt_message("9876543210", timestamp="1700000000", nonce="42")
    theirs = WechatpyWorkCrypto(i["token"], i["encoding_aes_key"], i["receive_id"])
    assert theirs.check_signature(echo.msg_signature, "1700000000", "42", echo.encrypt) == (
        "9876543210"
    )


@pytest.mark.parametrize("length", range(0, 65))
def test_every_pad_value_round_trips_and_is_block_aligned(length: int) -> None:
    vector = SAFE_INBOUND[0]
    crypto = crypto_for(vector)
    msg = "a" * length
    encrypted = crypto.encrypt(msg)
    plain = raw_decrypt(vector, encrypted)
    assert len(plain) % 32 == 0
    pad = plain[-1]
    assert 1 <= pad <= 32 and plain[-pad:] == bytes([pad]) * pad
    assert crypto.decrypt(encrypted) == msg


def test_pads_cover_the_full_range() -> None:
    vector = SAFE_INBOUND[0]
    crypto = crypto_for(vector)
    pads = {raw_decrypt(vector, crypto.encrypt("a" * n))[-1] for n in range(32)}
    assert pads == set(range(1, 33))


def test_default_random_prefix_differs_between_encryptions() -> None:
    crypto = crypto_for(SAFE_INBOUND[0])
    first, second = crypto.encrypt("same"), crypto.encrypt("same")
    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == "same"


# -- malformed and forged input ----------------------------------------------------------------

VECTOR = next(v for v in SAFE_INBOUND if v.expected["payload_format"] == "xml")


def test_zero_pad_byte_is_rejected() -> None:
    data = layout(VECTOR, b"<xml/>")
    data += b"\x00" * (32 - len(data) % 32)
    with pytest.raises(DecryptError):
        crypto_for(VECTOR).decrypt(raw_encrypt(VECTOR, data))


@pytest.mark.parametrize("pad", [33, 40, 255])
def test_pad_above_32_is_rejected(pad: int) -> None:
    data = layout(VECTOR, b"<xml/>")
    data += b"\x00" * ((-len(data) - 1) % 32) + bytes([pad])
    assert len(data) % 32 == 0
    with pytest.raises(DecryptError):
        crypto_for(VECTOR).decrypt(raw_encrypt(VECTOR, data))


def test_inconsistent_pad_bytes_are_rejected() -> None:
    # wechatpy accepts this (it only reads the last byte).
    data = pad32(layout(VECTOR, b"<xml>abc</xml>"))
    pad = data[-1]
    assert pad > 1
    forged = data[:-pad] + b"\x00" * (pad - 1) + bytes([pad])
    with pytest.raises(DecryptError):
        crypto_for(VECTOR).decrypt(raw_encrypt(VECTOR, forged))


def test_sixteen_byte_aligned_ciphertext_is_rejected() -> None:
    # Stock 16-byte PKCS#7; wechatpy accepts it, WeChat never produces it.
    def pad16(data: bytes) -> bytes:
        pad = 16 - len(data) % 16
        return data + bytes([pad]) * pad

    candidates = (pad16(layout(VECTOR, b"<xml>" + b"a" * n + b"</xml>")) for n in range(32))
    data = next(c for c in candidates if len(c) % 32 == 16)
    assert len(data) % 16 == 0 and len(data) % 32 == 16
    with pytest.raises(DecryptError):
        crypto_for(VECTOR).decrypt(raw_encrypt(VECTOR, data))


@pytest.mark.parametrize("wrong_id", ["wx0000000000000000", "", "x"])
def test_wrong_receive_id_is_rejected(wrong_id: str) -> None:
    real = VECTOR.inputs["receive_id"]
    for candidate in [wrong_id, real[:-1], real + "0", real.upper()]:
        if candidate == real:
            continue
        encrypted = raw_encrypt(VECTOR, pad32(layout(VECTOR, b"<xml/>", candidate.encode())))
        with pytest.raises(ReceiveIdMismatch):
            crypto_for(VECTOR).decrypt(encrypted)
    with pytest.raises(ReceiveIdMismatch):
        crypto_for(VECTOR, receive_id="wxsomebodyelse0001").decrypt(VECTOR.ciphertext)


def test_length_field_beyond_plaintext_is_rejected() -> None:
    data = bytearray(layout(VECTOR, b"<xml/>"))
    data[16:20] = (10_000).to_bytes(4, "big")
    with pytest.raises(DecryptError):
        crypto_for(VECTOR).decrypt(raw_encrypt(VECTOR, pad32(bytes(data))))


def test_plaintext_shorter_than_header_is_rejected() -> None:
    with pytest.raises(DecryptError):
        crypto_for(VECTOR).decrypt(raw_encrypt(VECTOR, bytes([32]) * 32))


def test_invalid_utf8_message_is_rejected() -> None:
    encrypted = raw_encrypt(VECTOR, pad32(layout(VECTOR, b"\xff\xfe<xml/>")))
    with pytest.raises(DecryptError):
        crypto_for(VECTOR).decrypt(encrypted)


@pytest.mark.parametrize("cut_bytes", [16, 32, 64])
def test_truncated_ciphertext_is_rejected(cut_bytes: int) -> None:
    raw = base64.b64decode(VECTOR.ciphertext)
    truncated = base64.b64encode(raw[:-cut_bytes]).decode()
    with pytest.raises(WeChatCryptoError):
        crypto_for(VECTOR).decrypt(truncated)


@pytest.mark.parametrize(
    "garbage",
    ["", "not base64!!", "AAAA AAAA", "QUJD", "QUJDRA", "é" * 44, "A" * 43],
)
def test_bad_base64_or_short_input_is_rejected(garbage: str) -> None:
    with pytest.raises(DecryptError):
        crypto_for(VECTOR).decrypt(garbage)


def test_forged_signatures_are_rejected_before_decryption() -> None:
    i = VECTOR.inputs
    crypto = crypto_for(VECTOR)
    good = i["msg_signature"]
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    for forged in [flipped, "", "签名", good.upper(), good + "0", make_signature("x", "1", "2")]:
        with pytest.raises(InvalidSignature):
            crypto.decrypt_message(
                VECTOR.ciphertext, msg_signature=forged, timestamp=i["timestamp"], nonce=i["nonce"]
            )
    with pytest.raises(InvalidSignature):  # garbage ciphertext never reaches the decryptor
        crypto.decrypt_message("garbage", msg_signature=good, timestamp=i["timestamp"], nonce="1")
    with pytest.raises(InvalidSignature):  # the plain signature does not cover Encrypt
        crypto.check_signature(good, i["timestamp"], i["nonce"])


def test_plain_signature_forgeries() -> None:
    vector = PLAIN[0]
    i = vector.inputs
    with pytest.raises(InvalidSignature):
        check_signature(i["token"], i["signature"], str(int(i["timestamp"]) + 1), i["nonce"])
    with pytest.raises(InvalidSignature):
        check_signature("other-token", i["signature"], i["timestamp"], i["nonce"])
    assert not signatures_equal(i["signature"], "\udcff" * 40)


def test_every_error_shares_one_base_class() -> None:
    for error in (InvalidSignature, DecryptError, ReceiveIdMismatch, InvalidEncodingAESKey):
        assert issubclass(error, WeChatCryptoError)


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("A" * 42, "43 characters"),
        ("A" * 44, "43 characters"),
        ("", "43 characters"),
        ("A" * 42 + "!", "base64"),
        ("A" * 41 + "==", "base64"),
    ],
)
def test_invalid_encoding_aes_key_is_explained(key: str, hint: str) -> None:
    with pytest.raises(InvalidEncodingAESKey, match=hint):
        WeChatCrypto("token", key, "wx123")


def test_empty_token_or_receive_id_is_refused() -> None:
    key = VECTOR.inputs["encoding_aes_key"]
    with pytest.raises(ValueError):
        WeChatCrypto("", key, "wx123")
    with pytest.raises(ValueError):
        WeChatCrypto("token", key, "")


@pytest.mark.parametrize("prefix", [b"short", "x" * 17, "é" * 16])
def test_random_prefix_must_be_sixteen_bytes(prefix: bytes | str) -> None:
    with pytest.raises(ValueError):
        crypto_for(VECTOR).encrypt("x", random_prefix=prefix)
