"""All models, imported so that `schema.metadata` is the whole schema (for Alembic)."""

from incidents import (  # noqa: F401
    comms_models, intake_models, models, monitor_models, outreach_models, public_models, review_models,
    sso_models, subscriber_models,
)
from incidents.models import Base

metadata = Base.metadata
