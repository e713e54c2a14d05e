"""Services: the server's units of work, in the domain's words (rule sets, rules, releases, people, data sets).

Each function that changes something owns its transaction (``begin_write`` ... ``commit``) and its audit row, so
the API's views (``server/api``) and the command line (``server/cli.py``) call the same function and do no SQL.
What a service may import: rules_dsl, SQLAlchemy, the models and the database session, the workspace (which alone
reaches the Git store), and the domain errors of ``errors.py``. Never Flask or Werkzeug, nothing of ``server/api``:
services raise ``errors.py``'s classes and one table at the HTTP edge turns them into status codes.
Enforced by tests/server/test_layers.py.
"""
