"""The `crisis` command: serve, run the worker, migrate, manage people and tokens."""

from __future__ import annotations

import getpass
import logging
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from console import backup, create_app, logs, metrics, migrate
from console.clock import utcnow
from console.worker import Worker
from incidents import accounts, people
from incidents.actors import Actor
from incidents.errors import DomainError
from incidents.models import Role, User


def _terminal_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return "unknown"


# The audit log says which account on the machine ran the command ("from where": this host).
CLI_ACTOR = Actor(label=f"cli:{_terminal_user()}", ip="local")


def _app() -> Flask:
    try:
        return create_app()
    except ValueError as error:  # a malformed CRISIS_* setting: say which, without a traceback
        raise click.ClickException(str(error)) from None


def _log_lines(app: Flask) -> None:
    """A long-running command logs to stderr: text unless CRISIS_LOG_FORMAT says json."""
    logs.configure(app.config["LOG_FORMAT"] or "text", app.config["LOG_LEVEL"])


@contextmanager
def _session(app: Flask) -> Iterator[Session]:
    """A session for one command; its connections are closed with it (the engine stays usable)."""
    try:
        with app.extensions["db_sessionmaker"]() as session:
            yield session
    finally:
        app.extensions["db_engine"].dispose()


@click.group()
def main() -> None:
    """Crisis console: run it, migrate its database, manage people and API tokens."""


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to CRISIS_DATABASE_URL (default: the embedded SQLite file)."""
    app = _app()
    migrate.upgrade(app.config["DATABASE_URL"])
    click.echo("database is at the latest schema")


def ensure_demo_admin(app: Flask) -> None:
    """Create an admin when nobody exists yet, printing its temporary password once."""
    with _session(app) as session:
        if session.scalar(sa.select(sa.func.count(User.id))):
            return
        password = secrets.token_urlsafe(12)
        accounts.create_user(session, username="admin", password=password, role=Role.ADMIN.value,
                             display_name="Admin", must_change_password=True, actor=CLI_ACTOR, now=utcnow())
        session.commit()
    click.secho("Created the first user. Sign in with:", fg="green")
    click.secho(f"  username: admin\n  password: {password}", bold=True)
    click.echo("  (shown once; you choose your own password at the first sign-in)")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--create-admin/--no-create-admin", default=True, show_default=True,
              help="Create an admin with a random password when the database has no user.")
@click.option("--worker/--no-worker", "with_worker", default=True, show_default=True,
              help="Also run the worker (deadline steps, outbox) in this process.")
def serve(host: str, port: int, threads: int, create_admin: bool, with_worker: bool) -> None:
    """Migrate, then serve the console and run the worker (one process, for one machine)."""
    from waitress import serve as waitress_serve

    app = _app()
    if not os.environ.get("CRISIS_PUBLIC_URL"):  # links in mails and feeds point where it listens
        app.config["PUBLIC_URL"] = f"http://{host}:{port}"
    _log_lines(app)
    migrate.upgrade(app.config["DATABASE_URL"])
    if create_admin:
        ensure_demo_admin(app)
    worker = Worker.from_app(app) if with_worker else None
    if worker is not None:
        metrics.watch_worker(worker)  # /metrics reports it (on SQLite no lock can be read)
    # waitress stops cleanly on KeyboardInterrupt; make SIGTERM (systemd, docker) do the same.
    signal.signal(signal.SIGTERM, _interrupt)
    if worker is not None:
        worker.start()
    click.echo(f"Crisis console on http://{host}:{port}/")
    try:
        # waitress would drop X-Forwarded-* itself: pass them on as gunicorn does, so the app's
        # CRISIS_TRUSTED_PROXIES rule alone decides whom to believe (and /metrics sees a proxy).
        waitress_serve(app, host=host, port=port, threads=threads, ident="crisis-console",
                       clear_untrusted_proxy_headers=False)
    finally:
        if worker is not None:
            worker.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def require_schema_at_head(app: Flask) -> None:
    """Refuse to go on unless the database is migrated to exactly what this code expects."""
    url = app.config["DATABASE_URL"]
    try:
        with app.extensions["db_engine"].connect() as connection:
            current = migrate.current_revisions(connection)
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise click.ClickException(f"cannot reach the database: {reason}") from None
    expected = migrate.head_revisions(url)
    if current != expected:
        at = f"at revision {', '.join(sorted(current))}" if current else "not migrated"
        raise click.ClickException(
            f"the database is {at} but this version needs revision {', '.join(sorted(expected))}: "
            "run `crisis db upgrade` first"
        )


@main.command()
def worker() -> None:
    """Run the worker alone: deadline reminders and escalations, outbox delivery. No web server.

    Any number may run against one PostgreSQL database: one is active, the others stand by
    and take over within seconds when it stops. Stops cleanly on SIGTERM or Ctrl-C.
    """
    app = _app()
    _log_lines(app)
    require_schema_at_head(app)
    runner = Worker.from_app(app)
    # A log line, not a bare echo: with CRISIS_LOG_FORMAT=json stderr stays one JSON object per line.
    logging.getLogger("console.worker").info("worker started; Ctrl-C to stop")
    runner.run_until_signalled()


@main.group()
def user() -> None:
    """People who sign in to the console."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", "display_name", default="", help="Display name (defaults to the username).")
