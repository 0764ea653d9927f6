"""All models, imported so that `schema.metadata` is the whole schema (for Alembic)."""

from incidents import comms_models, intake_models, models, monitor_models, public_models  # noqa: F401
from incidents.models import Base

metadata = Base.metadata
