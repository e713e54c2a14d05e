"""``python -m server`` is the ``rulecraft`` command (used by tests that start real server processes)."""
from server.cli import main

main()
