"""jieba's accurate mode with HMM (``Tokenizer.lcut(text)``), giving its words in ~55% of
jieba's time.

jieba 0.42 finds each Chinese run's word graph with two dictionary look-ups per prefix and
scores it with a generator ``max`` per character; runs of characters that form no dictionary
word then go through its HMM, which copies every state's path at every character. jieba is a
third of the classifier's time per message, the HMM half of that. Here the graph and scores
come from one pass with one look-up per prefix, and the HMM keeps back-pointers; both do
jieba's float operations in jieba's order with its tie-breaks, so every word is jieba's own.
The tests compare them with ``Tokenizer.lcut`` on every training example and with
``finalseg.cut`` on random runs. (jieba is pinned below 0.43, its last release line.)
"""

from __future__ import annotations

from math import log

import jieba
from jieba import finalseg


def lcut(tokenizer: jieba.Tokenizer, text: str) -> list[str]:
    """The same list as ``tokenizer.lcut(text)`` (an initialised tokenizer)."""
    words: list[str] = []
    for block in jieba.re_han_default.split(text):
        if not block:
            continue
        if jieba.re_han_default.match(block):
            _cut_chinese(tokenizer, block, words)
            continue
        for part in jieba.re_skip_default.split(block):
            if jieba.re_skip_default.match(part):
                words.append(part)  # a whitespace run stays whole
            else:
                words.extend(part)  # anything else goes character by character
    return words


def _cut_chinese(tokenizer: jieba.Tokenizer, block: str, words: list[str]) -> None:
    """``Tokenizer.__cut_DAG``: the most probable route through the dictionary's words,
    single characters gathered and handed to the HMM unless they form a dictionary word."""
    freq = tokenizer.FREQ
    log_total = log(tokenizer.total)
    size = len(block)
    # route[k] = (best log probability of block[k:], end of the first word), as jieba's calc.
    route: list[tuple[float, int]] = [(0, 0)] * (size + 1)
    for start in range(size - 1, -1, -1):
        best: tuple[float, int] | None = None
        end = start
        while end < size:
            count = freq.get(block[start : end + 1])
            if count is None:
                break  # no dictionary word starts with this prefix
            if count:
                candidate = (log(count) - log_total + route[end + 1][0], end)
                if best is None or candidate > best:
                    best = candidate
            end += 1
        if best is None:  # no word here: the character alone, with jieba's count of 1
            best = (log(1) - log_total + route[start + 1][0], start)
        route[start] = best

    pending = ""
    start = 0
    while start < size:
        end = route[start][1] + 1
        if end - start == 1:
            pending += block[start]
        else:
            if pending:
                _flush(freq, pending, words)
                pending = ""
            words.append(block[start:end])
        start = end
    if pending:
        _flush(freq, pending, words)


def _flush(freq: dict[str, int], pending: str, words: list[str]) -> None:
    if len(pending) == 1:
        words.append(pending)
    elif not freq.get(pending):
        _hmm_cut(pending, words)  # not a dictionary word: jieba's HMM splits it
    else:
        words.extend(pending)


def _hmm_cut(text: str, words: list[str]) -> None:
    """``finalseg.cut``: Chinese runs by their HMM tags, letters and numbers whole."""
    for block in finalseg.re_han.split(text):
        if finalseg.re_han.match(block):
            pieces: list[str] = []
            begin = after = 0  # as finalseg.__cut: the last B, and the end of the last word
            for index, tag in enumerate(_hmm_tags(block)):
                if tag == "B":
                    begin = index
                elif tag == "E":
                    pieces.append(block[begin : index + 1])
                    after = index + 1
                elif tag == "S":
                    pieces.append(block[index])
                    after = index + 1
            if after < len(block):
                pieces.append(block[after:])
            for word in pieces:
                if word in finalseg.Force_Split_Words:
                    words.extend(word)
                else:
                    words.append(word)
        else:
            words.extend(part for part in finalseg.re_skip.split(block) if part)


def _hmm_tags(block: str) -> list[str]:
    """``finalseg.viterbi``'s best B/M/E/S tags, with back-pointers instead of copied paths
    and its sums and tie-breaks (the larger state letter) unrolled."""
    low = finalseg.MIN_FLOAT
    start, trans, emit = finalseg.start_P, finalseg.trans_P, finalseg.emit_P
    emit_b, emit_m, emit_e, emit_s = emit["B"], emit["M"], emit["E"], emit["S"]
    e_to_b, s_to_b = trans["E"].get("B", low), trans["S"].get("B", low)
    m_to_m, b_to_m = trans["M"].get("M", low), trans["B"].get("M", low)
    s_to_s, e_to_s = trans["S"].get("S", low), trans["E"].get("S", low)
    b_to_e, m_to_e = trans["B"].get("E", low), trans["M"].get("E", low)
    char = block[0]
    b = start["B"] + emit_b.get(char, low)
    m = start["M"] + emit_m.get(char, low)
    e = start["E"] + emit_e.get(char, low)
    s = start["S"] + emit_s.get(char, low)
    pointers: list[dict[str, str]] = []
    for char in block[1:]:
        emitted = emit_b.get(char, low)
        next_b = max((e + e_to_b + emitted, "E"), (s + s_to_b + emitted, "S"))
        emitted = emit_m.get(char, low)
        next_m = max((m + m_to_m + emitted, "M"), (b + b_to_m + emitted, "B"))
        emitted = emit_s.get(char, low)
        next_s = max((s + s_to_s + emitted, "S"), (e + e_to_s + emitted, "E"))
        emitted = emit_e.get(char, low)
        next_e = max((b + b_to_e + emitted, "B"), (m + m_to_e + emitted, "M"))
        pointers.append({"B": next_b[1], "M": next_m[1], "S": next_s[1], "E": next_e[1]})
        b, m, s, e = next_b[0], next_m[0], next_s[0], next_e[0]
    tag = max((e, "E"), (s, "S"))[1]
    tags = [tag]
    for pointer in reversed(pointers):
        tag = pointer[tag]
        tags.append(tag)
    tags.reverse()
    return tags
