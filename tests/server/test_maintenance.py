"""Safe maintenance commands (issue 20, item 8): `db downgrade` destroys nothing without --yes-destroy-data, no
command migrates an existing database silently (only `db upgrade` does; a brand-new database is created), an
unknown revision is a clear error. The real `rulecraft` command, on SQLite and on PostgreSQL."""
from __future__ import annotations

import sqlalchemy as sa
from test_process import rulecraft

from server import migrate


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def people(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT name FROM users ORDER BY id")).scalars())
    finally:
        engine.dispose()


def set_revision(url: str, revision: str | None) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM alembic_version"))
            if revision is not None:
                connection.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})
    finally:
        engine.dispose()


def run(*args, data, url, stdin=None, check=False):
    return rulecraft(*args, "--database-url", url, data_dir=data, stdin=stdin, check=check)


def with_a_person(tmp_path, url):
    data = tmp_path / "data"
    run("create-user", "Ana", "--role", "author", data=data, url=url, stdin="a long password 1\n", check=True)
    return data


def test_downgrade_refuses_to_destroy_data_without_the_flag(tmp_path, database_url):
    """`db downgrade base` dropped every table (people, releases, the audit trail) without a word."""
    data = with_a_person(tmp_path, database_url)
    refused = run("db", "downgrade", "base", data=data, url=database_url)
    assert refused.returncode == 1
    assert "Not done" in refused.stderr and "--yes-destroy-data" in refused.stderr
    assert "people" in refused.stderr and "audit trail" in refused.stderr
    assert people(database_url) == ["Ana"]
    done = run("db", "downgrade", "base", "--yes-destroy-data", data=data, url=database_url)
    assert done.returncode == 0, done.stderr
    assert f"from revision {migrate.head(database_url)} to base" in done.stdout
    assert tables(database_url) == set()


def test_an_unknown_revision_is_a_clear_error(tmp_path, database_url):
    data = with_a_person(tmp_path, database_url)
    for args in (("db", "downgrade", "v0.9", "--yes-destroy-data"), ("db", "downgrade", "v0.9")):
        result = run(*args, data=data, url=database_url)
        assert result.returncode == 1
        assert "There is no database revision called 'v0.9'" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert people(database_url) == ["Ana"]


def test_commands_do_not_migrate_an_old_database_silently(tmp_path, database_url):
    """After a downgrade, any command (here create-user and serve) migrated the database back up on its own; now
    they refuse and say to run `rulecraft db upgrade`, which does it."""
    data = with_a_person(tmp_path, database_url)
    run("db", "downgrade", "base", "--yes-destroy-data", data=data, url=database_url, check=True)
    for args, stdin in ((("create-user", "Bea", "--role", "author"), "a long password 2\n"), (("serve",), None),
                        (("recover",), None)):
        refused = run(*args, data=data, url=database_url, stdin=stdin)
        assert refused.returncode == 1, (args, refused.stdout, refused.stderr)
        assert "rulecraft db upgrade" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert tables(database_url) == set()
    upgraded = run("db", "upgrade", data=data, url=database_url, check=True)
    assert f"upgraded from revision base to {migrate.head(database_url)}" in upgraded.stdout
    run("create-user", "Bea", "--role", "author", data=data, url=database_url, stdin="a long password 2\n",
        check=True)
    assert people(database_url) == ["Bea"]


def test_a_revision_from_a_newer_version_is_refused_and_named(tmp_path, database_url):
    """A database a newer Rulecraft has upgraded: every command refuses it, `db upgrade` too (it cannot go
    forward from a revision it does not know), without a traceback and without touching the data."""
    data = with_a_person(tmp_path, database_url)
    set_revision(database_url, "not_a_revision")
    refused = run("serve", data=data, url=database_url)
    assert refused.returncode == 1
    assert "which this version of Rulecraft does not know" in refused.stderr
    assert "newer version" in refused.stderr
    current = run("db", "current", data=data, url=database_url)
    assert current.returncode == 1 and "not_a_revision" in current.stdout
    upgrade = run("db", "upgrade", data=data, url=database_url)
    assert upgrade.returncode == 1 and "Traceback" not in upgrade.stderr
    assert "was not changed" in upgrade.stderr
    assert people(database_url) == ["Ana"]


def test_a_brand_new_database_is_created_and_current(tmp_path, database_url):
    """The README's quick start on a fresh folder keeps working: an empty database is created at the current
    schema (that is not a migration of anyone's data)."""
    data = tmp_path / "data"
    current = run("db", "current", data=data, url=database_url)
    assert current.returncode == 1 and "Run 'rulecraft db upgrade'" in current.stdout
    run("create-user", "Ana", "--role", "author", data=data, url=database_url, stdin="a long password 1\n",
        check=True)
    current = run("db", "current", data=data, url=database_url, check=True)
    assert f"at revision {migrate.head(database_url)}: up to date" in current.stdout
    again = run("db", "upgrade", data=data, url=database_url, check=True)
    assert "nothing to do" in again.stdout


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    url = "postgresql+psycopg://rulecraft:secret-word@127.0.0.1:1/rulecraft"
    for args in (("db", "upgrade"), ("recover",)):
        result = run(*args, data=tmp_path / "data", url=url)
        assert result.returncode == 1
        assert "Cannot reach the database postgresql+psycopg://rulecraft:***@127.0.0.1:1/rulecraft" in result.stderr
        assert "secret-word" not in result.stderr and "Traceback" not in result.stderr
