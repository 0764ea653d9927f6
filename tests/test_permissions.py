"""The role matrix, route by route: every endpoint of the URL map, every role, and anonymous.

EXPECTED is written out here independently of console/permissions.py: a new route without
an entry fails `test_every_route_has_an_expectation`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import service
from incidents.actors import Actor
from incidents.models import Deadline, Role
from tests.conftest import FIXED_NOW, sign_in

EVERYONE = {"anonymous", *Role}
SIGNED_IN = set(Role)
OPENERS = {Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS, Role.AGENT}
COMMANDERS = {Role.ADMIN, Role.DUTY_MANAGER}
ADMINS = {Role.ADMIN}
PUBLISHERS = {Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS}
SPEAKERS = {Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS}
SCRIPT_EDITORS = {Role.ADMIN, Role.COMMS}  # the comms desk's script library

# endpoint: (method, path template, who may)
EXPECTED: dict[str, tuple[str, str, set]] = {
    "static": ("GET", "/static/css/console.css", EVERYONE),
    "health.healthz": ("GET", "/healthz", EVERYONE),
    "health.readyz": ("GET", "/readyz", EVERYONE),
    "metrics.scrape": ("GET", "/metrics", EVERYONE),  # from loopback without a token (tests/test_metrics.py)
    "auth.login": ("GET", "/login", EVERYONE),
    "auth.language": ("POST", "/language", EVERYONE),
    "sso.start": ("GET", "/sso/start", EVERYONE),
    "sso.callback": ("GET", "/sso/callback", EVERYONE),
    "sso_settings.show": ("GET", "/settings/sso", ADMINS),
    "sso_settings.save": ("POST", "/settings/sso", ADMINS),
    "sso_settings.link": ("POST", "/settings/sso/links", ADMINS),
    "sso_settings.unlink": ("POST", "/settings/sso/links/nobody/remove", ADMINS),
    "api.sso.get_config": ("GET", "/api/v1/sso", ADMINS),
    "api.sso.put_config": ("PUT", "/api/v1/sso", ADMINS),
    "api.sso.list_links": ("GET", "/api/v1/sso/links", ADMINS),
    "api.sso.put_link": ("PUT", "/api/v1/sso/links/nobody", ADMINS),
    "api.sso.delete_link": ("DELETE", "/api/v1/sso/links/nobody", ADMINS),
    "auth.logout": ("POST", "/logout", SIGNED_IN),
    "board.index": ("GET", "/", SIGNED_IN),
    "incidents.new": ("GET", "/incidents/new", OPENERS),
    "incidents.create": ("POST", "/incidents", OPENERS),
    "incidents.show": ("GET", "/incidents/{ref}", SIGNED_IN),
    "incidents.header": ("GET", "/incidents/{ref}/header", SIGNED_IN),
    "incidents.timeline": ("GET", "/incidents/{ref}/timeline", SIGNED_IN),
    "incidents.edit": ("POST", "/incidents/{ref}/edit", COMMANDERS),
    "incidents.transition": ("POST", "/incidents/{ref}/transitions", COMMANDERS),
    "incidents.acknowledge": ("POST", "/incidents/{ref}/acknowledge", COMMANDERS),
    "incidents.add_note": ("POST", "/incidents/{ref}/notes", OPENERS),
    "api.list_incidents": ("GET", "/api/v1/incidents", SIGNED_IN),
    "api.get_incident": ("GET", "/api/v1/incidents/{ref}", SIGNED_IN),
    "api.create_incident": ("POST", "/api/v1/incidents", OPENERS),
    "api.update_incident": ("PATCH", "/api/v1/incidents/{ref}", COMMANDERS),
    "api.transition_incident": ("POST", "/api/v1/incidents/{ref}/transitions", COMMANDERS),
    "api.acknowledge_incident": ("POST", "/api/v1/incidents/{ref}/acknowledge", COMMANDERS),
    "api.add_note": ("POST", "/api/v1/incidents/{ref}/notes", OPENERS),
    "api.list_users": ("GET", "/api/v1/users", SIGNED_IN),
    # People and access: one's own account for everyone; other people (a name nobody has) for admins.
    "account.page": ("GET", "/account", SIGNED_IN),
    "account.save_profile": ("POST", "/account", SIGNED_IN),
    "account.change_password": ("POST", "/account/password", SIGNED_IN),
    "people.index": ("GET", "/settings/people", ADMINS),
    "people.change_role": ("POST", "/settings/people/nobody/role", ADMINS),
    "people.deactivate": ("POST", "/settings/people/nobody/deactivate", ADMINS),
    "people.activate": ("POST", "/settings/people/nobody/activate", ADMINS),
    "people.temporary_password": ("POST", "/settings/people/nobody/password", ADMINS),
    "people.unlock": ("POST", "/settings/people/nobody/unlock", ADMINS),
    "api.get_user": ("GET", "/api/v1/users/nobody", ADMINS),
    "api.update_user": ("PATCH", "/api/v1/users/nobody", ADMINS),
    "api.set_user_password": ("POST", "/api/v1/users/nobody/password", ADMINS),
    "api.unlock_user": ("POST", "/api/v1/users/nobody/unlock", ADMINS),
    # Inbound signals: alert hooks, complaint intake, surge rules, hook mappings (issue 5).
    "hooks.alertmanager": ("POST", "/hooks/alertmanager", OPENERS),
    "hooks.grafana": ("POST", "/hooks/grafana", OPENERS),
    "hooks.generic": ("POST", "/hooks/generic", OPENERS),
    "intake.complaints_page": ("GET", "/complaints", SIGNED_IN),
    "intake.settings": ("GET", "/settings/intake", ADMINS),
    "intake.save_hooks": ("POST", "/settings/intake/hooks", ADMINS),
    "intake.create_rule": ("POST", "/settings/intake/rules", ADMINS),
    "intake.update_rule": ("POST", "/settings/intake/rules/999", ADMINS),
    "intake.delete_rule": ("POST", "/settings/intake/rules/999/delete", ADMINS),
    "api.create_complaint": ("POST", "/api/v1/complaints", OPENERS),
    "api.list_complaints": ("GET", "/api/v1/complaints", SIGNED_IN),
    "api.list_complaint_rules": ("GET", "/api/v1/complaint-rules", ADMINS),
    "api.create_complaint_rule": ("POST", "/api/v1/complaint-rules", ADMINS),
    "api.update_complaint_rule": ("PATCH", "/api/v1/complaint-rules/999", ADMINS),
    "api.delete_complaint_rule": ("DELETE", "/api/v1/complaint-rules/999", ADMINS),
    "api.get_hook_settings": ("GET", "/api/v1/hook-settings", ADMINS),
    "api.put_hook_settings": ("PUT", "/api/v1/hook-settings", ADMINS),
    # The clock on screen (issue 3).
    "incidents.clock": ("GET", "/incidents/{ref}/clock", SIGNED_IN),
    "incidents.checklist_panel": ("GET", "/incidents/{ref}/checklist", SIGNED_IN),
    "incidents.tick_step": ("POST", "/incidents/{ref}/checklist/agent_script", OPENERS),
    "incidents.deadline_form": ("GET", "/incidents/{ref}/deadlines/{deadline}", COMMANDERS),
    "incidents.mark_met": ("POST", "/incidents/{ref}/deadlines/{deadline}/met", COMMANDERS),
    "incidents.waive": ("POST", "/incidents/{ref}/deadlines/{deadline}/waive", COMMANDERS),
    "incidents.pause_form": ("GET", "/incidents/{ref}/clock/pause", COMMANDERS),
    "incidents.pause_clock": ("POST", "/incidents/{ref}/clock/pause", COMMANDERS),
    "incidents.resume_clock": ("POST", "/incidents/{ref}/clock/resume", COMMANDERS),
    "incidents.publish_update": ("POST", "/incidents/{ref}/updates", PUBLISHERS),
    "deadlines.index": ("GET", "/deadlines", SIGNED_IN),
    "notifications.index": ("GET", "/notifications", SIGNED_IN),
    "notifications.bell": ("GET", "/notifications/bell", SIGNED_IN),
    "notifications.mark_read": ("POST", "/notifications/999/read", SIGNED_IN),
    "notifications.mark_all_read": ("POST", "/notifications/read-all", SIGNED_IN),
    "notifications.snooze": ("POST", "/notifications/999/snooze", SIGNED_IN),
    "api.list_deadlines": ("GET", "/api/v1/deadlines?mine=1", SIGNED_IN),
    "api.incident_deadlines": ("GET", "/api/v1/incidents/{ref}/deadlines", SIGNED_IN),
    "api.mark_deadline_met": ("POST", "/api/v1/incidents/{ref}/deadlines/{deadline}/met", COMMANDERS),
    "api.waive_deadline": ("POST", "/api/v1/incidents/{ref}/deadlines/{deadline}/waive", COMMANDERS),
    "api.pause_clock": ("POST", "/api/v1/incidents/{ref}/clock/pause", COMMANDERS),
    "api.resume_clock": ("POST", "/api/v1/incidents/{ref}/clock/resume", COMMANDERS),
    "api.get_checklist": ("GET", "/api/v1/incidents/{ref}/checklist", SIGNED_IN),
    "api.tick_step": ("POST", "/api/v1/incidents/{ref}/checklist/agent_script", OPENERS),
    "api.publish_update": ("POST", "/api/v1/incidents/{ref}/updates", PUBLISHERS),
    "api.list_notifications": ("GET", "/api/v1/notifications", SIGNED_IN),
    "api.read_notification": ("POST", "/api/v1/notifications/999/read", SIGNED_IN),
    "api.read_all_notifications": ("POST", "/api/v1/notifications/read-all", SIGNED_IN),
    "api.snooze_notification": ("POST", "/api/v1/notifications/999/snooze", SIGNED_IN),
    # Feed monitors (issue 5)
    "monitors.inbox": ("GET", "/monitors/mentions", SIGNED_IN),
    "monitors.dismiss": ("POST", "/monitors/mentions/{mention}/dismiss", OPENERS),
    "monitors.attach": ("POST", "/monitors/mentions/{mention}/attach", OPENERS),
    "monitors.raise_incident": ("POST", "/monitors/mentions/{mention}/raise", OPENERS),
    "monitors.incident_mentions": ("GET", "/monitors/incidents/{ref}/mentions", SIGNED_IN),
    "monitor_config.source_list": ("GET", "/monitors/sources", SIGNED_IN),
    "monitor_config.source_create": ("POST", "/monitors/sources", COMMANDERS),
    "monitor_config.source_edit": ("GET", "/monitors/sources/{source}", COMMANDERS),
    "monitor_config.source_update": ("POST", "/monitors/sources/{source}", COMMANDERS),
    "monitor_config.source_poll": ("POST", "/monitors/sources/{source}/poll", COMMANDERS),
    "monitor_config.source_delete": ("POST", "/monitors/sources/{source}/delete", COMMANDERS),
    "monitor_config.rule_list": ("GET", "/monitors/rules", SIGNED_IN),
    "monitor_config.rule_create": ("POST", "/monitors/rules", COMMANDERS),
    "monitor_config.rule_edit": ("GET", "/monitors/rules/{rule}", COMMANDERS),
    "monitor_config.rule_update": ("POST", "/monitors/rules/{rule}", COMMANDERS),
    "monitor_config.rule_delete": ("POST", "/monitors/rules/{rule}/delete", COMMANDERS),
    "api.monitors.list_sources": ("GET", "/api/v1/sources", SIGNED_IN),
    "api.monitors.create_source": ("POST", "/api/v1/sources", COMMANDERS),
    "api.monitors.get_source": ("GET", "/api/v1/sources/{source}", SIGNED_IN),
    "api.monitors.update_source": ("PATCH", "/api/v1/sources/{source}", COMMANDERS),
    "api.monitors.poll_source": ("POST", "/api/v1/sources/{source}/poll", COMMANDERS),
    "api.monitors.delete_source": ("DELETE", "/api/v1/sources/{source}", COMMANDERS),
    "api.monitors.list_rules": ("GET", "/api/v1/rules", SIGNED_IN),
    "api.monitors.create_rule": ("POST", "/api/v1/rules", COMMANDERS),
    "api.monitors.get_rule": ("GET", "/api/v1/rules/{rule}", SIGNED_IN),
    "api.monitors.update_rule": ("PATCH", "/api/v1/rules/{rule}", COMMANDERS),
    "api.monitors.delete_rule": ("DELETE", "/api/v1/rules/{rule}", COMMANDERS),
    "api.monitors.list_mentions": ("GET", "/api/v1/mentions", SIGNED_IN),
    "api.monitors.get_mention": ("GET", "/api/v1/mentions/{mention}", SIGNED_IN),
    "api.monitors.dismiss_mention": ("POST", "/api/v1/mentions/{mention}/dismiss", OPENERS),
    "api.monitors.attach_mention": ("POST", "/api/v1/mentions/{mention}/attach", OPENERS),
    "api.monitors.raise_mention": ("POST", "/api/v1/mentions/{mention}/raise", OPENERS),
    "api.monitors.incident_mentions": ("GET", "/api/v1/incidents/{ref}/mentions", SIGNED_IN),
    # --- status page area (issue 4, public side); ids that do not exist answer 404 to the allowed ---
    "status.index": ("GET", "/status", EVERYONE),
    "status.past": ("GET", "/status/history", EVERYONE),
    "status.incident": ("GET", "/status/incidents/{ref}", EVERYONE),
    "status_feeds.history_atom": ("GET", "/history.atom", EVERYONE),
    "status_feeds.history_rss": ("GET", "/history.rss", EVERYONE),
    "status_feeds.incident_atom": ("GET", "/status/incidents/{ref}.atom", EVERYONE),
    "statuspage_v2.summary": ("GET", "/api/v2/summary.json", EVERYONE),
    "statuspage_v2.status": ("GET", "/api/v2/status.json", EVERYONE),
    "statuspage_v2.components": ("GET", "/api/v2/components.json", EVERYONE),
    "statuspage_v2.incidents": ("GET", "/api/v2/incidents.json", EVERYONE),
    "statuspage_v2.unresolved": ("GET", "/api/v2/incidents/unresolved.json", EVERYONE),
    "statuspage_v2.maintenances": ("GET", "/api/v2/scheduled-maintenances.json", EVERYONE),
    "statuspage_v2.upcoming": ("GET", "/api/v2/scheduled-maintenances/upcoming.json", EVERYONE),
    "statuspage_v2.active": ("GET", "/api/v2/scheduled-maintenances/active.json", EVERYONE),
    "status_admin.components": ("GET", "/admin/components", ADMINS),
    "status_admin.create_component": ("POST", "/admin/components", ADMINS),
    "status_admin.edit_component": ("GET", "/admin/components/999999", ADMINS),
    "status_admin.create_group": ("POST", "/admin/component-groups", ADMINS),
    "status_admin.edit_group": ("POST", "/admin/component-groups/999999", ADMINS),
    "status_admin.maintenance_list": ("GET", "/maintenance", SPEAKERS),
    "status_admin.create_maintenance": ("POST", "/maintenance", SPEAKERS),
    "status_admin.maintenance_show": ("GET", "/maintenance/999999", SPEAKERS),
    "status_admin.maintenance_edit": ("POST", "/maintenance/999999/edit", SPEAKERS),
    "status_admin.maintenance_update": ("POST", "/maintenance/999999/updates", SPEAKERS),
    "status_admin.maintenance_cancel": ("POST", "/maintenance/999999/cancel", SPEAKERS),
    "status_admin.incident_public": ("GET", "/incidents/{ref}/public", SPEAKERS),
    "api.list_components": ("GET", "/api/v1/components", SIGNED_IN),
    "api.create_component": ("POST", "/api/v1/components", ADMINS),
    "api.update_component": ("PATCH", "/api/v1/components/999999", ADMINS),
    "api.list_component_groups": ("GET", "/api/v1/component-groups", SIGNED_IN),
    "api.create_component_group": ("POST", "/api/v1/component-groups", ADMINS),
    "api.update_component_group": ("PATCH", "/api/v1/component-groups/999999", ADMINS),
    "api.list_maintenance": ("GET", "/api/v1/maintenance", SIGNED_IN),
    "api.create_maintenance": ("POST", "/api/v1/maintenance", SPEAKERS),
    "api.get_maintenance": ("GET", "/api/v1/maintenance/999999", SIGNED_IN),
    "api.update_maintenance": ("PATCH", "/api/v1/maintenance/999999", SPEAKERS),
    "api.post_maintenance_update": ("POST", "/api/v1/maintenance/999999/updates", SPEAKERS),
    "api.cancel_maintenance": ("POST", "/api/v1/maintenance/999999/cancel", SPEAKERS),
    "api.set_incident_public": ("PUT", "/api/v1/incidents/{ref}/public", SPEAKERS),
    # --- subscribers (issue 4) ---
    "subscribe.form": ("GET", "/status/subscribe", EVERYONE),
    "subscribe.subscribe": ("POST", "/status/subscribe", EVERYONE),
    "subscribe.confirm": ("GET", "/status/subscribe/confirm/no-such-token", EVERYONE),
    "subscribe.unsubscribe": ("GET", "/status/unsubscribe/no-such-token", EVERYONE),
    "subscriber_admin.index": ("GET", "/admin/subscribers", ADMINS),
    "subscriber_admin.create": ("POST", "/admin/subscribers", ADMINS),
    "subscriber_admin.show": ("GET", "/admin/subscribers/999999", ADMINS),
    "subscriber_admin.pause": ("POST", "/admin/subscribers/999999/pause", ADMINS),
    "subscriber_admin.resume": ("POST", "/admin/subscribers/999999/resume", ADMINS),
    "subscriber_admin.delete": ("POST", "/admin/subscribers/999999/delete", ADMINS),
    "api.list_subscribers": ("GET", "/api/v1/subscribers", ADMINS),
    "api.create_subscriber": ("POST", "/api/v1/subscribers", ADMINS),
    "api.get_subscriber": ("GET", "/api/v1/subscribers/999999", ADMINS),
    "api.pause_subscriber": ("POST", "/api/v1/subscribers/999999/pause", ADMINS),
    "api.resume_subscriber": ("POST", "/api/v1/subscribers/999999/resume", ADMINS),
    "api.delete_subscriber": ("DELETE", "/api/v1/subscribers/999999", ADMINS),
    # Settings behind the clock (issue 3): playbooks, duty roster, team channels, business calendar.
    "playbooks.index": ("GET", "/settings/playbooks", COMMANDERS),
    "playbooks.show": ("GET", "/settings/playbooks/outage", COMMANDERS),
    "playbooks.save": ("POST", "/settings/playbooks/outage", ADMINS),
    "roster.show": ("GET", "/roster", SIGNED_IN),
    "roster.add": ("POST", "/roster/shifts", COMMANDERS),
    "roster.take_duty": ("POST", "/roster/on-duty", COMMANDERS),
    "roster.remove": ("POST", "/roster/shifts/999/delete", COMMANDERS),
    "channels.index": ("GET", "/settings/channels", ADMINS),
    "channels.new": ("GET", "/settings/channels/new?kind=wecom", ADMINS),
    "channels.create": ("POST", "/settings/channels", ADMINS),
    "channels.edit": ("GET", "/settings/channels/999/edit", ADMINS),
    "channels.update": ("POST", "/settings/channels/999", ADMINS),
    "channels.switch": ("POST", "/settings/channels/999/switch", ADMINS),
    "channels.send_test": ("POST", "/settings/channels/999/test", ADMINS),
    "channels.delete": ("POST", "/settings/channels/999/delete", ADMINS),
    "calendar.show": ("GET", "/settings/calendar", ADMINS),
    "calendar.save_hours": ("POST", "/settings/calendar/hours", ADMINS),
    "calendar.add_day": ("POST", "/settings/calendar/days", ADMINS),
    "calendar.remove_day": ("POST", "/settings/calendar/days/2026-10-01/delete", ADMINS),
    "api.settings.list_playbooks": ("GET", "/api/v1/playbooks", COMMANDERS),
    "api.settings.get_playbook": ("GET", "/api/v1/playbooks/outage", COMMANDERS),
    "api.settings.change_playbook": ("PATCH", "/api/v1/playbooks/outage", ADMINS),
    "api.settings.list_shifts": ("GET", "/api/v1/roster/shifts", SIGNED_IN),
    "api.settings.add_shift": ("POST", "/api/v1/roster/shifts", COMMANDERS),
    "api.settings.remove_shift": ("DELETE", "/api/v1/roster/shifts/999", COMMANDERS),
    "api.settings.on_duty": ("GET", "/api/v1/roster/on-duty", SIGNED_IN),
    "api.settings.list_channels": ("GET", "/api/v1/channels", ADMINS),
    "api.settings.get_channel": ("GET", "/api/v1/channels/999", ADMINS),
    "api.settings.create_channel": ("POST", "/api/v1/channels", ADMINS),
    "api.settings.update_channel": ("PATCH", "/api/v1/channels/999", ADMINS),
    "api.settings.delete_channel": ("DELETE", "/api/v1/channels/999", ADMINS),
    "api.settings.test_channel": ("POST", "/api/v1/channels/999/test", ADMINS),
    "api.settings.get_business_hours": ("GET", "/api/v1/business-hours", ADMINS),
    "api.settings.put_business_hours": ("PUT", "/api/v1/business-hours", ADMINS),
    "api.settings.list_calendar_days": ("GET", "/api/v1/calendar/days", ADMINS),
    "api.settings.set_calendar_day": ("POST", "/api/v1/calendar/days", ADMINS),
    "api.settings.remove_calendar_day": ("DELETE", "/api/v1/calendar/days/2026-10-01", ADMINS),
    "api.settings.calendar_preview": ("GET", "/api/v1/calendar/preview", ADMINS),
    # --- the aftermath (issue 6): six-step case, review (复盘), action items, reports ---
    "review.case": ("GET", "/incidents/{ref}/case", SIGNED_IN),
    "review.record_step": ("POST", "/incidents/{ref}/case/facts", OPENERS),
    "review.review_page": ("GET", "/incidents/{ref}/review", SIGNED_IN),
    "review.review_markdown": ("GET", "/incidents/{ref}/review.md", SIGNED_IN),
    "review.save_review": ("POST", "/incidents/{ref}/review", SPEAKERS),
    "review.complete_review": ("POST", "/incidents/{ref}/review/complete", COMMANDERS),
    "review.waive_review": ("POST", "/incidents/{ref}/review/waive", ADMINS),
    "review.add_action_item": ("POST", "/incidents/{ref}/review/actions", SPEAKERS),
    "review.settle_action_item": ("POST", "/incidents/{ref}/review/actions/999999", OPENERS),
    "reports.index": ("GET", "/reports", SIGNED_IN),
    "reports.export": ("GET", "/reports/incidents.csv", SIGNED_IN),
    "api.get_case": ("GET", "/api/v1/incidents/{ref}/case", SIGNED_IN),
    "api.case_step_history": ("GET", "/api/v1/incidents/{ref}/case/facts", SIGNED_IN),
    "api.record_case_step": ("POST", "/api/v1/incidents/{ref}/case/facts", OPENERS),
    "api.get_review": ("GET", "/api/v1/incidents/{ref}/review", SIGNED_IN),
    "api.save_review": ("PATCH", "/api/v1/incidents/{ref}/review", SPEAKERS),
    "api.complete_review": ("POST", "/api/v1/incidents/{ref}/review/complete", COMMANDERS),
    "api.waive_review": ("POST", "/api/v1/incidents/{ref}/review/waive", ADMINS),
    "api.add_action_item": ("POST", "/api/v1/incidents/{ref}/review/actions", SPEAKERS),
    "api.settle_action_item": ("POST", "/api/v1/incidents/{ref}/review/actions/999999", OPENERS),
    "api.get_report": ("GET", "/api/v1/reports", SIGNED_IN),
    "api.export_report": ("GET", "/api/v1/reports/incidents.csv", SIGNED_IN),
    # --- affected customers and outreach (issue 6); ids that do not exist answer 404 to the allowed ---
    "outreach.panel": ("GET", "/incidents/{ref}/outreach", SIGNED_IN),
    "outreach.contact_form": ("GET", "/incidents/{ref}/contacts/new", COMMANDERS),
    "outreach.add_contact": ("POST", "/incidents/{ref}/contacts", COMMANDERS),
    "outreach.paste_contacts": ("POST", "/incidents/{ref}/contacts/paste", COMMANDERS),
    "outreach.import_contacts": ("POST", "/incidents/{ref}/contacts/import", COMMANDERS),
    "outreach.contact": ("GET", "/incidents/{ref}/contacts/999999", SIGNED_IN),
    "outreach.edit_form": ("GET", "/incidents/{ref}/contacts/999999/edit", COMMANDERS),
    "outreach.edit_contact": ("POST", "/incidents/{ref}/contacts/999999/edit", COMMANDERS),
    "outreach.remove_contact": ("POST", "/incidents/{ref}/contacts/999999/remove", COMMANDERS),
    "outreach.log_attempt": ("POST", "/incidents/{ref}/contacts/999999/attempts", OPENERS),
    "outreach.advance_compensation": ("POST", "/incidents/{ref}/compensation/999999", OPENERS),
    "outreach.ledger": ("GET", "/compensation", SIGNED_IN),
    "api.list_contacts": ("GET", "/api/v1/incidents/{ref}/contacts", SIGNED_IN),
    "api.create_contact": ("POST", "/api/v1/incidents/{ref}/contacts", COMMANDERS),
    "api.import_contacts": ("POST", "/api/v1/incidents/{ref}/contacts/import", COMMANDERS),
    "api.edit_contact": ("PATCH", "/api/v1/incidents/{ref}/contacts/999999", COMMANDERS),
    "api.remove_contact": ("DELETE", "/api/v1/incidents/{ref}/contacts/999999", COMMANDERS),
    "api.get_contact": ("GET", "/api/v1/incidents/{ref}/contacts/999999", SIGNED_IN),
    "api.log_attempt": ("POST", "/api/v1/incidents/{ref}/contacts/999999/attempts", OPENERS),
    "api.incident_compensation": ("GET", "/api/v1/incidents/{ref}/compensation", SIGNED_IN),
    "api.advance_compensation": ("POST", "/api/v1/incidents/{ref}/compensation/999999", OPENERS),
    "api.compensation_ledger": ("GET", "/api/v1/compensation", SIGNED_IN),
    # --- comms desk (issue 4, writing an update); drafts that do not exist answer 404 to the allowed ---
    "comms.library": ("GET", "/scripts", SIGNED_IN),
    "comms.script": ("GET", "/scripts/outage/progress", SIGNED_IN),
    "comms.save_script": ("POST", "/scripts/outage/progress", SCRIPT_EDITORS),
    "comms.settings": ("GET", "/scripts/settings", ADMINS),
    "comms.save_settings": ("POST", "/scripts/settings", ADMINS),
    "comms.my_talking_points": ("GET", "/talking-points", SIGNED_IN),
    "incidents.composer": ("GET", "/incidents/{ref}/composer?pick=outage.progress", PUBLISHERS),
    "incidents.composer_preview": ("GET", "/incidents/{ref}/composer/preview", PUBLISHERS),
    "incidents.signoff_panel": ("GET", "/incidents/{ref}/signoff", SIGNED_IN),
    "incidents.approve_draft": ("POST", "/incidents/{ref}/drafts/999999/approve", COMMANDERS),
    "incidents.reject_draft": ("POST", "/incidents/{ref}/drafts/999999/reject", COMMANDERS),
    "incidents.talking_points_panel": ("GET", "/incidents/{ref}/talking-points", SIGNED_IN),
    "incidents.save_talking_points": ("POST", "/incidents/{ref}/talking-points", PUBLISHERS),
    "incidents.confirm_talking_points": ("POST", "/incidents/{ref}/talking-points/confirm", OPENERS),
    "api.list_scripts": ("GET", "/api/v1/scripts", SIGNED_IN),
    "api.get_script": ("GET", "/api/v1/scripts/outage/progress", SIGNED_IN),
    "api.save_script": ("PUT", "/api/v1/scripts/outage/progress", SCRIPT_EDITORS),
    "api.get_comms_settings": ("GET", "/api/v1/comms/settings", ADMINS),
    "api.put_comms_settings": ("PUT", "/api/v1/comms/settings", ADMINS),
    "api.preview_update": ("POST", "/api/v1/incidents/{ref}/updates/preview", PUBLISHERS),
    "api.list_drafts": ("GET", "/api/v1/incidents/{ref}/drafts", SIGNED_IN),
    "api.approve_draft": ("POST", "/api/v1/incidents/{ref}/drafts/999999/approve", COMMANDERS),
    "api.reject_draft": ("POST", "/api/v1/incidents/{ref}/drafts/999999/reject", COMMANDERS),
    "api.get_talking_points": ("GET", "/api/v1/incidents/{ref}/talking-points", SIGNED_IN),
    "api.publish_talking_points": ("POST", "/api/v1/incidents/{ref}/talking-points", PUBLISHERS),
    "api.confirm_talking_points": ("POST", "/api/v1/incidents/{ref}/talking-points/confirm", OPENERS),
    "api.my_talking_points": ("GET", "/api/v1/talking-points", SIGNED_IN),
    # The audit log (issue 7): admins only, page and API alike.
    "audit.index": ("GET", "/admin/audit", ADMINS),
    "audit.export": ("GET", "/admin/audit/export", ADMINS),
    "api.list_audit": ("GET", "/api/v1/audit", ADMINS),
    "api.export_audit": ("GET", "/api/v1/audit/export", ADMINS),
}


def test_every_route_has_an_expectation(app) -> None:  # noqa: ANN001
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(EXPECTED) == set(), "add the new route to EXPECTED"
    assert set(EXPECTED) - endpoints == set(), "EXPECTED names a route that no longer exists"


def _token_area(endpoint: str) -> bool:
    return endpoint.startswith(("api.", "hooks."))


def _denied(endpoint: str, response, who) -> bool:  # noqa: ANN001
    if _token_area(endpoint):
        return response.status_code == (401 if who == "anonymous" else 403)
    if who == "anonymous":
        return response.status_code == 302 and "/login" in response.headers["Location"]
    return response.status_code == 403


@pytest.mark.parametrize("who", ["anonymous", *Role])
def test_role_matrix(app, client, make_user, make_token, who) -> None:  # noqa: ANN001
    ref, deadline = _incident(app)
    ids = _monitor_ids(app)
    headers = {}
    if who != "anonymous":
        user = make_user(who)
        sign_in(client, user)
        # Bound to the person: notifications and "mine" are a person's own.
        headers = make_token(who, user_id=user.id)
    for endpoint, (method, template, allowed) in EXPECTED.items():
        if endpoint == "auth.logout":
            continue  # checked last: it ends the session
        path = template.format(ref=ref, deadline=deadline, **ids)
        response = client.open(path, method=method, headers=headers if _token_area(endpoint) else {},
                               json={} if _token_area(endpoint) and method != "GET" else None)
        if who in allowed:
            assert not _denied(endpoint, response, who), f"{who} should reach {endpoint}"
            assert response.status_code < 500, f"{endpoint}: {response.status_code}"
        else:
            assert _denied(endpoint, response, who), f"{who} should not reach {endpoint} ({response.status_code})"
        response.close()
    response = client.post("/logout")
    assert _denied("auth.logout", response, who) == (who == "anonymous")


def _incident(app) -> tuple[str, int]:  # noqa: ANN001
    """An outage (reference) and its first deadline (id)."""
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.open_incident(session, kind="outage", severity="P2", title="matrix",
                                         actor=Actor.system("test"), now=FIXED_NOW, zone=ZoneInfo("UTC"))
        session.commit()
        deadline = session.scalar(sa.select(Deadline.id).where(Deadline.incident_id == incident.id))
        return incident.reference, deadline


def _monitor_ids(app) -> dict[str, int]:  # noqa: ANN001
    """A source, a rule and a mention for the monitors' routes."""
    from incidents.monitor_models import Mention, MentionState
    from monitors import rulebook, sources

    with app.extensions["db_sessionmaker"]() as session:
        actor = Actor.system("test")
        source = sources.create_source(session, {"name": "matrix", "url": "http://feeds.example.invalid/rss"},
                                       allowed_networks=(), actor=actor, now=FIXED_NOW)
        rule = rulebook.create_rule(session, {"name": "matrix", "brand": "矩阵"}, actor=actor, now=FIXED_NOW)
        mention = Mention(source_id=source.id, source_name=source.name, key_hash="0" * 64, identity="m1",
                          title="矩阵", text="", state=MentionState.NEW, created_at=FIXED_NOW, updated_at=FIXED_NOW)
        session.add(mention)
        session.commit()
        return {"source": source.id, "rule": rule.id, "mention": mention.id}
