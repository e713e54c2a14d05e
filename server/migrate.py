"""Database migrations (Alembic), driven from code so no alembic.ini is needed: ``rulecraft db upgrade``.

Only ``rulecraft db upgrade`` changes an existing database's schema. Every other command (``serve`` too) checks it
first (``check``): a brand-new, empty database is created at the current schema; one at an older or an unknown
revision is refused with a message that says what to run. ``rulecraft db downgrade`` deletes data and asks for
``--yes-destroy-data`` (server/cli.py).
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError

import migrations


class SchemaError(Exception):
    """The database cannot be used as it is; the message (for an operator) says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current(engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def revisions(url: str) -> list[str]:
    """Every revision this code knows, oldest first."""
    return [script.revision for script in reversed(list(ScriptDirectory.from_config(alembic_config(url))
                                                       .walk_revisions()))]


def known_revision(url: str, revision: str) -> None:
    """Raise SchemaError unless ``revision`` names a revision this code knows (or base, head, or a relative
    step such as -1)."""
    if revision in ("base", "head") or (revision[:1] in ("+", "-") and revision[1:].isdigit()):
        return
    try:
        found = ScriptDirectory.from_config(alembic_config(url)).get_revision(revision)
    except (CommandError, RevisionError):
        found = None
    if found is None:
        raise SchemaError(f"There is no database revision called '{revision}'. Known revisions, oldest first: "
                          f"base, {', '.join(revisions(url))} (head is the newest).")


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def state(url: str) -> tuple[str | None, bool]:
    """(the database's revision, whether it holds any table at all). SchemaError when it cannot be reached."""
    from .db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            revision = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SchemaError(f"Cannot reach the database {shown(url)}: {detail}") from None
    finally:
        engine.dispose()
    return revision, bool(tables)


def check(url: str, *, create: bool = True) -> bool:
    """Make sure the database is at the schema this code needs. A database without any table is created at it
    (when ``create``); an older or unknown revision is refused (SchemaError), never migrated here.
    Returns whether the database was created."""
    revision, has_tables = state(url)
    needed = head(url)
    if revision == needed:
        return False
    if revision is None and not has_tables and create:
        upgrade(url)
        return True
    upgrade_hint = ("Back up the database (docs/operations.md), then run 'rulecraft db upgrade' with the same "
                    "--data-dir or --database-url, and start again.")
    if revision is None:
        raise SchemaError(f"The database {shown(url)} holds tables but no Rulecraft schema revision: it is empty "
                          f"after a 'db downgrade base', or it is not a Rulecraft database. If it is the right "
                          f"database, {upgrade_hint[0].lower()}{upgrade_hint[1:]}")
    if revision in revisions(url):
        raise SchemaError(f"The database's schema is older than this version of Rulecraft needs (it is at "
                          f"revision {revision}; this version needs {needed}). {upgrade_hint}")
    raise SchemaError(f"The database is at schema revision '{revision}', which this version of Rulecraft does not "
                      f"know (this version needs {needed}): a newer version of Rulecraft has upgraded it. Run that "
                      f"version, or restore a backup taken before the upgrade.")
