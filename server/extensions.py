"""Extension singletons, bound to the app in create_app()."""

from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    metadata = MetaData(naming_convention=NAMING)


# The largest value an Integer column (ids, versions, sequence numbers) holds on PostgreSQL.
# Numbers from the outside are bounded by it, so a huge id is a 404 or 422, not a driver error.
MAX_DB_INT = 2**31 - 1

db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
