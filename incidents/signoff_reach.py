"""A draft waiting for sign-off reaches the people who can approve it, and stays in sight until decided.

`announce_draft` runs in the draft's own transaction (incidents.comms.submit): one bell entry
for each duty manager on duty and for the incident's commander, each person once however many
of those roles they hold, tied to the draft's sign-off deadline so it stops counting once the
draft is decided; and an outbox message for every team channel that takes reminders.
`waiting_drafts` is what the board and the deadlines page list while drafts wait.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incidents import notify
from incidents.comms_models import DraftState, UpdateDraft
from incidents.models import Incident, Notification, OutboxMessage, User
from incidents.roster import everyone_on_duty
from incidents.scripts import NEXT_UPDATE_TOKEN

EVENT = "signoff.requested"
TITLES = {
    "zh": "【待签核】{reference}「{title}」：{author} 提交的公告等待值班主管批准，请在 {due} 前处理",
    "en": "[Sign-off] {reference} \"{title}\": an update by {author} waits for a duty manager's approval, due at {due}",
}
# How a draft's {next_update_at} reads before the draft goes out.
FILLED_ON_APPROVAL = {"zh": "（批准时填入）", "en": "(set on approval)"}
EXCERPT_MAX = 280


def approvers_to_tell(session: Session, incident: Incident, draft: UpdateDraft, now: datetime) -> list[User]:
    """The duty managers on duty (every duty manager when nobody is on the roster) and the
    incident's commander, each once; not the draft's author, who is waiting for them."""
    people = [*everyone_on_duty(session, now), *([incident.commander] if incident.commander else [])]
    return [person for person in notify.distinct_active(people) if person.id != draft.requested_by_id]


def draft_excerpt(draft: UpdateDraft, language: str) -> str:
    """The start of the draft's text in a language (Chinese when it has no English)."""
    english = language == "en" and bool(draft.body_en)
    text = (draft.body_en if english else draft.body).replace(
        NEXT_UPDATE_TOKEN, FILLED_ON_APPROVAL["en" if english else "zh"])
    return text if len(text) <= EXCERPT_MAX else text[:EXCERPT_MAX - 1] + "…"


def announce_draft(
    session: Session, *, incident: Incident, draft: UpdateDraft, now: datetime, zone: ZoneInfo,
    public_url: str = "",
) -> tuple[list[Notification], list[OutboxMessage]]:
    """Ring the approvers' bells and queue the draft to the team channels that take reminders."""
    due = draft.deadline.due_at.astimezone(zone).strftime("%H:%M") if draft.deadline else ""
    titles = {language: text.format(reference=incident.reference, title=incident.title,
                                    author=draft.requested_by_label, due=due)
              for language, text in TITLES.items()}
    rung = notify.notify_users(session, approvers_to_tell(session, incident, draft, now), kind="signoff",
                               incident=incident, texts=titles, now=now, deadline=draft.deadline,
                               bodies={language: draft_excerpt(draft, language) for language in TITLES})
    queued = notify.queue_channel_messages(
        session, notify.active_channels(session), wants="reminders", key=f"signoff:{draft.id}", incident=incident,
        text=titles["zh"], event=EVENT, now=now, public_url=public_url,
        payload={"incident": incident.reference, "draft": draft.id, "requested_by": draft.requested_by_label,
                 "due_at": draft.deadline.due_at.isoformat() if draft.deadline else None},
    )
    session.flush()
    return rung, queued


def waiting_drafts(session: Session) -> list[UpdateDraft]:
    """Every draft still waiting for sign-off, across incidents, the longest waiting first."""
    return list(session.scalars(
        sa.select(UpdateDraft)
        .options(selectinload(UpdateDraft.incident), selectinload(UpdateDraft.deadline))
        .where(UpdateDraft.state == DraftState.PENDING)
        .order_by(UpdateDraft.requested_at, UpdateDraft.id)
    ))
