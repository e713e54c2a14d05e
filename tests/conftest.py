"""Suite-wide test settings.

RULECRAFT_TEST_ORDER=reverse, or shuffle:SEED, runs the selected tests in another order than the files give, to
prove that no test depends on what an earlier one left behind (the editor tests share one server for speed, so
this matters there most). CI runs the editor tests reversed once (.ci/run).
"""
from __future__ import annotations

import os
import random


def pytest_collection_modifyitems(session, config, items):
    order = os.environ.get("RULECRAFT_TEST_ORDER", "")
    if order == "reverse":
        items.reverse()
    elif order.startswith("shuffle:"):
        random.Random(order.partition(":")[2]).shuffle(items)
