"""Which segments of a call are hers: IVR prompts removed, wrong speaker labels survived."""

from __future__ import annotations

from bot.channels.hotline.her_words import IvrPrompts, her_words
from bot.channels.hotline.transcript import Segment

PROMPTS = IvrPrompts(["欢迎致电关爱热线，本次通话将被录音。", "如有自杀想法，请按 1。"])


def said(speaker: str, text: str) -> Segment:
    return Segment(speaker=speaker, start=0, end=1, text=text)  # type: ignore[arg-type]


def test_only_the_callers_segments_are_hers_when_she_has_words_of_her_own() -> None:
    words = her_words(
        [
            said("ivr", "欢迎致电关爱热线，本次通话将被录音。"),
            said("agent", "请讲"),
            said("caller", "我想问培训"),
        ],
        PROMPTS,
    )
    assert [(u.position, u.text) for u in words] == [(2, "我想问培训")]


def test_a_prompt_is_removed_whatever_the_spaces_punctuation_and_case_around_it() -> None:
    words = her_words(
        [said("caller", "欢迎 致电关爱热线 本次通话将被录音 如有自杀想法请按1 喂 你好")], PROMPTS
    )
    assert [u.text for u in words] == ["喂 你好"]


def test_a_caller_segment_that_was_only_the_ivr_is_dropped() -> None:
    words = her_words([said("caller", "如有自杀想法，请按1"), said("caller", "嗯 你好")], PROMPTS)
    assert [(u.position, u.text) for u in words] == [(1, "嗯 你好")]


def test_without_any_caller_words_every_other_segment_with_words_is_taken_as_hers() -> None:
    words = her_words(
        [
            said("ivr", "欢迎致电关爱热线，本次通话将被录音。"),
            said("agent", "他打我"),
            said("ivr", "我不想活了"),
            said("caller", "。。"),
        ],
        PROMPTS,
    )
    assert [(u.position, u.text) for u in words] == [(1, "他打我"), (2, "我不想活了")]


def test_silence_and_odd_characters_leave_nothing_to_classify() -> None:
    assert (
        her_words([said("caller", ""), said("caller", "\u200b\ufeff "), said("agent", "")], PROMPTS)
        == []
    )


def test_a_prompt_of_punctuation_only_removes_nothing() -> None:
    assert [u.text for u in her_words([said("caller", "你好。")], IvrPrompts(["。"]))] == ["你好。"]
