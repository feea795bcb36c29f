"""bench/run.py's harness on a tiny configuration: it measures, stores pyperf's JSON, cleans up.

No timing is checked against a target here: `python bench/run.py` does that on a real run.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psutil
import pyperf
import pytest

pytestmark = pytest.mark.slow  # full tier: pyperf workers and sandboxes

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    """bench/run.py as a module (its own modules beside it import each other by name)."""
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(BENCH))


@pytest.fixture
def tiny(bench: ModuleType) -> object:
    """The quick run, smaller still: one worker process per figure, three users."""
    return dataclasses.replace(bench.QUICK, cold_runs=1, warm_runs=2, inventory_users=3,
                               inventory_two_key_users=1, inventory_runs=2, seed_workers=2)


def bench_sandboxes() -> set[int]:
    """Sandbox processes serving a bench home (they live in labkit-bench-* folders)."""
    return {p.pid for p in psutil.process_iter(["cmdline"])
            if "serve" in (p.info["cmdline"] or []) and "labkit-bench-" in " ".join(
                p.info["cmdline"])}


def test_startup_is_timed_in_pyperf_workers_and_its_sandboxes_stopped(bench: ModuleType,
                                                                       tiny: object) -> None:
    before = bench_sandboxes()
    benches, rows = bench.fig_cold_start(tiny)
    warm, warm_rows = bench.fig_warm_attach(tiny)
    got = {b.get_name(): b for b in benches + warm}
    assert sorted(got) == ["cold_start", "sandbox_start", "warm_attach"]
    assert [b.get_nvalue() for b in got.values()] == [1, 1, 2]  # one value per worker process
    assert all(b.get_unit() == "second" and min(b.get_values()) > 0 for b in got.values())
    assert rows[0].result in ("PASS", "FAIL") and warm_rows[0].result in ("PASS", "FAIL")
    assert rows[0].value == f"{got['cold_start'].get_values()[0]:.3f} s"
    assert bench_sandboxes() <= before


def test_key_inventory_counts_every_key_or_the_worker_fails(bench: ModuleType,
                                                             tiny: object) -> None:
    benches, rows = bench.fig_inventory(tiny)
    names = [b.get_name() for b in benches]
    assert names == ["key_inventory", "naive_key_inventory", "inventory_seed"]
    assert rows[0].figure.startswith("key inventory (3 users / 4 keys)")
    fast, slow = benches[0].get_values(), benches[1].get_values()
    assert len(fast) == 2 and len(slow) == 1
    assert rows[0].value == f"{statistics.median(fast) / slow[0]:.3f}"
    # The same script, told the account holds a key more than it does, refuses the table.
    from harness import lab_environ, temp_home
    from inventory import seed

    from labkit import session

    with temp_home("wrong") as home:
        with lab_environ(home):
            seed(session.connect(refresh=True), 1, 0, 1)
        with pytest.raises(subprocess.CalledProcessError):
            bench.pyperf_run("inventory.py", 1, "--home", str(home), "--keys", "3")


def test_only_one_figure_saves_pyperf_json_and_leaves_results_md(bench: ModuleType,
                                                                  tmp_path: Path) -> None:
    results = bench.RESULTS.read_text()
    out = tmp_path / "classroom.json"
    assert bench.main(["--quick", "--only", "classroom", "-o", str(out)]) == 0
    suite = pyperf.BenchmarkSuite.load(str(out))
    assert suite.get_benchmark_names() == ["classroom_all_ready", "classroom_sandboxes_rss"]
    assert suite.get_benchmark("classroom_sandboxes_rss").get_unit() == "byte"
    assert suite.get_metadata()["cpu_count"] >= 1  # pyperf's machine description
    assert bench.RESULTS.read_text() == results


def test_a_run_replaces_only_its_own_section(bench: ModuleType, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "results.md"
    page.write_text("# Benchmarks\n\nhow\n\n<!-- bench:full:start -->\nfull\n"
                    "<!-- bench:full:end -->\n\n<!-- bench:quick:start -->\nold quick\n"
                    "<!-- bench:quick:end -->\n")
    monkeypatch.setattr(bench, "RESULTS", page)
    bench.write_results(bench.QUICK, "new quick\n")
    assert page.read_text() == ("# Benchmarks\n\nhow\n\n<!-- bench:full:start -->\nfull\n"
                                "<!-- bench:full:end -->\n\n<!-- bench:quick:start -->\n"
                                "new quick\n<!-- bench:quick:end -->\n")
    bench.write_results(bench.FULL, "new full\n")
    assert "<!-- bench:full:start -->\nnew full\n<!-- bench:full:end -->" in page.read_text()
    assert "new quick" in page.read_text() and "old quick" not in page.read_text()


def test_an_aws_calls_round_trip_is_timed_and_its_sandbox_stopped(bench: ModuleType,
                                                                   tiny: object) -> None:
    before = bench_sandboxes()
    benches, rows = bench.fig_calls(tiny)
    got = {b.get_name(): b.get_nvalue() for b in benches}
    assert got == {"aws_call/warm": 100, "aws_call/new_client": 10}
    assert rows[0].target == "≤ 15 ms" and rows[0].result in ("PASS", "FAIL")
    assert bench_sandboxes() == before  # the figure's sandbox is gone
