"""WeChat's side of the callbacks, played by wechatpy (independent of bot.channels.wechat).

Builds what WeChat / WeCom send to Careline (inbound XML, plain signatures, safe-mode envelopes)
and opens what Careline answers (decrypts and parses the passive reply).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto as OfficialCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.utils import to_text

TOKEN = "careline-peer-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as in the console
ACCOUNT = "gh_careline00001"

_nonces = itertools.count(1_000_000)
_msg_ids = itertools.count(24_000_000_000_000_001)


def new_nonce() -> str:
    return str(next(_nonces))


def new_msg_id() -> str:
    return str(next(_msg_ids))


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def _cdata(value: str) -> str:
    return f"<![CDATA[{value}]]>"


def inbound_xml(sender: str, msg_type: str, *, to: str = ACCOUNT, **fields: str) -> str:
    """An inbound message as WeChat writes it (``CreateTime`` now unless given)."""
    create_time = fields.pop("CreateTime", str(int(time.time())))
    parts = [
        f"<ToUserName>{_cdata(to)}</ToUserName>",
        f"<FromUserName>{_cdata(sender)}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType>{_cdata(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        parts.append(f"<{name}>{value if name == 'MsgId' else _cdata(value)}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(sender: str, text: str, msg_id: str | None = None, **extra: str) -> str:
    return inbound_xml(sender, "text", Content=text, MsgId=msg_id or new_msg_id(), **extra)


@dataclass
class Request:
    query: dict[str, str]
    body: str


class OfficialAccountPeer:
    """WeChat pushing to an Official Account in safe or plain mode."""

    def __init__(self, token: str = TOKEN, aes_key: str = AES_KEY, appid: str = "") -> None:
        self.token = token
        self.crypto = OfficialCrypto(token, aes_key, appid)

    def _signed_query(self, timestamp: int | None, nonce: str | None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or new_nonce()
        return {
            "signature": plain_signature(self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": "oPeerOpenId",
        }

    def plain(
        self, inner: str, *, timestamp: int | None = None, nonce: str | None = None
    ) -> Request:
        return Request(self._signed_query(timestamp, nonce), inner)

    def safe(
        self, inner: str, *, timestamp: int | None = None, nonce: str | None = None
    ) -> Request:
        query = self._signed_query(timestamp, nonce)
        envelope = parse_message_fields(
            self.crypto.encrypt_message(inner, query["nonce"], query["timestamp"])
        )
        query |= {"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
        body = (
            f"<xml><ToUserName>{_cdata(ACCOUNT)}</ToUserName>"
            f"<Encrypt>{_cdata(envelope['Encrypt'])}</Encrypt></xml>"
        )
        return Request(query, body)

    def url_check(self, echostr: str) -> dict[str, str]:
        return self._signed_query(None, None) | {"echostr": echostr}

    def open_reply(self, body: str) -> dict[str, str]:
        """Decrypt (checking Careline's MsgSignature) and parse a safe-mode passive reply."""
        envelope = parse_message_fields(body)
        inner = self.crypto.decrypt_message(
            body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
        return reply_fields(to_text(inner))


class WeComPeer:
    """WeCom pushing to a self-built app (always encrypted, CorpID as receive id)."""

    def __init__(self, corpid: str, token: str = TOKEN, aes_key: str = AES_KEY) -> None:
        self.token = token
        self.crypto = WorkCrypto(token, aes_key, corpid)

    def request(self, inner: str, *, timestamp: int | None = None) -> Request:
        ts, nonce = str(int(time.time()) if timestamp is None else timestamp), new_nonce()
        envelope = parse_message_fields(self.crypto.encrypt_message(inner, nonce, ts))
        query = {"msg_signature": envelope["MsgSignature"], "timestamp": ts, "nonce": nonce}
        body = (
            f"<xml><ToUserName>{_cdata('corp')}</ToUserName><AgentID>1000002</AgentID>"
            f"<Encrypt>{_cdata(envelope['Encrypt'])}</Encrypt></xml>"
        )
        return Request(query, body)

    def url_check(self, echostr: str) -> dict[str, str]:
        ts, nonce = str(int(time.time())), new_nonce()
        envelope = parse_message_fields(self.crypto.encrypt_message(echostr, nonce, ts))
        return {
            "msg_signature": envelope["MsgSignature"],
            "timestamp": ts,
            "nonce": nonce,
            "echostr": envelope["Encrypt"],
        }

    def open_reply(self, body: str) -> dict[str, str]:
        envelope = parse_message_fields(body)
        inner = self.crypto.decrypt_message(
            body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
        return reply_fields(to_text(inner))


def parse_message_fields(xml: str) -> dict[str, str]:
    return dict(xmltodict.parse(xml)["xml"])


def reply_fields(xml: str) -> dict[str, str]:
    """A passive reply, parsed by wechatpy: MsgType, Content, ToUserName, FromUserName."""
    message = parse_message(xml)
    fields = parse_message_fields(xml)
    assert message.type == fields["MsgType"]
    return fields
