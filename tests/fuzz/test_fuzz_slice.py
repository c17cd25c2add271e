"""The fast slice of the fuzzer, in ``make test``: a few dozen mutated inputs of every kind through the library and
the CLI in child processes, none of which may crash (``make fuzz`` runs the full set)."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest

from tests.fuzz.harness import KINDS, Context, Outcome, _classify, crash_report, fuzz, make_cases
from tests.fuzz.mutate import mutate
from tests.fuzz.seeds import seeds

SLICE = {"photo": 8, "xlsx": 4, "xls": 3, "ods": 3, "csv": 4, "geojson": 3, "gpkg": 3, "shp": 3, "rules": 3, "townships": 3}


@pytest.fixture(scope="module")
def one_thread():
    saved = {k: os.environ.get(k) for k in ("VILLAGE_AUDIT_THREADS", "OMP_NUM_THREADS")}
    os.environ.update({k: "1" for k in saved})
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_fuzz_slice_has_no_crash(tmp_path, one_thread):
    assert set(SLICE) == set(KINDS)
    tallies = fuzz(SLICE, tmp_path, base_seed=2026, parallel=2)
    runs = sum(t.runs for by in tallies.values() for t in by.values())
    assert runs == sum(SLICE.values()) * 2 - SLICE["townships"]      # townships: no command reads them
    assert crash_report(tallies) == []
    # the slice reaches past the first checks: some inputs are read through, others refused
    assert sum(by["cli"].ok for by in tallies.values()) > 0
    assert sum(by["cli"].refused for by in tallies.values()) > 0


@pytest.mark.parametrize("kind", KINDS)
def test_mutations_are_seeded_and_change_the_file(kind):
    seed = seeds(kind)[0]
    first = [mutate(kind, seed, random.Random(f"7:{kind}:{i}")) for i in range(6)]
    again = [mutate(kind, seed, random.Random(f"7:{kind}:{i}")) for i in range(6)]
    assert first == again
    assert sum(m != seed.data for m in first) >= 5


def test_cases_are_written_once_per_index(tmp_path):
    cases = make_cases("csv", 5, tmp_path, base_seed=1)
    assert [c.path.name for c in cases] == [f"csv-{i:04d}.csv" for i in range(5)]
    assert all(c.path.read_bytes() for c in cases[:1])


@pytest.mark.parametrize(("outcome", "crash"), [
    (dict(exit_code=0, signal=None, seconds=1, max_rss=1 << 20, stderr_tail=""), None),
    (dict(exit_code=2, signal=None, seconds=1, max_rss=1 << 20, stderr_tail="错误：x"), None),
    (dict(exit_code=1, signal=None, seconds=1, max_rss=1 << 20, stderr_tail="Traceback (most recent call last):\n"
          "  File x\nValueError: boom\n"), "traceback: ValueError: boom"),
    (dict(exit_code=0, signal=None, seconds=1, max_rss=1 << 20, stderr_tail="Traceback (most recent call last):\n"
          "KeyError: 'a'\n"), "traceback: KeyError: 'a'"),
    (dict(exit_code=3, signal=None, seconds=1, max_rss=1 << 20, stderr_tail=""), "exit code 3"),
    (dict(exit_code=None, signal=int(signal.SIGABRT), seconds=1, max_rss=1 << 20, stderr_tail=""),
     "killed by signal 6 (SIGABRT)"),
    (dict(exit_code=None, signal=int(signal.SIGKILL), seconds=61, max_rss=1 << 20, stderr_tail=""), "over 60 s"),
    (dict(exit_code=0, signal=None, seconds=1, max_rss=3 << 30, stderr_tail=""), "peak memory 3.00 GiB"),
])
def test_what_counts_as_a_crash(outcome, crash):
    o = _classify(Outcome(None, "cli", **outcome))
    assert o.crash == crash


def test_the_harness_sees_a_crash(tmp_path, monkeypatch):
    """A child that aborts, one that raises and one that runs too long are each counted (the fuzzer can fail)."""
    import tests.fuzz.harness as harness

    def behave(case, ctx):  # noqa: ANN001, ANN202
        what = case.path.read_text()
        if what == "abort":
            os.abort()
        if what == "raise":
            raise KeyError("boom")
        if what == "sleep":
            import time
            time.sleep(5)

    monkeypatch.setattr(harness, "_lib", behave)
    monkeypatch.setattr(harness, "TIMEOUT_S", 1.0)
    cases = []
    for i, what in enumerate(("abort", "raise", "sleep", "fine")):
        path = tmp_path / f"c{i}.txt"
        path.write_text(what)
        cases.append(harness.Case("csv", i, "x", path))
    outcomes = {o.case.path.read_text(): o for o in harness.run_cases([(c, "lib") for c in cases], Context(),
                                                                       tmp_path / "logs")}
    assert outcomes["abort"].crash == "killed by signal 6 (SIGABRT)"
    assert outcomes["raise"].crash == "traceback: KeyError: 'boom'"
    assert outcomes["sleep"].crash == "over 1 s"
    assert outcomes["fine"].crash is None and outcomes["fine"].exit_code == 0
    assert Path(tmp_path / "logs").exists()
