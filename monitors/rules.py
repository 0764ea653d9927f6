"""Brand-mention rules matched in one pass over a post with a single Aho-Corasick automaton.

A rule fires when at least one of its brand terms (the brand name or an alias) occurs
and none of its exclusion phrases does. Every pattern and every text goes through
`monitors.normalize.normalize`, so width, case, invisible characters and Traditional
vs Simplified spelling do not matter.

Score formula (per matching rule)::

    score = Σ weight(t) for each distinct negative term t found
          + CRITICAL_WEIGHT × number of distinct critical terms found

Brand terms add nothing to the score by themselves: a plain mention scores 0.
`is_critical` is true when a brand term and at least one critical term occur.

Word boundaries: a term that *starts* with an ASCII letter or digit must not be preceded
by an ASCII letter or digit, and a term that *ends* with one must not be followed by
one. So "ali" does not match inside "alibaba" or "kali", and "12315" not inside
"123156", but "ali" does match in "ali客服" and "#ali#", because CJK characters and
punctuation count as boundaries (Chinese text has no spaces). CJK terms match anywhere.
Write the longer word as its own alias if it is intended ("alibaba").

Caveat: OpenCC converts phrases, so a Traditional term whose conversion depends on
context may normalise differently alone than inside a sentence; rare in practice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import ahocorasick

from monitors.normalize import normalize

SEVERITIES = ("P1", "P2", "P3", "P4")
CRITICAL_WEIGHT = 5.0

# Posting kinds stored in the automaton.
_BRAND, _NEGATIVE, _CRITICAL, _EXCLUDE = range(4)


@dataclass(frozen=True)
class Rule:
    """One monitored brand: its names and the terms that make a mention worrying."""

    id: str
    brand: str
    aliases: tuple[str, ...] = ()
    negative_terms: Mapping[str, float] = field(default_factory=dict)
    critical_terms: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    severity: str = "P3"

    def __post_init__(self) -> None:
        # Accept lists from JSON/forms but keep the dataclass hashable-ish and immutable.
        object.__setattr__(self, "aliases", tuple(self.aliases))
        object.__setattr__(self, "critical_terms", tuple(self.critical_terms))
        object.__setattr__(self, "exclusions", tuple(self.exclusions))
        object.__setattr__(self, "negative_terms", dict(self.negative_terms))
        if not str(self.id):
            raise ValueError("rule id must not be empty")
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.id}: severity must be one of {', '.join(SEVERITIES)}")
        for term, weight in self.negative_terms.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
                raise ValueError(f"rule {self.id}: weight of {term!r} must be a finite number")


@dataclass(frozen=True)
class RuleMatch:
    """What one rule found in one text; terms are given as written in the rule."""

    rule_id: str
    severity: str
    brand_terms: tuple[str, ...]
    negative_terms: tuple[str, ...]
    critical_terms: tuple[str, ...]
    score: float
    is_critical: bool


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class RuleMatcher:
    """All rules compiled into one automaton; build once, call `match` per post."""

    def __init__(self, rules: Iterable[Rule], *, critical_weight: float = CRITICAL_WEIGHT) -> None:
        """Compile the rules; raises ValueError for duplicate ids or terms that normalise to ''."""
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.critical_weight = critical_weight
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError("rule ids must be unique")
        # pattern -> (brand postings [(rule, term)], other postings {rule: [(kind, term)]}).
        # Negative and critical terms such as "退款" or "12315" are shared by hundreds of
        # rules; keeping them per rule in a dict means a hit costs one lookup per rule
        # whose brand was actually seen, not one step per rule that lists the term.
        brands: dict[str, list[tuple[int, str]]] = {}
        others: dict[str, dict[int, list[tuple[int, str]]]] = {}
        for index, rule in enumerate(self.rules):
            terms: list[tuple[int, str]] = [(_BRAND, rule.brand)]
            terms += [(_BRAND, a) for a in rule.aliases]
            terms += [(_NEGATIVE, t) for t in rule.negative_terms]
            terms += [(_CRITICAL, t) for t in rule.critical_terms]
            terms += [(_EXCLUDE, t) for t in rule.exclusions]
            for kind, term in terms:
                pattern = normalize(term)
                if not pattern:
                    raise ValueError(f"rule {rule.id}: term {term!r} is empty after normalisation")
                if kind == _BRAND:
                    brands.setdefault(pattern, []).append((index, term))
                else:
                    others.setdefault(pattern, {}).setdefault(index, []).append((kind, term))
        self._automaton = ahocorasick.Automaton()
        for pattern in brands.keys() | others.keys():
            self._automaton.add_word(
                pattern,
                (len(pattern), _is_word_char(pattern[0]), _is_word_char(pattern[-1]),
                 tuple(brands.get(pattern, ())), others.get(pattern, {})),
            )
        self._empty = not (brands or others)
        self._order = {rule.id: i for i, rule in enumerate(self.rules)}
        if not self._empty:
            self._automaton.make_automaton()

    def match(self, text: str, *, normalized: bool = False) -> list[RuleMatch]:
        """Rules that fire on `text`, most critical / highest score first, then in rule order.

        Pass `normalized=True` when the caller already ran `normalize(text)` (e.g. to
        store it), to avoid doing it twice.
        """
        if self._empty or not text:
            return []
        norm = text if normalized else normalize(text)
        size = len(norm)
        brand_hits: dict[int, list[str]] = {}
        other_hits: list[dict[int, list[tuple[int, str]]]] = []
        for end, (length, bounded_start, bounded_end, brand_postings, other_postings) in self._automaton.iter(norm):
            start = end - length + 1
            if bounded_start and start > 0 and _is_word_char(norm[start - 1]):
                continue
            if bounded_end and end + 1 < size and _is_word_char(norm[end + 1]):
                continue
            for index, term in brand_postings:
                seen = brand_hits.setdefault(index, [])
                if term not in seen:
                    seen.append(term)
            if other_postings:
                other_hits.append(other_postings)
        results = []
        for index, brands_found in brand_hits.items():
            negatives: list[str] = []
            criticals: list[str] = []
            excluded = False
            for postings in other_hits:
                for kind, term in postings.get(index, ()):
                    if kind == _EXCLUDE:
                        excluded = True
                    elif kind == _NEGATIVE and term not in negatives:
                        negatives.append(term)
                    elif kind == _CRITICAL and term not in criticals:
                        criticals.append(term)
            if excluded:
                continue
            rule = self.rules[index]
            score = sum(float(rule.negative_terms[t]) for t in negatives)
            score += self.critical_weight * len(criticals)
            results.append(
                RuleMatch(
                    rule_id=rule.id,
                    severity=rule.severity,
                    brand_terms=tuple(brands_found),
                    negative_terms=tuple(negatives),
                    critical_terms=tuple(criticals),
                    score=score,
                    is_critical=bool(criticals),
                )
            )
        order = self._order
        results.sort(key=lambda m: (not m.is_critical, -m.score, order[m.rule_id]))
        return results
