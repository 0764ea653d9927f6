"""Mentions: stored exactly once per source, then triaged (dismiss, attach, raise) and listed.

Storing is insert-if-absent on the (source, identity hash) unique constraint, in the
poll's transaction: a crash before the commit stores nothing (and leaves the validators
unchanged, so the next poll fetches the same entries again); a repeat after a commit finds
every entry already there. A dismissed mention is a row like any other, so it never comes back.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from incidents import outreach, service
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.deadlines import record_event
from incidents.errors import InvalidInput, NotFound
from incidents.lifecycle import Kind, Source, Status
from incidents.models import EventKind, Incident, TimelineEvent
from incidents.monitor_models import Mention, MentionMatch, MentionState, MonitorSource
from incidents.timeutil import ensure_aware
from monitors.feeds import FeedEntry
from monitors.normalize import normalize
from monitors.rules import RuleMatcher

TITLE_MAX = 500
TEXT_MAX = 5000
INBOX_LIMIT = 100
STATES = tuple(MentionState)
# The inbox's orders: the riskiest first (critical, then by score), or the newest first.
ORDERS = ("risk", "newest")
# Score thresholds of the risk levels below critical (one default-weight negative term scores 1).
HIGH_RISK_SCORE = 3.0
MEDIUM_RISK_SCORE = 1.0


class RiskLevel(enum.StrEnum):
    """How worrying a mention is, in words beside its score."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def is_critical(mention: Mention) -> bool:
    """True when a rule matched the brand with a critical term (12315, 曝光, 律师 …)."""
    return any(match.get("critical") for match in mention.matches or ())


def risk_level(mention: Mention) -> RiskLevel:
    """Critical on a critical term, else high, medium or low by the score."""
    if is_critical(mention):
        return RiskLevel.CRITICAL
    if mention.score >= HIGH_RISK_SCORE:
        return RiskLevel.HIGH
    if mention.score >= MEDIUM_RISK_SCORE:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


# Where a post was made, from its link: the platform people will reach the poster on.
PLATFORMS = {
    "weibo.com": "weibo", "weibo.cn": "weibo", "douyin.com": "douyin", "iesdouyin.com": "douyin",
    "xiaohongshu.com": "xiaohongshu", "xhslink.com": "xiaohongshu", "zhihu.com": "zhihu",
    "bilibili.com": "bilibili", "b23.tv": "bilibili", "tieba.baidu.com": "tieba", "tousu.sina.com.cn": "heimao",
    "kuaishou.com": "kuaishou", "toutiao.com": "toutiao", "weixin.qq.com": "wechat", "mp.weixin.qq.com": "wechat",
}


def platform_of(link: str | None) -> str:
    """The platform a post's link points at ("weibo", "douyin", …), else its host name."""
    if not link:
        return ""
    host = (urlsplit(link).hostname or "").lower()
    parts = host.split(".")
    for size in range(len(parts), 1, -1):
        suffix = ".".join(parts[-size:])
        if suffix in PLATFORMS:
            return PLATFORMS[suffix]
    return host.removeprefix("www.")[:50]


