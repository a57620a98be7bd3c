"""Alembic's environment for the example: the URL comes from DIRECT_URL (the direct, unpooled URL), never from a file."""
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

from app.models import Base

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name)

url = os.environ.get("DIRECT_URL")
if not url:
    raise SystemExit("DIRECT_URL is not set: export the database's direct URL (postgresql://...) and run again.")
# SQLAlchemy wants "postgresql://"; some hosts hand out "postgres://".
if url.startswith("postgres://"):
    url = "postgresql://" + url[len("postgres://"):]
# The ini file's interpolation treats "%" as special: a percent-encoded password needs it doubled.
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Prints the SQL instead of running it (alembic upgrade --sql; migrate plan)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Runs the revisions on the database."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
