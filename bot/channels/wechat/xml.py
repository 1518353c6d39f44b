"""Parse inbound WeChat XML safely and build passive-reply XML.

Protocol pages:
- Official Account, receiving messages (接收普通消息 / 事件推送):
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
- Official Account, passive replies (被动回复用户消息):
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
- WeCom, receiving messages and passive replies: https://developer.work.weixin.qq.com/document/path/90240

Inbound XML goes through defusedxml with DTDs, entities and external references forbidden, so
billion-laughs and XXE payloads are rejected before any expansion. Outbound text goes into
CDATA sections with ``]]>`` split across two sections and XML-illegal characters removed, so
any text a worker or handler produces yields well-formed XML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TypeAlias

import defusedxml
import defusedxml.ElementTree as DET

__all__ = [
    "UnsafeXml",
    "XmlError",
    "XmlFields",
    "build_encrypted_envelope",
    "build_text_reply",
    "cdata",
    "parse_xml",
    "strip_illegal_xml_chars",
]

XmlFields: TypeAlias = dict[str, "str | XmlFields | list[str | XmlFields]"]

ROOT_TAG = "xml"
# WeChat's deepest message (SendPicsInfo > PicList > item > PicMd5Sum) nests four levels below
# <xml>; a deeper document is refused before reading it could exhaust the recursion limit.
MAX_DEPTH = 16

# Characters outside the XML 1.0 ``Char`` production (https://www.w3.org/TR/xml/#charsets):
# C0 controls except tab/LF/CR, lone surrogates, U+FFFE and U+FFFF.
_ILLEGAL_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class XmlError(ValueError):
    """The body is not a well-formed WeChat ``<xml>`` document."""


class UnsafeXml(XmlError):
    """The body uses a DTD, entity declarations or external references."""


def parse_xml(body: bytes | str) -> XmlFields:
    """Parse a WeChat ``<xml>`` message into a dict of its fields.

    Leaf elements map to their text ("" when empty, CDATA already unwrapped). Elements with
    children (e.g. ``ScanCodeInfo``) map to nested dicts; a tag repeated inside a nested element
    becomes a list. A top-level field given twice is rejected: two ``Encrypt`` or ``Content``
    elements would make the message ambiguous, and so is nesting deeper than ``MAX_DEPTH``.
    """
    try:
        root = DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeXml(f"forbidden XML construct: {type(exc).__name__}") from None
    except (ET.ParseError, UnicodeError, ValueError) as exc:
        raise XmlError(f"malformed XML: {exc}") from None
    if root.tag != ROOT_TAG:
        raise XmlError(f"root element must be <{ROOT_TAG}>")
    fields: XmlFields = {}
    for child in root:
        if child.tag in fields:
            raise XmlError(f"duplicate field <{child.tag}>")
        fields[child.tag] = _element_value(child, depth=1)
    return fields


def _element_value(element: ET.Element, *, depth: int) -> str | XmlFields:
    if len(element) == 0:
        return element.text or ""
    if depth >= MAX_DEPTH:
        raise XmlError(f"elements nested deeper than {MAX_DEPTH} levels")
    nested: XmlFields = {}
    for child in element:
        value = _element_value(child, depth=depth + 1)
        if child.tag not in nested:
            nested[child.tag] = value
        else:
            existing = nested[child.tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                nested[child.tag] = [existing, value]
    return nested


def strip_illegal_xml_chars(text: str) -> str:
    """Remove characters XML 1.0 cannot carry at all (even escaped)."""
    return _ILLEGAL_XML_CHARS.sub("", text)


def cdata(text: str) -> str:
    """Wrap ``text`` in CDATA; ``]]>`` is split as ``]]]]><![CDATA[>`` to stay well formed."""
    safe = strip_illegal_xml_chars(text).replace("]]>", "]]]]><![CDATA[>")
    return f"<![CDATA[{safe}]]>"


def _number(value: int | str) -> str:
    text = str(value)
    if not text.isascii() or not text.isdigit():
        raise ValueError("CreateTime / TimeStamp must be a non-negative integer")
    return text


def build_text_reply(*, to_user: str, from_user: str, content: str, create_time: int) -> str:
    """Passive text reply (Official Account and WeCom share this shape).

    ``to_user`` is the inbound ``FromUserName`` (the mother's OpenID / UserID) and ``from_user``
    the inbound ``ToUserName`` (our account).
    """
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{_number(create_time)}</CreateTime>"
        f"<MsgType>{cdata('text')}</MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def build_encrypted_envelope(
    *, encrypt: str, msg_signature: str, timestamp: str | int, nonce: str
) -> str:
    """Safe-mode reply body wrapping an encrypted reply (see ``crypto.encrypt_message``)."""
    return (
        "<xml>"
        f"<Encrypt>{cdata(encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(msg_signature)}</MsgSignature>"
        f"<TimeStamp>{_number(timestamp)}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce>"
        "</xml>"
    )
