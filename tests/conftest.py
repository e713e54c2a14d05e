"""Suite-wide test settings.

RULECRAFT_TEST_ORDER=reverse, or shuffle:SEED, runs the selected tests in another order than the files give, to
prove that no test depends on what an earlier one left behind (the editor tests share one server for speed, so
this matters there most). CI runs the editor tests reversed once (.ci/run).
"""
from __future__ import annotations

import contextlib
import os
import random

import pytest


def pytest_collection_modifyitems(session, config, items):
    order = os.environ.get("RULECRAFT_TEST_ORDER", "")
    if order == "reverse":
        items.reverse()
    elif order.startswith("shuffle:"):
        random.Random(order.partition(":")[2]).shuffle(items)


def engine_or_skip(package: str):
    """Import an optional engine package (polars, duckdb, pyspark, dask), or skip the test; with
    RULECRAFT_REQUIRE_ENGINES=1 (CI installs every engine: the 'test' extra) a missing one fails instead."""
    try:
        return __import__(package)
    except ImportError as error:
        if os.environ.get("RULECRAFT_REQUIRE_ENGINES") == "1":
            pytest.fail(f"{package} is not installed ({error}); RULECRAFT_REQUIRE_ENGINES=1 says it must be")
        pytest.skip(f"{package} is not installed")


def _spark_session():
    import shutil
    import sys

    engine_or_skip("pyspark")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        # The README's test command runs on a machine with Python and Git only: Spark's tests need Java 17+ too.
        why = "Spark needs Java 17 or newer, and there is no java here (Debian: openjdk-17-jre-headless)"
        if os.environ.get("RULECRAFT_REQUIRE_ENGINES") == "1":
            pytest.fail(f"{why}; RULECRAFT_REQUIRE_ENGINES=1 says the Spark tests must run")
        pytest.skip(why)
    from pyspark.sql import SparkSession

    # Spark's Python workers must be this environment's Python (the one with rules_dsl and its dependencies).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (SparkSession.builder.master("local[2]").appName("rulecraft-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate())


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for the whole run (starting one costs seconds), loopback only."""
    session = _spark_session()
    yield session
    session.stop()


@contextlib.contextmanager
def spark_settings(session, settings: dict[str, str]):
    """Runtime settings of a Spark session for the block, then as they were."""
    before = {key: session.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        session.conf.set(key, value)
    try:
        yield session
    finally:
        for key, value in before.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


# The Spark engine writes rules in one of two forms, from the session's settings (rules_dsl/engines/spark.py):
# the compact one by default, the rails one when Spark is told to keep generated methods small enough for the JIT.
SPARK_FORMS = {"compact": {}, "rails": {"spark.sql.codegen.hugeMethodLimit": "8000"}}
