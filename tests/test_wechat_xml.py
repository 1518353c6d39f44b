"""bot.channels.wechat.xml: safe parsing, CDATA escaping and reply building."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.channels.wechat.xml import (
    UnsafeXml,
    XmlError,
    build_encrypted_envelope,
    build_text_reply,
    cdata,
    parse_xml,
    strip_illegal_xml_chars,
)

TEXT_MESSAGE = (
    "<xml><ToUserName><![CDATA[gh_account]]></ToUserName>"
    "<FromUserName><![CDATA[oMother123]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[最近好累]]></Content><MsgId>1234567890123456</MsgId></xml>"
)


def reply_content(content: str) -> str:
    body = build_text_reply(
        to_user="oMother123", from_user="gh_account", content=content, create_time=1700000000
    )
    # Also parse with the plain stdlib parser: the output must be well-formed for anyone.
    assert ET.fromstring(body).findtext("Content") == parse_xml(body)["Content"]
    value = parse_xml(body)["Content"]
    assert isinstance(value, str)
    return value


def test_parses_a_text_message_into_fields() -> None:
    assert parse_xml(TEXT_MESSAGE.encode()) == {
        "ToUserName": "gh_account",
        "FromUserName": "oMother123",
        "CreateTime": "1700000000",
        "MsgType": "text",
        "Content": "最近好累",
        "MsgId": "1234567890123456",
    }


def test_parses_bytes_with_declaration_and_whitespace() -> None:
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n  <Content>你好</Content>\n</xml>\n'
    assert parse_xml(body.encode("utf-8")) == {"Content": "你好"}


def test_empty_elements_become_empty_strings() -> None:
    assert parse_xml("<xml><Recognition></Recognition><EventKey/></xml>") == {
        "Recognition": "",
        "EventKey": "",
    }


def test_nested_event_fields_become_dicts_and_lists() -> None:
    body = (
        "<xml><Event><![CDATA[pic_sysphoto]]></Event><SendPicsInfo><Count>2</Count>"
        "<PicList><item><PicMd5Sum>a</PicMd5Sum></item><item><PicMd5Sum>b</PicMd5Sum></item>"
        "</PicList></SendPicsInfo></xml>"
    )
    assert parse_xml(body) == {
        "Event": "pic_sysphoto",
        "SendPicsInfo": {
            "Count": "2",
            "PicList": {"item": [{"PicMd5Sum": "a"}, {"PicMd5Sum": "b"}]},
        },
    }


# -- CDATA and odd text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "]]>",
        "a]]>b]]>c",
        "]]]]>",
        "]]",
        "]>",
        "<![CDATA[inner]]>",
        "& < > \" '",
        "&amp;&lt;",
        "",
    ],
)
def test_cdata_terminator_round_trips(content: str) -> None:
    assert reply_content(content) == content


def test_cdata_splits_the_terminator() -> None:
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"


@pytest.mark.parametrize(
    "content",
    [
        "😀👩‍👧‍👦🏳️‍🌈",  # astral plane, ZWJ sequences, variation selectors
        "繁體字：媽媽，我唔想再咁落去喇",  # traditional / Cantonese written forms
        "e\u0301 combining, \u200b zero width, \u202e rtl override",
        "tab\there\nnew line",
        "\U0010fffd last plane",
        "全角ＡＢＣ１２３　空格",
    ],
)
def test_odd_unicode_round_trips(content: str) -> None:
    assert reply_content(content) == content


def test_control_characters_are_removed_from_replies() -> None:
    content = "a\x00b\x01c\x08d\x0be\x0cf\x1fg\ufffeh\uffffi\ud800j\udfffk"
    assert reply_content(content) == "abcdefghijk"


def test_carriage_return_survives_as_a_line_break() -> None:
    # XML parsers normalise CR/CRLF to LF; the line break itself must survive.
    assert reply_content("line1\r\nline2") == "line1\nline2"


def test_strip_illegal_xml_chars_keeps_legal_whitespace() -> None:
    assert strip_illegal_xml_chars("\t\n\r ok\x7f\x85") == "\t\n\r ok\x7f\x85"


def test_identifiers_are_escaped_too() -> None:
    body = build_text_reply(to_user="o]]>x", from_user="gh\x00", content="hi", create_time=1)
    assert parse_xml(body) == {
        "ToUserName": "o]]>x",
        "FromUserName": "gh",
        "CreateTime": "1",
        "MsgType": "text",
        "Content": "hi",
    }


@pytest.mark.parametrize("bad", ["12a", "-1", "1e3", "１２", "1</TimeStamp>"])
def test_numeric_fields_must_be_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        build_text_reply(to_user="u", from_user="g", content="x", create_time=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        build_encrypted_envelope(encrypt="e", msg_signature="s", timestamp=bad, nonce="n")


def test_encrypted_envelope_fields() -> None:
    body = build_encrypted_envelope(
        encrypt="abc+/=", msg_signature="f" * 40, timestamp=1700000000, nonce="123"
    )
    assert parse_xml(body) == {
        "Encrypt": "abc+/=",
        "MsgSignature": "f" * 40,
        "TimeStamp": "1700000000",
        "Nonce": "123",
    }


# -- hostile and malformed input ---------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><Content>&lol4;</Content></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Content>&xxe;</Content></xml>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">
<xml><Content>x</Content></xml>"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>
<xml/>"""

PLAIN_DOCTYPE = "<!DOCTYPE xml><xml><Content>x</Content></xml>"


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY, PLAIN_DOCTYPE]
)
def test_dtds_and_entities_are_rejected(body: str) -> None:
    with pytest.raises(UnsafeXml):
        parse_xml(body)
    with pytest.raises(UnsafeXml):
        parse_xml(body.encode())


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "<xml>",
        "<xml><Content>x</xml>",
        "<xml></xml><xml></xml>",
        "not xml at all",
        '{"Encrypt": "abc"}',
        "<root><Content>x</Content></root>",
        "<xml><Content>\x01</Content></xml>",
        "<xml><Content>&#1;</Content></xml>",
        "<xml><Content>&undefined;</Content></xml>",
        b"<xml><Content>\xff\xfe</Content></xml>",
        "<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",
        "<xml><Content>a</Content><Content>b</Content></xml>",
    ],
)
def test_malformed_input_raises_xml_error(body: str | bytes) -> None:
    with pytest.raises(XmlError):
        parse_xml(body)


def test_unsafe_xml_is_an_xml_error() -> None:
    assert issubclass(UnsafeXml, XmlError)
