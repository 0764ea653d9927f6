"""The crisis console: the Flask application factory."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_htmx import HTMX
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from console import config as console_config
from console import (
    db, errors, i18n, labels, logs, metrics, notices, observe, permissions, proxying, public_cache, public_labels,
)
from console.auth_tokens import authenticate_api_request
from console.typed_text import FORM_TYPES, STATE_CHANGING
from console.views import caching
from incidents.actors import Actor
from incidents.netguard import IPNetwork
from incidents.models import User

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

csrf = CSRFProtect()
htmx = HTMX()
login_manager = LoginManager()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the console. `test_config` overrides the environment (tests, the CLI)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(console_config.from_environment(Path(app.instance_path)))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]

    engine = app.config.get("ENGINE") or db.make_engine(app.config["DATABASE_URL"])
    db.init_app(app, engine)
    i18n.init_app(app)
    notices.init_app(app)
    labels.init_app(app)
    public_labels.init_app(app)
    public_cache.init_app(app)
    caching.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    _init_login(app)

    from console.views import api, api_intake, auth, board, health, hooks, incident_pages, intake_pages  # noqa: F401
    # The clock on screen (issue 3): these add routes to the incidents and api blueprints.
    from console.views import api_clock, deadlines, incident_clock, notifications  # noqa: F401
    # Feed monitors (issue 5).
    from console.views import api_monitors, monitor_config, monitor_pages
    # The status page's area: the API twins attach to api.bp, so import them before registering it.
    from console.views import api_status, status_admin, status_feeds, status_public, statuspage_api  # noqa: F401
    # Subscribers (issue 4): the public form and links, the admin page and its API twins.
    from console.views import api_subscribers, status_subscribe, subscriber_admin  # noqa: F401
    # Settings behind the clock (issue 3).
    from console.views import api_settings, settings
    # The aftermath (issue 6): the six-step case, the review (复盘), reports; the API twins join api.bp.
    from console.views import api_review, report_pages, review_pages  # noqa: F401
    # Affected customers and outreach (issue 6): the API twins attach to api.bp.
    from console.views import api_outreach, outreach_pages  # noqa: F401
    # The comms desk (issue 4, writing an update): composer and talking points join incidents.bp
    # and api.bp, so import them before registering those.
    from console.views import api_comms, comms_pages, incident_comms  # noqa: F401
    # Status changes through the API: resolving publishes the resolved notice (joins api.bp).
    from console.views import api_transitions  # noqa: F401
    # The audit log (issue 7): the admins' page and export; the API twin joins api.bp.
    from console.views import api_audit, audit_pages  # noqa: F401
    # People and access: a person's own account, and the admins' API over people.
    from console.views import account_pages, api_people  # noqa: F401
    # Single sign-on (OpenID Connect): the flow, and its settings' API twin joins api.bp.
    from console.views import api_sso, sso  # noqa: F401

    for blueprint in (health.bp, auth.bp, board.bp, incident_pages.bp, api.bp, hooks.bp, intake_pages.bp,
                      deadlines.bp, notifications.bp, monitor_pages.bp, monitor_config.bp,
                      status_public.bp, status_feeds.bp, statuspage_api.bp, status_admin.bp,
                      review_pages.bp, report_pages.bp, status_subscribe.bp, subscriber_admin.bp,
                      outreach_pages.bp, comms_pages.bp, audit_pages.bp, account_pages.bp, sso.bp):
        app.register_blueprint(blueprint)
    settings.init_app(app)
    csrf.exempt(api.bp)
    csrf.exempt(hooks.bp)
    csrf.exempt(api_monitors.bp)
    # Mail clients' one-click unsubscribe (RFC 8058) POSTs without a form; the token is the proof.
    csrf.exempt(status_subscribe.unsubscribe)
    # The confirmation page's button: the same proof, and it only starts a subscription asked for.
    csrf.exempt(status_subscribe.confirm)
    csrf.exempt(api_settings.bp)
    csrf.exempt(api_sso.bp)
    errors.init_app(app)
    metrics.init_app(app)  # /metrics (issue 7)

    unmapped = permissions.missing_endpoints({rule.endpoint for rule in app.url_map.iter_rules()})
    if unmapped:
        raise RuntimeError(f"endpoints missing from the role matrix: {sorted(unmapped)}")
    app.before_request(_assign_request_id)
    app.before_request(_enforce_permissions)
    app.before_request(_refuse_unstorable_form_text)
    app.after_request(_security_headers)
    # Running it for a team (issue 7): a WSGI layer times and logs every request (the front
    # cache's answers too); log lines as CRISIS_LOG_FORMAT says.
    observe.init_app(app)
    if app.config.get("LOG_FORMAT"):
        logs.configure(app.config["LOG_FORMAT"], app.config.get("LOG_LEVEL", "INFO"))
    # Outermost, so the log and /metrics see the client behind a trusted proxy: X-Forwarded-*
    # from trusted proxies only, Secure cookies over https.
    proxying.init_app(app)
    return app


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The person of a session or remember-me cookie ("id:epoch"), while active and while
        the epoch is theirs: signing out, a new password or deactivation raises it, so every
        older session and copied cookie is refused."""
        user_id, _, epoch = session_id.partition(":")
        if not (user_id.isdigit() and epoch.isdigit()):
            return None
        user = db.get_session().get(User, int(user_id))
        return user if user and user.active and user.session_epoch == int(epoch) else None


