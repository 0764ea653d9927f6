"""Console-wide settings an admin can change: stored values over defaults in code, audited."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.models import Setting

DEFAULTS: dict[str, dict[str, Any]] = {
    # The working hours of the business calendar, local wall time of the team's zone.
    "business_hours": {"start": "09:00", "end": "18:00"},
    # How alert labels become an incident's severity and components (monitors.alert_intake).
    "alert_hooks": {
        "default_severity": "P3",
        "severity": {"critical": "P1", "error": "P2", "warning": "P3", "info": "P4"},
        "components": {"component": [], "service": []},
    },
    # The comms desk (incidents.comms): which kind+severity needs a duty manager's sign-off
    # before an update goes out, how long the sign-off may take, and the holding statement.
    "comms": {
        "signoff": {"outage": [], "public_opinion": [], "complaint": []},
        "signoff_minutes": 3,
        "holding": {"outage": True, "public_opinion": False, "complaint": False},
        "holding_after_minutes": 2,
    },
    # Single sign-on through an OpenID Connect provider (incidents.single_sign_on); off until set.
    "sso": {
        "enabled": False,
        "name": "",
        "issuer": "",
        "client_id": "",
        "client_secret": "",
        "rules": [],
        "default_role": None,
        "local_login": True,
        "break_glass": "",
    },
}


def get_setting(session: Session, key: str) -> dict[str, Any]:
    """The stored value, or the default from code (a deep copy: callers may change it freely)."""
    stored = session.get(Setting, key)
    return copy.deepcopy(stored.value if stored is not None else DEFAULTS[key])


def put_setting(session: Session, key: str, value: dict[str, Any], *, actor: Actor, now: datetime,
                shown: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
    """Store a new value with its audit record; nothing is written when nothing changed.

    `shown` is what the audit log may keep of a value (a secret masked); the whole value otherwise.
    """
    if key not in DEFAULTS:
        raise KeyError(key)
    before = get_setting(session, key)
    if before == value:
        return
    stored = session.get(Setting, key)
    if stored is None:
        session.add(Setting(key=key, value=value, updated_at=now))
    else:
        stored.value = value
        stored.updated_at = now
    record_audit(
        session, actor=actor, now=now, action="setting.changed", target_type="setting", target_id=key,
        before=shown(before) if shown else before, after=shown(value) if shown else value,
    )
    session.flush()
