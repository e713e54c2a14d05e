"""``python -m bench run [--quick | --smoke]``: see bench/run.py and docs/benchmarks.md."""
import sys

from .run import main

sys.exit(main())
