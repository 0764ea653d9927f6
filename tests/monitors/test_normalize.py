"""normalize(): width, case, script, invisible characters, whitespace."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from monitors.normalize import normalize


def test_full_width_to_half_width_and_case_folding() -> None:
    assert normalize("ＡＢＣ１２３１５") == "abc12315"
    assert normalize("Straße MiXeD") == "strasse mixed"


def test_traditional_to_simplified() -> None:
    assert normalize("某品牌客服態度極差，黑貓投訴") == "某品牌客服态度极差,黑猫投诉"


def test_zero_width_and_soft_hyphen_removed() -> None:
    for invisible in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"):
        assert normalize(f"某{invisible}品{invisible}牌") == "某品牌"


def test_whitespace_collapsed_including_ideographic_space() -> None:
    assert normalize("  退款\u3000\u3000到账\n\t了  ") == "退款 到账 了"


def test_empty() -> None:
    assert normalize("") == ""
    assert normalize("\u200b \u3000") == ""


def test_fast_enough() -> None:
    text = "某品牌的客服態度太差了，我要去黑猫投诉和１２３１５举报！" * 8
    started = time.perf_counter()
    for _ in range(1000):
        normalize(text)
    assert (time.perf_counter() - started) / 1000 < 0.001  # well under 1 ms per post


cjk_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from("ＡＢａｂ１２　 \u200b\u00ad,.!！，。#"),
        st.characters(codec="ascii"),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(cjk_text)
def test_idempotent_on_chinese_and_ascii(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_never_raises_and_output_is_clean(text: str) -> None:
    out = normalize(text)
    assert isinstance(out, str)
    assert out == out.strip() and "  " not in out
    assert not any(ch in out for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad")