@click.option("--locale", type=click.Choice(list(accounts.LOCALES)), default="zh_Hans_CN", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(username: str, role: str, display_name: str, locale: str, password_stdin: bool) -> None:
    """Add a person with a role; the password is prompted for unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    app = _app()
    with _session(app) as session:
        try:
            created = accounts.create_user(session, username=username, password=password, role=role,
                                           display_name=display_name, locale=locale,
                                           actor=CLI_ACTOR, now=utcnow())
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        session.commit()
        click.echo(f"added {created.username} ({created.role.value})")


@user.command("unlock")
@click.argument("username")
def user_unlock(username: str) -> None:
    """Forget a person's failed sign-ins from every address, so no wait is left."""
    app = _app()
    with _session(app) as session:
        try:
            cleared = accounts.clear_login_failures(session, username=username, actor=CLI_ACTOR, now=utcnow())
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        session.commit()
    click.echo(f"cleared {cleared} failed sign-ins of {username}")


@contextmanager
def _person(app: Flask, username: str) -> Iterator[tuple[Session, User]]:
    """A session and the person named (any spelling); a domain error is a clean message, and the
    change is committed when the block ends without one."""
    with _session(app) as session:
        try:
            yield session, people.find_user(session, username)
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        session.commit()


@user.command("list")
def user_list() -> None:
    """Everyone with an account: name, role, state, recent failed sign-ins."""
    app = _app()
    with _session(app) as session:
        failures = people.failed_sign_ins(session, now=utcnow())
        for person in people.everyone(session):
            notes = ["active" if person.active else "deactivated"]
            if person.must_change_password:
                notes.append("temporary password")
            if count := people.failures_of(failures, person):
                notes.append(f"{count} failed sign-ins")
            click.echo(f"{person.username}\t{person.role.value}\t{', '.join(notes)}\t{person.display_name}")


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_passwd(username: str, password_stdin: bool) -> None:
    """Set a temporary password: the person chooses their own at the next sign-in; their sessions end."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Temporary password", hide_input=True, confirmation_prompt=True)
    with _person(_app(), username) as (session, person):
        people.set_temporary_password(session, person, password=password, actor=CLI_ACTOR, now=utcnow())
    click.echo(f"{person.username} must choose a new password at the next sign-in")


@user.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def user_role(username: str, role: str) -> None:
    """Give a person another role (the last active admin keeps theirs)."""
    with _person(_app(), username) as (session, person):
        people.change_role(session, person, role=role, actor=CLI_ACTOR, now=utcnow())
    click.echo(f"{person.username} is now {role}")


@user.command("deactivate")
@click.argument("username")
def user_deactivate(username: str) -> None:
    """Stop a person signing in: their sessions end and their API tokens are revoked at once."""
    with _person(_app(), username) as (session, person):
        revoked = people.deactivate(session, person, actor=CLI_ACTOR, now=utcnow())
    click.echo(f"deactivated {person.username}; revoked {revoked} API tokens")


@user.command("activate")
@click.argument("username")
def user_activate(username: str) -> None:
    """Let a deactivated person sign in again (their old tokens stay revoked)."""
    with _person(_app(), username) as (session, person):
        people.activate(session, person, actor=CLI_ACTOR, now=utcnow())
    click.echo(f"activated {person.username}")


@main.group()
def token() -> None:
    """API tokens for scripts (/api/v1)."""


@token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.DUTY_MANAGER.value,
              show_default=True, help="What the token may do (the same matrix as people).")
@click.option("--user", "username", default=None, help="Record actions under this person.")
def token_create(name: str, role: str, username: str | None) -> None:
    """Create a token; its secret is printed once and only its hash is stored."""
    app = _app()
    with _session(app) as session:
        user_id = None
        if username:
            user_id = session.scalar(sa.select(User.id).where(accounts.same_username(username)))
            if user_id is None:
                raise click.ClickException(f"no user {username!r}")
        try:
            _token, secret = accounts.create_token(session, name=name, role=role, user_id=user_id,
                                                   actor=CLI_ACTOR, now=utcnow())
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        session.commit()
    click.echo(secret)


@token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Revoke a token by name; it stops working at once."""
    app = _app()
    with _session(app) as session:
        try:
            accounts.revoke_token(session, name=name, actor=CLI_ACTOR, now=utcnow())
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        session.commit()
    click.echo(f"revoked {name}")


if __name__ == "__main__":
    main()


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent copy of the database to PATH, while the console runs."""
    app = _app()
    try:
        backup.backup(app.config["DATABASE_URL"], path)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup written to {path} ({path.stat().st_size:,} bytes)")


@main.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def restore_command(path: Path) -> None:
    """Restore the backup at PATH into the empty database CRISIS_DATABASE_URL names."""
    app = _app()
    app.extensions["db_engine"].dispose()
    try:
        backup.restore(app.config["DATABASE_URL"], path)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored {path} into the database; it is at the latest schema")
