"""The schema comes from Alembic, and the models agree with it."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from console import migrate
from incidents.schema import metadata


def test_models_and_migrations_agree(engine) -> None:  # noqa: ANN001
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_database_is_at_head(engine, database_url) -> None:  # noqa: ANN001
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == migrate.head_revisions(database_url)
