"""Human names for the six-step case, the review and the reports, in the user's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from console import clockface
from console.i18n import select_locale

STEP_LABELS = {
    "prejudge": _l("Prejudge"),
    "facts": _l("Establish the facts"),
    "responsibility": _l("Assign responsibility"),
    "plan": _l("Agree the plan"),
    "execute": _l("Communicate and execute"),
    "review": _l("Review"),
}
STEP_HINTS = {
    "prejudge": _l("What does the customer really want, beyond what they say?"),
    "facts": _l("Confirm with the customer, then check our own records. Note where the two disagree."),
    "responsibility": _l("Whose fault is it, on the facts? Give the reasons."),
    "plan": _l("Only once the facts are on record: what we do, how far we go, who does it, by when."),
    "execute": _l("Tell the customer, carry it out, and record that they confirmed."),
    "review": _l("What this case teaches us."),
}
CASE_FIELD_LABELS = {
    "real_want": _l("What the customer really wants"),
    "category": _l("Category"),
    "when": _l("When"),
    "where": _l("Where"),
    "who": _l("Who"),
    "why": _l("Why (as the customer tells it)"),
    "impact": _l("Impact on the customer"),
    "evidence": _l("Evidence"),
    "demand": _l("Demand"),
    "records": _l("What our records say"),
    "disagreements": _l("Disagreements"),
    "party": _l("Responsible party"),
    "reasons": _l("Reasons"),
    "action": _l("What we do"),
    "bottom_line": _l("Bottom line"),
    "executor": _l("Who executes"),
    "by_when": _l("By when"),
    "expected_effect": _l("Expected effect"),
    "communicated": _l("What we told the customer"),
    "customer_confirmed": _l("The customer confirmed"),
    "confirmation": _l("How they confirmed"),
    "lessons": _l("Lessons"),
}
FACT_GROUPS = {
    "customer": _l("With the customer"),
    "internal": _l("Internally"),
    "disagreements": _l("Where they disagree"),
}
CHOICE_LABELS = {
    "quality": _l("Product quality"),
    "logistics": _l("Logistics"),
    "service_attitude": _l("Service attitude"),
    "other": _l("Other"),
    "customer": _l("The customer"),
    "company": _l("Our company"),
    "third_party": _l("A third party"),
    "shared": _l("Shared"),
}
REVIEW_FIELD_LABELS = {
    "summary": _l("Summary"),
    "root_cause": _l("Root cause"),
    "contributing_factors": _l("Contributing factors"),
    "responsibility": _l("Responsibility"),
    "went_well": _l("What went well"),
    "went_badly": _l("What went badly"),
}
REVIEW_STATE_LABELS = {
    "draft": _l("Draft"),
    "completed": _l("Completed"),
    "waived": _l("Waived"),
}
ACTION_STATUS_LABELS = {
    "open": _l("Open"),
    "done": _l("Done"),
    "dropped": _l("Dropped"),
}
OUTCOME_LABELS = {
    "met_on_time": _l("Met on time"),
    "met_late": _l("Met late"),
    "missed": _l("Missed"),
    "waived": _l("Waived"),
    "pending": _l("Pending"),
}


def duration(seconds: int | None) -> str:
    """A figure's duration as the clock writes it elsewhere ("2小时05分"); a dash when unknown."""
    if seconds is None:
        return "—"
    return clockface.span(seconds, "zh" if select_locale().startswith("zh") else "en")


def share(value: float | None) -> str:
    """A share as a whole percentage; a dash when there was nothing to count."""
    return "—" if value is None else f"{round(value * 100)}%"


TEMPLATE_GLOBALS = {
    "STEP_LABELS": STEP_LABELS, "STEP_HINTS": STEP_HINTS, "CASE_FIELD_LABELS": CASE_FIELD_LABELS, "FACT_GROUPS": FACT_GROUPS,
    "CHOICE_LABELS": CHOICE_LABELS, "REVIEW_FIELD_LABELS": REVIEW_FIELD_LABELS,
    "REVIEW_STATE_LABELS": REVIEW_STATE_LABELS, "ACTION_STATUS_LABELS": ACTION_STATUS_LABELS,
    "OUTCOME_LABELS": OUTCOME_LABELS, "figure_time": duration, "share": share,
}
