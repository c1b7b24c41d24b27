"""Fuzzing configuration: the ``fuzz`` marker and the hypothesis profiles.

* ``make test`` runs the bounded fuzz tests (no marker): a fixed prefix of each target's mutation stream, a time
  budget per target, and few hypothesis examples (``strategies.budget``; no deadline: the machine is shared). The
  session's hypothesis profile is left alone, so other test files keep their own settings.
* ``make fuzz`` runs ``pytest tests -m fuzz --hypothesis-profile=fuzz``: the long runs (a million inputs per target
  unless ``AITERMS_FUZZ_RUNS`` says otherwise) and hypothesis with many examples. Tests marked ``fuzz`` are skipped
  unless the marker expression selects them.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile("fuzz", max_examples=int(os.environ.get("AITERMS_FUZZ_EXAMPLES", "20000")),
                          deadline=None, suppress_health_check=_SUPPRESS, print_blob=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: long fuzz runs, selected by `make fuzz` (-m fuzz)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "fuzz" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="long fuzz run: `make fuzz` runs it")
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip)
