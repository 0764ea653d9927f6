"""The schema comes from Alembic, and the models agree with it."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from console import migrate
from incidents.schema import metadata


# Expression indexes are not reflected on every engine (SQLite); each is checked by its own test.
EXPRESSION_INDEXES = {"ix_user_username_lower"}  # tests/security/test_auth_limits.py


def _compared(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def test_models_and_migrations_agree(engine) -> None:  # noqa: ANN001
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _compared})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_database_is_at_head(engine, database_url) -> None:  # noqa: ANN001
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == migrate.head_revisions(database_url)
