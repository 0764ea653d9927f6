"""Benchmark: normalize + RuleMatcher.match throughput vs a naive `term in text` loop.

Run from the repository root:  python bench/bench_matching.py [--rules 1000] [--entries 20000]

Everything is generated from a fixed seed (no real posts). Single process, single thread.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitors.normalize import normalize  # noqa: E402
from monitors.rules import Rule, RuleMatcher  # noqa: E402

CJK_SYLLABLES = "华安达康瑞星美佳优信源联创新恒泰宏盛福鑫龙凤宝德天海云峰"
SUFFIXES = ["科技", "电器", "家居", "乳业", "快递", "出行", "银行", "保险", "商城", "教育"]
NEGATIVE = {
    "退款": 2, "投诉": 2, "骗子": 3, "态度差": 1.5, "不发货": 2, "假货": 3, "维权": 2, "客服不理": 2,
    "爆炸": 4, "过敏": 3, "欺诈": 4, "虚假宣传": 3, "霸王条款": 2, "扣费": 1.5, "泄露": 3, "延误": 1,
}
CRITICAL = ["12315", "曝光", "媒体", "律师", "黑猫投诉", "报警", "起诉", "记者"]
FILLER = (
    "今天 下单 以后 一直 没有 收到 消息 我们 觉得 这个 事情 真的 有点 离谱 朋友 推荐 的 时候 说 很好 "
    "结果 用了 两天 就 出现 问题 打电话 过去 排队 半个小时 然后 说 系统 升级 让 我 等着 希望 能 给 个 说法 "
    "周末 带 孩子 去 门店 体验 了 一下 环境 不错 服务 也 挺 热情 价格 有点 贵 但是 质量 还 可以 "
    "刚刚 看到 新闻 说 明天 开始 降温 大家 注意 保暖 出门 记得 带 伞 地铁 又 晚点 了 上班 迟到 "
).split()
PUNCT = "，。！？、；"


def make_rules(rng: random.Random, n: int) -> list[Rule]:
    rules = []
    for i in range(n):
        if i % 3:
            brand = "".join(rng.sample(CJK_SYLLABLES, 2)) + rng.choice(SUFFIXES) + str(i)
            aliases = (f"brand{i}", f"brnd{i}", "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=6)) + str(i))
        else:
            brand = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=7)) + str(i)
            aliases = (brand.upper()[:5] + str(i), "".join(rng.sample(CJK_SYLLABLES, 3)) + str(i))
        negative = dict(rng.sample(sorted(NEGATIVE.items()), 6))
        rules.append(
            Rule(
                id=f"rule-{i}",
                brand=brand,
                aliases=aliases,
                negative_terms=negative,
                critical_terms=tuple(rng.sample(CRITICAL, 4)),
                exclusions=(f"{brand}招聘",) if i % 5 == 0 else (),
                severity=rng.choice(["P1", "P2", "P3", "P4"]),
            )
        )
    return rules


def make_entries(rng: random.Random, rules: list[Rule], n: int) -> list[str]:
    entries = []
    for _ in range(n):
        words: list[str] = []
        target = rng.randint(100, 300)
        while sum(len(w) for w in words) < target:
            words.append(rng.choice(FILLER))
            if rng.random() < 0.12:
                words.append(rng.choice(PUNCT))
        if rng.random() < 0.2:  # ~20 % mention a brand, some with complaint terms
            rule = rng.choice(rules)
            words.insert(rng.randrange(len(words)), rng.choice((rule.brand, *rule.aliases)))
            for _ in range(rng.randint(0, 3)):
                words.insert(rng.randrange(len(words)), rng.choice(list(NEGATIVE) + CRITICAL))
        text = "".join(words)
        if rng.random() < 0.05:
            text = text.replace("们", "們").replace("这", "這")  # some Traditional characters
        entries.append(text)
    return entries


def naive_match(rules: list[Rule], norm_terms: list[tuple], text: str) -> int:
    """Baseline: for every rule, test every term with `in` (no boundaries, no automaton)."""
    norm = normalize(text)
    hits = 0
    for brand_terms, negatives, criticals, exclusions in norm_terms:
        if any(t in norm for t in brand_terms) and not any(t in norm for t in exclusions):
            hits += 1
            sum(w for t, w in negatives if t in norm)
            any(t in norm for t in criticals)
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--baseline-entries", type=int, default=2000,
                        help="the naive loop is slow, so it runs on the first N entries only")
    args = parser.parse_args()
    rng = random.Random(20261122)
    rules = make_rules(rng, args.rules)
    entries = make_entries(rng, rules, args.entries)
    avg_len = sum(map(len, entries)) / len(entries)

    started = time.perf_counter()
    matcher = RuleMatcher(rules)
    build_s = time.perf_counter() - started

    normalize("预热")  # load OpenCC outside the timed loop, as a long-running worker would
    started = time.perf_counter()
    matched = sum(1 for text in entries if matcher.match(text))
    fast_s = time.perf_counter() - started
    fast_rate = len(entries) / fast_s

    norm_terms = [
        (
            [normalize(t) for t in (r.brand, *r.aliases)],
            [(normalize(t), w) for t, w in r.negative_terms.items()],
            [normalize(t) for t in r.critical_terms],
            [normalize(t) for t in r.exclusions],
        )
        for r in rules
    ]
    subset = entries[: args.baseline_entries]
    started = time.perf_counter()
    naive_hits = sum(1 for text in subset if naive_match(rules, norm_terms, text))
    naive_s = time.perf_counter() - started
    naive_rate = len(subset) / naive_s
    fast_subset_hits = sum(1 for text in subset if matcher.match(text))

    print(f"python {platform.python_version()} on {platform.machine()}, {args.rules} rules, "
          f"{len(entries)} entries (avg {avg_len:.0f} chars)")
    print(f"automaton build:            {build_s * 1000:8.1f} ms")
    print(f"normalize+match (automaton): {fast_rate:10.0f} entries/s  ({fast_s:.2f} s, {matched} entries matched)")
    print(f"normalize+naive `in` loop:   {naive_rate:10.0f} entries/s  ({naive_s:.2f} s on {len(subset)} entries)")
    print(f"speed-up: {fast_rate / naive_rate:.1f}x   (entries with a match on that subset: "
          f"automaton {fast_subset_hits}, naive {naive_hits}; naive ignores word boundaries)")
    target = 5000
    print(f"target {target} entries/s: {'met' if fast_rate >= target else 'NOT met'}")


if __name__ == "__main__":
    main()