def key_hash(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _match_view(match: Any, rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    info = rules.get(match.rule_id, {})
    return {
        "rule_id": int(match.rule_id), "rule": info.get("name", match.rule_id), "brand": info.get("brand", ""),
        "brand_terms": list(match.brand_terms), "negative_terms": list(match.negative_terms),
        "critical_terms": list(match.critical_terms), "score": match.score, "critical": match.is_critical,
    }


def store_entries(
    session: Session, source: MonitorSource, entries: Iterable[FeedEntry], *, matcher: RuleMatcher,
    rules: dict[str, dict[str, Any]], now: datetime,
) -> list[Mention]:
    """Store the entries not seen before from this source, matched against the rules; returns the new ones.

    INSERT … ON CONFLICT DO NOTHING RETURNING for the batch: rows another poll stored
    meanwhile are skipped by the database, never duplicated.
    """
    now = ensure_aware(now)
    by_hash = {key_hash(entry.key): entry for entry in entries}
    if not by_hash:
        return []
    known = set(session.scalars(
        sa.select(Mention.key_hash).where(Mention.source_id == source.id, Mention.key_hash.in_(list(by_hash)))))
    rows = []
    matched: dict[str, list[dict[str, Any]]] = {}
    for digest, entry in by_hash.items():
        if digest in known:
            continue
        matches = [_match_view(m, rules) for m in matcher.match(normalize(f"{entry.title}\n{entry.text}"),
                                                                  normalized=True)]
        matched[digest] = matches
        rows.append({
            "source_id": source.id, "source_name": source.name, "key_hash": digest, "identity": entry.key,
            "title": entry.title[:TITLE_MAX], "text": entry.text[:TEXT_MAX], "link": entry.link or None,
            "author": entry.author, "platform": platform_of(entry.link), "published_at": entry.published,
            "categories": entry.categories[:50], "engagement": entry.engagement, "matches": matches,
            "score": max((m["score"] for m in matches), default=0.0), "state": MentionState.NEW.value,
            "incident_id": None, "created_at": now, "updated_at": now,
        })
    if not rows:
        return []
    table = Mention.__table__
    # executemany with RETURNING: SQLAlchemy batches it as "insertmanyvalues", one cached statement.
    inserted = session.execute(
        _insert(session, table).on_conflict_do_nothing(index_elements=["source_id", "key_hash"])
        .returning(table.c.id, table.c.key_hash), rows).all()
    match_rows = [
        {"mention_id": mention_id, "rule_id": match["rule_id"], "at": by_hash[digest].published or now,
         "negative": bool(match["negative_terms"]), "critical": match["critical"], "score": match["score"]}
        for mention_id, digest in inserted for match in matched[digest]
    ]
    if match_rows:
        session.execute(sa.insert(MentionMatch.__table__), match_rows)
    if not inserted:
        return []
    # One audit record per poll that brought new posts (not one per post: a busy feed would drown the log).
    record_audit(session, actor=Actor.system("monitor"), now=now, action="monitor.mentions_stored",
                 target_type="monitor_source", target_id=source.id,
                 after={"count": len(inserted), "mentions": [row[0] for row in inserted][:200]})
    stored = session.scalars(sa.select(Mention).where(Mention.id.in_([row[0] for row in inserted])))
    return sorted(stored, key=lambda m: (m.at, m.id))  # oldest first: feeds list the newest first


def get_mention(session: Session, mention_id: int) -> Mention:
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise NotFound(f"no mention {mention_id}")
    return mention


def dismiss_mention(session: Session, mention: Mention, *, actor: Actor, now: datetime) -> None:
    """Set a new mention aside: it stays stored (so it never comes back) and leaves the inbox."""
    if mention.state != MentionState.NEW:
        raise InvalidInput("state", "only a new mention can be dismissed", reason="mention_state")
    mention.state = MentionState.DISMISSED
    mention.updated_at = ensure_aware(now)
    record_audit(session, actor=actor, now=now, action="monitor.mention_dismissed", target_type="mention",
                 target_id=mention.id, before={"state": "new"}, after={"state": "dismissed"})
    session.flush()


def mention_summary(mention: Mention) -> dict[str, Any]:
    """What a timeline entry keeps about a mention (the incident's record, even if the mention changes)."""
    return {"id": mention.id, "title": mention.title[:120], "link": mention.link, "author": mention.author,
            "platform": mention.platform, "source": mention.source_name}


def attach_mentions(
    session: Session, mentions: list[Mention], incident: Incident, *, actor: Actor, now: datetime,
    state: MentionState = MentionState.ATTACHED, rule: str | None = None,
) -> TimelineEvent | None:
    """Attach mentions to an incident with one timeline entry; mentions already there are skipped."""
    now = ensure_aware(now)
    if incident.status == Status.CLOSED:
        raise InvalidInput("incident", "a closed incident cannot take mentions", reason="incident_closed")
    for mention in mentions:
        if mention.incident_id not in (None, incident.id):
            raise InvalidInput("incident", "this mention already belongs to another incident",
                               reason="mention_elsewhere")
    fresh = [m for m in mentions if m.incident_id is None]
    if not fresh:
        return None
    for mention in fresh:
        mention.incident_id = incident.id
        mention.state = state
        mention.updated_at = now
    data: dict[str, Any] = {"count": len(fresh), "mentions": [mention_summary(m) for m in fresh[:5]],
                            "mention_ids": [m.id for m in fresh]}
    if rule:
        data["rule"] = rule
    event = record_event(session, incident, kind=EventKind.MENTION_ATTACHED, actor=actor, now=now,
                         body=_attach_body(fresh), data=data)
    session.flush()
    return event



def _attach_body(mentions: list[Mention]) -> str:
    first = mentions[0]
    who = f"{first.author}（{first.platform or first.source_name}）" if first.author else first.source_name
    head = f"{who}：{first.title[:80]}"
    return head if len(mentions) == 1 else f"{head} 等 {len(mentions)} 条"


def attach_to_reference(session: Session, mention: Mention, reference: str, *, actor: Actor,
                        now: datetime) -> Incident:
    """A person attaches a mention to an incident named by its reference."""
    reference = (reference or "").strip().upper()
    if not reference:
        raise InvalidInput("incident", "enter the incident reference (INC-…)", reason="required")
    incident = session.scalar(sa.select(Incident).where(Incident.reference == reference))
    if incident is None:
        raise InvalidInput("incident", f"no incident {reference}", reason="no_incident", reference=reference)
    if mention.incident_id == incident.id:
        return incident
    attach_mentions(session, [mention], incident, actor=actor, now=now)
    return incident


def default_title(mention: Mention, brand: str | None = None) -> str:
    """A raised incident's title: the brand and what the post says."""
    what = mention.title or mention.text or mention.link or ""
    prefix = f"{brand}舆情：" if brand else "舆情："
    return (prefix + what)[:200]


def default_summary(mention: Mention) -> str:
    """The post and its poster, so the 1-hour contact can start from the incident page."""
    lines = [mention.text[:1500] or mention.title]
    poster = mention.author or "（未署名）"
    lines.append(f"发帖人：{poster}（{mention.platform or mention.source_name}）")
    if mention.link:
        lines.append(f"原帖：{mention.link}")
    return "\n".join(lines)[:5000]


def raise_from_mention(
    session: Session, mention: Mention, *, severity: str, title: str = "", actor: Actor, now: datetime,
    zone: ZoneInfo, source: Source = Source.MANUAL,
) -> Incident:
    """A person opens a public-opinion incident from a mention; the mention is attached as its trigger."""
    if mention.incident_id is not None:
        raise InvalidInput("state", "this mention already belongs to an incident", reason="mention_elsewhere")
    brand = mention.matches[0]["brand"] if mention.matches else None
    incident = service.open_incident(
        session, kind=Kind.PUBLIC_OPINION.value, severity=severity, title=title.strip() or default_title(mention, brand),
        summary=default_summary(mention), source=source, actor=actor, now=now, zone=zone,
    )
    attach_mentions(session, [mention], incident, actor=actor, now=now, state=MentionState.RAISED)
    outreach.add_poster_contact(session, incident=incident, mention=mention, actor=actor, now=now)
    return incident


@dataclass
class InboxFilter:
    """The inbox's filters and order as chosen by the reader."""

    state: str = "new"  # a MentionState value or "all"
    source_id: int | None = None
    rule_id: int | None = None
    min_score: float | None = None
    matched_only: bool = False
    before_id: int | None = None  # the page goes on after this mention, in the chosen order
    order: str = "newest"  # one of ORDERS

    def cache_key(self) -> str:
        return (f"{self.state}|{self.source_id}|{self.rule_id}|{self.min_score}|{self.matched_only}"
                f"|{self.before_id}|{self.order}")


def parse_inbox_filter(args: Any, *, defaults: InboxFilter | None = None) -> InboxFilter:
    """Read state/source/rule/min_score/matched/before/order from query arguments over `defaults`;
    bad values name the field. `matched=0` turns a default "matched only" off."""
    chosen = replace(defaults) if defaults is not None else InboxFilter()
    state = (args.get("state") or chosen.state).strip()
    if state != "all" and state not in {s.value for s in MentionState}:
        raise InvalidInput("state", f"unknown state {state!r}", reason="choice",
                           allowed="all, " + ", ".join(s.value for s in MentionState))
    chosen.state = state
    order = (args.get("order") or chosen.order).strip()
    if order not in ORDERS:
        raise InvalidInput("order", f"unknown order {order!r}", reason="choice", allowed=", ".join(ORDERS))
    chosen.order = order
    for field, attr in (("source", "source_id"), ("rule", "rule_id"), ("before", "before_id")):
        value = (args.get(field) or "").strip()
        if value:
            if not value.isdigit():
                raise InvalidInput(field, f"{field} must be a number", reason="number")
            setattr(chosen, attr, int(value))
    score = (args.get("min_score") or "").strip()
    if score:
        try:
            chosen.min_score = float(score)
        except ValueError:
            raise InvalidInput("min_score", "min_score must be a number", reason="number") from None
    matched = args.get("matched")
    if matched is not None:
        chosen.matched_only = matched.strip().lower() in ("1", "true", "on", "yes")
    return chosen


def _critical_last() -> Any:
    """0 for a mention with a critical match, 1 otherwise (the risk order's first key)."""
    critical = sa.exists().where(MentionMatch.mention_id == Mention.id, MentionMatch.critical.is_(True))
    return sa.case((critical, 0), else_=1)


def _after_in_risk_order(session: Session, before_id: int) -> Any:
    """The mentions that come after mention `before_id` in the risk order (a keyset page)."""
    anchor = session.get(Mention, before_id)
    if anchor is None:
        return Mention.id < before_id
    rank, rank_of = (0 if is_critical(anchor) else 1), _critical_last()
    return sa.or_(
        rank_of > rank,
        sa.and_(rank_of == rank, Mention.score < anchor.score),
        sa.and_(rank_of == rank, Mention.score == anchor.score, Mention.id < before_id),
    )


def inbox(session: Session, chosen: InboxFilter, *, limit: int = INBOX_LIMIT) -> list[Mention]:
    """Mentions matching the filters: the riskiest first (critical, highest score, newest), or the newest first."""
    statement = sa.select(Mention).options(selectinload(Mention.incident))
    if chosen.state != "all":
        statement = statement.where(Mention.state == MentionState(chosen.state))
    if chosen.source_id is not None:
        statement = statement.where(Mention.source_id == chosen.source_id)
    if chosen.rule_id is not None:
        statement = statement.where(sa.exists().where(MentionMatch.mention_id == Mention.id,
                                                      MentionMatch.rule_id == chosen.rule_id))
    elif chosen.matched_only:
        statement = statement.where(sa.exists().where(MentionMatch.mention_id == Mention.id))
    if chosen.min_score is not None:
        statement = statement.where(Mention.score >= chosen.min_score)
    if chosen.order == "risk":
        if chosen.before_id is not None:
            statement = statement.where(_after_in_risk_order(session, chosen.before_id))
        statement = statement.order_by(_critical_last(), Mention.score.desc(), Mention.id.desc())
    else:
        if chosen.before_id is not None:
            statement = statement.where(Mention.id < chosen.before_id)
        statement = statement.order_by(Mention.id.desc())
    return list(session.scalars(statement.limit(limit)))


def inbox_fingerprint(session: Session) -> tuple[int, datetime | None, int]:
    """Changes whenever a mention is stored or changes state (the inbox's ETag)."""
    count, latest, max_id = session.execute(
        sa.select(sa.func.count(Mention.id), sa.func.max(Mention.updated_at), sa.func.max(Mention.id))).one()
    return count, latest, max_id or 0


def incident_mentions(session: Session, incident: Incident, *, limit: int = 200) -> list[Mention]:
    """Mentions attached to an incident, newest first."""
    return list(session.scalars(sa.select(Mention).where(Mention.incident_id == incident.id)
                                .order_by(Mention.id.desc()).limit(limit)))


def hours_between(first: datetime, last: datetime) -> int:
    """How many clock hours [first's hour … last's hour] span, both included."""
    start = first.replace(minute=0, second=0, microsecond=0)
    end = last.replace(minute=0, second=0, microsecond=0)
    return max(1, int((end - start) / timedelta(hours=1)) + 1)


def count_over_time(mentions: Iterable[Mention], *, hours: int = 24, now: datetime) -> list[tuple[datetime, int]]:
    """Mentions per hour (by their time) for the last `hours` hours up to `now`, oldest first."""
    end = ensure_aware(now).replace(minute=0, second=0, microsecond=0)
    starts = [end - timedelta(hours=i) for i in range(hours - 1, -1, -1)]
    counts = dict.fromkeys(starts, 0)
    for mention in mentions:
        start = mention.at.replace(minute=0, second=0, microsecond=0)
        if start in counts:
            counts[start] += 1
    return list(counts.items())
