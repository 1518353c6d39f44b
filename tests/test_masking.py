"""Masked names and numbers: enough to tell two people apart, never enough to reach her."""

from __future__ import annotations

from bot.web.masking import mask_identity, mask_name, mask_phone


def test_a_mobile_number_keeps_its_first_three_and_last_four_digits() -> None:
    assert mask_phone("13800000001") == "138****0001"


def test_a_short_number_is_hidden_entirely() -> None:
    assert mask_phone("1234567") == "*******"


def test_a_name_keeps_its_first_character_only() -> None:
    assert mask_name("王小梅") == "王*"
    assert mask_name("") == ""


def test_an_identity_is_masked_by_its_kind() -> None:
    assert mask_identity("phone", "13912345678") == "139****5678"
    assert mask_identity("group_member", "李阿姨") == "李*"
    assert mask_identity("wechat_openid", "oAbCdEf123") == "o*"
