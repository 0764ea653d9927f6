"""The settings behind the clock: playbooks, the duty roster, team channels, the business calendar, people."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask_babel import format_date

from console.i18n import select_locale
from console.views.settings import (
    calendar_pages, channel_pages, people_pages, playbook_pages, roster_pages, sso_pages,
)
from console.views.settings.common import may

blueprints = (playbook_pages.bp, roster_pages.bp, channel_pages.bp, calendar_pages.bp, people_pages.bp,
              sso_pages.bp)


def init_app(app: Flask) -> None:
    """Register the settings pages and what their templates (and the nav) need."""
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    @app.template_filter("weekday")
    def weekday(value: date) -> str:
        return format_date(value, "EEE")

    @app.context_processor
    def settings_context() -> dict:
        # Chinese sentences follow each other without a space; English ones need one.
        return {"may": may, "sentence_gap": "" if select_locale().startswith("zh") else " "}
