"""Names of the public side's values in the reader's language (status page and admin screens)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from incidents.public_models import ComponentStatus, MaintenanceStatus

COMPONENT_STATUS_LABELS = {
    ComponentStatus.OPERATIONAL: _l("Operational"),
    ComponentStatus.DEGRADED_PERFORMANCE: _l("Degraded performance"),
    ComponentStatus.PARTIAL_OUTAGE: _l("Partial outage"),
    ComponentStatus.MAJOR_OUTAGE: _l("Major outage"),
    ComponentStatus.UNDER_MAINTENANCE: _l("Under maintenance"),
}
MAINTENANCE_STATUS_LABELS = {
    MaintenanceStatus.SCHEDULED: _l("Scheduled"),
    MaintenanceStatus.IN_PROGRESS: _l("In progress"),
    MaintenanceStatus.VERIFYING: _l("Verifying"),
    MaintenanceStatus.COMPLETED: _l("Completed"),
}
# The page's one line, by Statuspage indicator (plus maintenance when nothing is wrong).
OVERALL_LABELS = {
    "none": _l("All services are operating normally"),
    "minor": _l("Some services are running slowly"),
    "major": _l("Some services are partly unavailable"),
    "critical": _l("Major service outage"),
    "maintenance": _l("Scheduled maintenance in progress"),
}
IMPACT_LABELS = {
    "none": _l("No impact"),
    "minor": _l("Minor impact"),
    "major": _l("Major impact"),
    "critical": _l("Critical impact"),
}


def init_app(app: Flask) -> None:
    """Expose the public label tables to every template."""

    @app.context_processor
    def public_labels() -> dict:
        return {
            "COMPONENT_STATUS_LABELS": COMPONENT_STATUS_LABELS,
            "MAINTENANCE_STATUS_LABELS": MAINTENANCE_STATUS_LABELS,
            "OVERALL_LABELS": OVERALL_LABELS,
            "IMPACT_LABELS": IMPACT_LABELS,
        }
