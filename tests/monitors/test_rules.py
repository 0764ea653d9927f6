"""RuleMatcher: one automaton, scoring, critical flag, exclusions, word boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitors.rules import CRITICAL_WEIGHT, Rule, RuleMatcher

BRAND = Rule(
    id="r1",
    brand="某品牌",
    aliases=("mopinpai", "MoBrand", "某品pai"),
    negative_terms={"退款": 2.0, "骗子": 3.0, "态度差": 1.5},
    critical_terms=("12315", "曝光", "媒体", "律师", "黑猫投诉"),
    exclusions=("某品牌手机壳",),
    severity="P2",
)
ALI = Rule(id="r2", brand="ali", negative_terms={"refund": 1})
OTHER = Rule(id="r3", brand="另一家", critical_terms=("12315",), severity="P1")


@pytest.fixture(scope="module")
def matcher() -> RuleMatcher:
    return RuleMatcher([BRAND, ALI, OTHER])


def test_brand_only_mention_scores_zero(matcher: RuleMatcher) -> None:
    (m,) = matcher.match("今天买了某品牌的新品")
    assert (m.rule_id, m.brand_terms, m.score, m.is_critical, m.severity) == ("r1", ("某品牌",), 0.0, False, "P2")


def test_score_is_sum_of_distinct_negative_weights_plus_critical_weight(matcher: RuleMatcher) -> None:
    (m,) = matcher.match("某品牌是骗子！退款退款退款，我要打12315还要找媒体曝光")
    assert m.negative_terms == ("骗子", "退款")  # each term counted once, in order found
    assert m.critical_terms == ("12315", "媒体", "曝光")
    assert m.score == 3.0 + 2.0 + 3 * CRITICAL_WEIGHT
    assert m.is_critical


def test_terms_without_brand_do_not_match(matcher: RuleMatcher) -> None:
    assert matcher.match("退款太慢了，打12315") == []


def test_exclusion_drops_the_rule(matcher: RuleMatcher) -> None:
    assert matcher.match("某品牌手机壳质量差，要退款") == []


def test_exclusion_only_affects_its_rule(matcher: RuleMatcher) -> None:
    assert [m.rule_id for m in matcher.match("某品牌手机壳和另一家都被12315点名")] == ["r3"]


def test_normalised_variants_match(matcher: RuleMatcher) -> None:
    (m,) = matcher.match("某\u200b品牌客服態度差，找黑貓投訴")
    assert m.negative_terms == ("态度差",) and m.critical_terms == ("黑猫投诉",)
    assert matcher.match("ＭＯＢＲＡＮＤ ＲＥＦＵＮＤ")[0].brand_terms == ("MoBrand",)


@pytest.mark.parametrize(
    "text,hit",
    [
        ("ali refund", True),
        ("ali客服", True),  # CJK neighbours are boundaries
        ("#ali#", True),
        ("ALI.", True),
        ("alibaba", False),
        ("kali linux", False),
        ("ali2", False),
        ("某品牌 123156", False),  # digits are word characters for "12315"
    ],
)
def test_ascii_terms_match_on_word_boundaries(matcher: RuleMatcher, text: str, hit: bool) -> None:
    results = matcher.match(text)
    if text.startswith("某品牌"):
        assert results[0].critical_terms == ()
    else:
        assert bool(results) is hit


def test_cjk_terms_match_anywhere(matcher: RuleMatcher) -> None:
    assert matcher.match("在某品牌店里")[0].brand_terms == ("某品牌",)


def test_mixed_alias_and_multiple_brand_terms(matcher: RuleMatcher) -> None:
    (m,) = matcher.match("某品pai 又叫 mopinpai，也就是某品牌")
    assert set(m.brand_terms) == {"某品pai", "mopinpai", "某品牌"}


def test_ordering_critical_first_then_score() -> None:
    low = Rule(id="low", brand="甲家", negative_terms={"差": 1})
    high = Rule(id="high", brand="乙家", negative_terms={"骗": 9})
    crit = Rule(id="crit", brand="丙家", critical_terms=("律师函",))
    results = RuleMatcher([low, high, crit]).match("甲家差，乙家骗，丙家收到律师函")
    assert [(r.rule_id, r.score) for r in results] == [("crit", CRITICAL_WEIGHT), ("high", 9.0), ("low", 1.0)]


def test_shared_pattern_across_rules_in_one_automaton() -> None:
    rules = [Rule(id=f"r{i}", brand=f"品牌{i}号", critical_terms=("12315",)) for i in range(50)]
    matcher = RuleMatcher(rules)
    results = matcher.match("品牌7号和品牌42号都被投诉到12315")
    assert sorted(r.rule_id for r in results) == ["r42", "r7"]
    assert all(r.is_critical for r in results)


def test_empty_matcher_and_empty_text() -> None:
    assert RuleMatcher([]).match("anything") == []
    assert RuleMatcher([BRAND]).match("") == []


def test_prenormalised_text() -> None:
    matcher = RuleMatcher([BRAND])
    assert matcher.match("某品牌退款", normalized=True)[0].score == 2.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"severity": "P5"},
        {"negative_terms": {"x": float("nan")}},
        {"negative_terms": {"x": "2"}},
        {"id": ""},
    ],
)
def test_invalid_rules_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Rule(**{"id": "x", "brand": "b", **kwargs})


def test_terms_empty_after_normalisation_and_duplicate_ids_rejected() -> None:
    with pytest.raises(ValueError):
        RuleMatcher([Rule(id="x", brand="\u200b")])
    with pytest.raises(ValueError):
        RuleMatcher([Rule(id="x", brand="a"), Rule(id="x", brand="b")])


filler = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_match_never_raises(text: str) -> None:
    matcher = RuleMatcher([BRAND, ALI, OTHER])
    for m in matcher.match(text):
        assert m.brand_terms and m.score >= 0
        assert m.is_critical == bool(m.critical_terms)


@settings(max_examples=200, deadline=None)
@given(filler, filler)
def test_brand_embedded_in_chinese_is_always_found(before: str, after: str) -> None:
    text = before + "某品牌" + after
    results = RuleMatcher([BRAND]).match(text)
    if "某品牌手机壳" not in text:
        assert results and results[0].rule_id == "r1"
