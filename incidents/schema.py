"""All models, imported so that `schema.metadata` is the whole schema (for Alembic)."""

from incidents import intake_models, models, monitor_models, outreach_models, public_models  # noqa: F401
from incidents.models import Base

metadata = Base.metadata
