"""The script library (话术库): templates per kind and purpose, their variables and versions.

Defaults ship in incidents/defaults/scripts.toml; every save in the console is a new
ScriptVersion (audited) and the newest is in force. Filling a script is strict: a variable
the library does not know, or one left empty, is an error naming it, never a half-filled text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.comms_models import ScriptVersion
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Status
from incidents.service import clean_text
from incidents.updates import BODY_MAX, PUBLIC_STATUSES

PURPOSES = ("first_notice", "progress", "holding", "recovered", "apology", "compensation", "reply_to_poster")
HOLDING = "holding"


@dataclass(frozen=True)
class Variable:
    name: str
    zh: str
    en: str
    # auto: the composer fills it from the incident; shared: one value for both languages;
    # bilingual: a Chinese value and an English one.
    source: str
    max_length: int = 200
    example: str = ""  # shown in the empty field, so people see the shape the script expects

    def label(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en


VARIABLES: dict[str, Variable] = {v.name: v for v in (
    Variable("components", "受影响的服务", "Affected components", "auto"),
    Variable("title", "公开标题", "Public title", "auto"),
    Variable("next_update_at", "下次更新时间", "Next update at", "shared", 40, "10:30"),
    Variable("eta", "预计恢复时间", "Expected recovery", "bilingual", 100, "15:30"),
    Variable("progress", "最新进展", "Progress", "bilingual", 1000),
    Variable("compensation", "补偿内容", "Compensation", "bilingual", 500),
    Variable("poster", "发帖人", "Poster", "shared", 100, "@用户昵称"),
)}
# What the system can fill by itself when nobody is there (holding statements).
AUTOMATIC = frozenset({"components", "title", "next_update_at"})
# A draft waiting for sign-off keeps this token; the time is filled in when it goes out.
NEXT_UPDATE_TOKEN = "{next_update_at}"

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def placeholders(text: str, *, field: str) -> list[str]:
    """The variables a text uses, in order of first use; unknown names and stray braces are errors."""
    names: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise InvalidInput(field, "a brace without its pair: write {{ or }} for a literal brace",
                               reason="stray_brace")
        if name.strip() not in VARIABLES:
            raise InvalidInput(field, f"unknown variable {{{name}}}", reason="unknown_variable",
                               name=name, known=", ".join(f"{{{n}}}" for n in VARIABLES))
        if name.strip() not in names:
            names.append(name.strip())
    return names


def fill(text: str, values: Mapping[str, str], *, field: str) -> str:
    """The text with every variable filled; a variable left empty is an error naming it."""
    placeholders(text, field=field)

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1).strip()
        value = (values.get(name) or "").strip()
        if not value:
            raise InvalidInput(f"var_{name}", f"{{{name}}} has no value", reason="variable_empty", name=name)
        return value

    return _TOKEN.sub(replace, text)


@dataclass(frozen=True)
class Script:
    kind: Kind
    purpose: str
    zh: str
    en: str
    public_status: Status | None
    version: int  # 0: the shipped default
    source: str  # "defaults v1" or "version 3"
    created_by: str = ""
    created_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.kind.value}.{self.purpose}"

    def variables(self) -> list[str]:
        """Variables of both texts, in order of first use."""
        names = placeholders(self.zh, field="zh")
        return names + [n for n in placeholders(self.en, field="en") if n not in names]


@cache
def _defaults_file() -> dict:
    return tomllib.loads(resources.files("incidents").joinpath("defaults/scripts.toml").read_text("utf-8"))


def defaults_version() -> int:
    return int(_defaults_file()["version"])


def default_script(kind: Kind, purpose: str) -> Script | None:
    raw = _defaults_file().get(kind.value, {}).get(purpose)
    if raw is None:
        return None
    return Script(kind=kind, purpose=purpose, zh=raw["zh"], en=raw.get("en", ""),
                  public_status=Status(raw["status"]) if raw.get("status") else None, version=0,
                  source=f"defaults v{defaults_version()}")


def _from_row(row: ScriptVersion) -> Script:
    return Script(kind=row.kind, purpose=row.purpose, zh=row.zh, en=row.en, public_status=row.public_status,
                  version=row.version, source=f"version {row.version}", created_by=row.created_by_label,
                  created_at=row.created_at)


def parse_key(key: str) -> tuple[Kind, str]:
    """"outage.progress" as (Kind.OUTAGE, "progress"); anything else is an error at `script`."""
    kind_name, _, purpose = (key or "").partition(".")
    try:
        kind = Kind(kind_name)
    except ValueError:
        kind = None
    if kind is None or purpose not in PURPOSES:
        raise InvalidInput("script", f"no script {key!r}", reason="unknown_script")
    return kind, purpose


def versions(session: Session, kind: Kind, purpose: str) -> list[Script]:
    """Every saved version, newest first, then the shipped default."""
    rows = session.scalars(
        sa.select(ScriptVersion).where(ScriptVersion.kind == kind, ScriptVersion.purpose == purpose)
        .order_by(ScriptVersion.version.desc())
    )
    result = [_from_row(row) for row in rows]
    default = default_script(kind, purpose)
    return result + ([default] if default else [])


def current(session: Session, kind: Kind, purpose: str) -> Script | None:
    """The script in force: the newest saved version, else the shipped default."""
    found = versions(session, kind, purpose)
    return found[0] if found else None


def library(session: Session, kind: Kind | None = None) -> list[Script]:
    """Every script in force, by kind then purpose (the library's order)."""
    newest: dict[tuple[Kind, str], ScriptVersion] = {}
    query = sa.select(ScriptVersion).order_by(ScriptVersion.version)
    if kind is not None:
        query = query.where(ScriptVersion.kind == kind)
    for row in session.scalars(query):
        newest[(row.kind, row.purpose)] = row
    result = []
    for each_kind in [kind] if kind else list(Kind):
        for purpose in PURPOSES:
            row = newest.get((each_kind, purpose))
            script = _from_row(row) if row else default_script(each_kind, purpose)
            if script is not None:
                result.append(script)
    return result


def _public_status(value: str | None) -> Status | None:
    if not value:
        return None
    try:
        status = Status(value)
    except ValueError:
        status = None
    if status not in PUBLIC_STATUSES:
        raise InvalidInput("public_status", f"unknown public status {value!r}", reason="choice",
                           allowed=", ".join(s.value for s in PUBLIC_STATUSES))
    return status


def save_script(
    session: Session, *, kind: Kind, purpose: str, zh: str, en: str = "", public_status: str | None = None,
    actor: Actor, now: datetime,
) -> Script:
    """Save a new version of a script (validated whole first, audited); no change writes nothing."""
    if purpose not in PURPOSES:
        raise InvalidInput("purpose", f"unknown purpose {purpose!r}", reason="choice", allowed=", ".join(PURPOSES))
    text_zh = clean_text(zh, field="zh", max_length=BODY_MAX, required=True)
    text_en = clean_text(en, field="en", max_length=BODY_MAX, required=False)
    status = _public_status(public_status)
    for field, text in (("zh", text_zh), ("en", text_en)):
        used = placeholders(text, field=field)
        manual = [name for name in used if name not in AUTOMATIC]
        if purpose == HOLDING and manual:
            raise InvalidInput(field, "a holding statement is published by the system: only {components}, "
                               "{title} and {next_update_at} can be filled", reason="holding_variables",
                               name=manual[0])
    before = current(session, kind, purpose)
    if before and (before.zh, before.en, before.public_status) == (text_zh, text_en, status):
        return before
    latest = session.scalar(sa.select(sa.func.max(ScriptVersion.version)).where(
        ScriptVersion.kind == kind, ScriptVersion.purpose == purpose))
    row = ScriptVersion(kind=kind, purpose=purpose, version=(latest or 0) + 1, zh=text_zh, en=text_en,
                        public_status=status, created_at=now, created_by_id=actor.user_id,
                        created_by_label=actor.label)
    session.add(row)
    record_audit(
        session, actor=actor, now=now, action="script.saved", target_type="script", target_id=f"{kind.value}.{purpose}",
        before=_audit(before), after={"version": row.version, "zh": text_zh, "en": text_en,
                                      "public_status": status.value if status else None},
    )
    session.flush()
    return _from_row(row)


def _audit(script: Script | None) -> dict:
    if script is None:
        return {}
    return {"source": script.source, "zh": script.zh, "en": script.en,
            "public_status": script.public_status.value if script.public_status else None}