def current_actor() -> Actor:
    """Who is acting in this request, for the timeline and the audit log."""
    return g.actor


def allowed_networks() -> list[IPNetwork]:
    """The private networks this request's outbound URLs may point into (CRISIS_ALLOWED_NETWORKS)."""
    return console_config.allowed_networks(current_app.config)


# All a person with a temporary password may reach until they choose their own.
WHILE_PASSWORD_TEMPORARY = frozenset({"static", "account.page", "account.change_password", "auth.logout",
                                      "auth.language", "auth.login"})


def _send_to_account() -> Any:
    """Everything waits until a temporary password is replaced: htmx follows HX-Redirect."""
    target = url_for("account.page")
    if request.headers.get("HX-Request"):
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)


# Areas answered to scripts with a token, never to a browser session.
TOKEN_AREAS = ("api.", "hooks.")


def _enforce_permissions() -> Any:
    """Authenticate (session or bearer token) and check the role matrix for every request."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404 or 405: the error handlers answer
    permission = permissions.permission_for(endpoint)
    ip = request.remote_addr or ""
    rid = g.request_id
    if endpoint.startswith(TOKEN_AREAS):
        hook = endpoint.startswith("hooks.")
        token = authenticate_api_request(allow_query_token=hook)
        if token is None:
            return errors.api_error(401, "unauthorized", "a valid bearer token is required"
                                    + (" (header, or ?token= in the URL)" if hook else ""))
        role = token.role
        g.actor = Actor(label=f"{'hook' if hook else 'api'}:{token.name}", user_id=token.user_id, ip=ip,
                        request_id=rid)
    elif current_user.is_authenticated:
        role = current_user.role
        g.actor = Actor(label=current_user.display_name, user_id=current_user.id, ip=ip, request_id=rid)
        if current_user.must_change_password and endpoint not in WHILE_PASSWORD_TEMPORARY:
            return _send_to_account()
    else:
        role = None
        g.actor = Actor(label="anonymous", ip=ip, request_id=rid)
    if permission == permissions.PUBLIC:
        return None
    if role is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not permissions.role_may(role, permission):
        if endpoint.startswith(TOKEN_AREAS):
            return errors.api_error(403, "forbidden", f"the role {role.value} may not do this")
        return errors.forbidden_page()
    return None




def _refuse_unstorable_form_text() -> Any:
    """A form value with a NUL character cannot be stored (PostgreSQL refuses it): a 400 naming the field.

    JSON bodies are checked the same way by the API's body reader (console/views/api.py).
    """
    if request.method not in STATE_CHANGING or request.mimetype not in FORM_TYPES:
        return None
    for name, value in request.form.items(multi=True):
        if "\x00" in value:
            message = gettext("The field %(field)s contains a NUL character; remove it and try again.", field=name)
            return render_template("errors/error.html", status=400, message=message), 400
    return None


# A caller's own request id is kept when it is short and plain; anything else gets a fresh one.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _assign_request_id() -> None:
    """Give every request an id (the caller's X-Request-ID if sane) for logs and the audit log."""
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if "request_id" in g:
        response.headers["X-Request-ID"] = g.request_id
    return response
