"""Run fuzz inputs through the library and the CLI, each in its own child process, and count crashes.

The parent imports the pipelines once (and, for photos, loads the engine once) and forks a child per run: the
child caps its data segment (RLIMIT_DATA, 2 GiB), sends its output to files and calls a library entry point or
the ``audit`` command (typer's app, as the console script runs it) with the input's path. A crash is a traceback
on stderr, an exit code other than 0 and 2 (killed by a signal included), more than 60 s, or a peak resident size
over 2 GiB (``ru_maxrss`` from ``wait4``).

The engine preloaded for ``audit signs`` is the one ``Engine.load`` returns in the children (one model load, not
one per photo); everything after it runs as shipped. Children never return into the parent's code: they end with
``os._exit``.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import os
import random
import resource
import signal
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.mutate import mutate
from tests.fuzz.seeds import REPO, seeds

TIMEOUT_S = 60.0
MEMORY_BYTES = 2 << 30
KINDS = ("photo", "xlsx", "xls", "ods", "csv", "geojson", "gpkg", "shp", "rules", "townships")
REGISTRY_KINDS = ("xlsx", "xls", "ods", "csv", "geojson", "gpkg", "shp")


@dataclass(frozen=True)
class Case:
    """One fuzz input: its kind, index, seed name, file and the derived random seed."""

    kind: str
    index: int
    seed_name: str
    path: Path


@dataclass
class Outcome:
    case: Case
    target: str            # "lib" or "cli"
    exit_code: int | None
    signal: int | None
    seconds: float
    max_rss: int           # bytes
    stderr_tail: str
    crash: str | None = None

    @property
    def refused(self) -> bool:
        return self.crash is None and self.exit_code == 2


@dataclass
class Tally:
    runs: int = 0
    ok: int = 0
    refused: int = 0
    crashes: list[Outcome] = field(default_factory=list)
    max_seconds: float = 0.0
    max_rss: int = 0

    def add(self, o: Outcome) -> None:
        self.runs += 1
        self.max_seconds = max(self.max_seconds, o.seconds)
        self.max_rss = max(self.max_rss, o.max_rss)
        if o.crash:
            self.crashes.append(o)
        elif o.refused:
            self.refused += 1
        else:
            self.ok += 1


def make_cases(kind: str, n: int, folder: Path, *, base_seed: int) -> list[Case]:
    """``n`` mutated inputs of ``kind`` written under ``folder``; input ``i`` is mutated with the random seed
    ``(base_seed, kind, i)``, so that any input can be made again from those three."""
    folder.mkdir(parents=True, exist_ok=True)
    pool = seeds(kind)
    cases = []
    for i in range(n):
        rng = random.Random(f"{base_seed}:{kind}:{i}")
        seed = pool[i % len(pool)]
        data = mutate(kind, seed, rng)
        path = folder / f"{kind}-{i:04d}{seed.suffix}"
        path.write_bytes(data)
        cases.append(Case(kind, i, seed.name, path))
    return cases


# --- what a child runs ------------------------------------------------------------------------------------------

@dataclass
class Context:
    """What the parent prepared before forking: a registry for the rules runs, an audit for the township runs."""

    registry: Path | None = None
    audited: object | None = None


def prepare(kinds: Iterable[str], folder: Path) -> Context:
    """Import and load, in the parent, what the children of these kinds use (fork then shares it)."""
    kinds = set(kinds)
    ctx = Context()
    import audit.cli.main  # noqa: F401 - the command, with its commands registered
    if "photo" in kinds:
        _preload_engine()
    if kinds & {*REGISTRY_KINDS, "rules", "townships"}:
        from audit.area.floor_area import area_audit
        from audit.area.registry import registry_from_file
        from audit.rules import load_rules

        folder.mkdir(parents=True, exist_ok=True)
        ctx.registry = folder / "seed-registry.xlsx"
        ctx.registry.write_bytes(seeds("xlsx")[0].data)
        reg = registry_from_file(ctx.registry)
        ctx.audited = area_audit(reg.villages, rules=load_rules())
        if "townships" in kinds:
            from audit.area import mapping  # noqa: F401
    return ctx


def _preload_engine() -> None:
    from audit.rules import load_rules
    from audit.signs.engine import Engine

    rules = load_rules()
    loaded = {flag: Engine.load(rules=rules, use_detector=flag) for flag in (True, False)}
    original = Engine.load

    def load(cls, *, rules=None, model=None, use_detector=True):  # noqa: ANN001, ANN202
        if model is not None:
            return original(rules=rules, model=model, use_detector=use_detector)
        engine = loaded[use_detector]
        return engine if rules is None or rules is engine.rules else dataclasses.replace(engine, rules=rules)

    Engine.load = classmethod(load)


def _lib(case: Case, ctx: Context) -> None:
    if case.kind == "photo":
        from audit.signs.intake import photo_from_bytes
        photo_from_bytes(case.path.read_bytes(), case.path.name)
    elif case.kind in REGISTRY_KINDS:
        from audit.area.registry import registry_from_file
        registry_from_file(case.path)
    elif case.kind == "rules":
        from audit.rules import load_rules
        load_rules(case.path)
    elif case.kind == "townships":
        from audit.area.mapping import script_json, township_features
        from audit.area.registry import townships_from_file
        script_json(township_features(townships_from_file(case.path), ctx.audited))
    else:
        raise ValueError(f"'kind' should be one of {KINDS}, got '{case.kind}' instead")


def cli_args(case: Case, ctx: Context) -> list[str] | None:
    """The ``audit`` command line for a case (None: no command reads this kind)."""
    if case.kind == "photo":
        return ["signs", str(case.path), "--json"]
    if case.kind in REGISTRY_KINDS:
        return ["area", str(case.path), "--json"]
    if case.kind == "rules":
        return ["area", str(ctx.registry), "--rules", str(case.path), "--json"]
    return None


def _child(case: Case, target: str, ctx: Context, out: Path) -> None:
    """Runs in the forked child; never returns."""
    code = 1
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_BYTES, MEMORY_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        with open(os.devnull, "rb") as null:
            os.dup2(null.fileno(), 0)
        with open(out.with_suffix(".out"), "wb") as fo, open(out.with_suffix(".err"), "wb") as fe:
            os.dup2(fo.fileno(), 1)
            os.dup2(fe.fileno(), 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - the child's whole life
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        faulthandler.disable()            # pytest's handler would write into the parent's output
        warnings.resetwarnings()          # Python's own filters, as the command runs for a user: printed, not raised
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        from audit.errors import AuditError
        if target == "lib":
            try:
                _lib(case, ctx)
                code = 0
            except AuditError as exc:
                print(f"refused: {exc}", file=sys.stderr)
                code = 2
        else:
            from audit.cli.main import app
            sys.argv = ["audit", *cli_args(case, ctx)]
            try:
                app()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - everything else is what the fuzzer looks for
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _classify(o: Outcome) -> Outcome:
    if o.signal is not None and o.seconds >= TIMEOUT_S:
        o.crash = f"over {TIMEOUT_S:.0f} s"
    elif o.signal is not None:
        o.crash = f"killed by signal {o.signal} ({signal.Signals(o.signal).name})"
    elif o.max_rss > MEMORY_BYTES:
        o.crash = f"peak memory {o.max_rss / 2**30:.2f} GiB"
    elif "Traceback (most recent call last)" in o.stderr_tail:
        last = [ln for ln in o.stderr_tail.strip().splitlines() if ln and not ln.startswith(" ")]
        o.crash = f"traceback: {last[-1][:200] if last else '?'}"
    elif o.exit_code not in (0, 2):
        o.crash = f"exit code {o.exit_code}"
    return o


def run_cases(jobs: Iterable[tuple[Case, str]], ctx: Context, out: Path, *, parallel: int = 2,
              on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run (case, target) pairs in forked children, ``parallel`` at a time, each killed after 60 s."""
    out.mkdir(parents=True, exist_ok=True)
    pending = list(jobs)
    running: dict[int, tuple[Case, str, float, Path]] = {}
    outcomes = []
    sys.stdout.flush()
    sys.stderr.flush()
    while pending or running:
        while pending and len(running) < parallel:
            case, target = pending.pop(0)
            log = out / f"{case.path.stem}-{target}"
            pid = os.fork()
            if pid == 0:
                _child(case, target, ctx, log)
            running[pid] = (case, target, time.monotonic(), log)
        pid, status, usage = os.wait4(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for p, (_, _, start, _) in list(running.items()):
                if now - start > TIMEOUT_S:
                    os.kill(p, signal.SIGKILL)
            time.sleep(0.005)
            continue
        case, target, start, log = running.pop(pid)
        err = log.with_suffix(".err")
        tail = err.read_text("utf-8", "replace")[-4000:] if err.exists() else ""
        o = _classify(Outcome(case, target, os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                              os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                              time.monotonic() - start, usage.ru_maxrss * 1024, tail))
        if o.crash is None:
            for suffix in (".out", ".err"):
                log.with_suffix(suffix).unlink(missing_ok=True)
        outcomes.append(o)
        if on_outcome:
            on_outcome(o)
    return outcomes


def fuzz(counts: dict[str, int], folder: Path, *, base_seed: int = 14, parallel: int = 2, cli: bool = True,
         progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Tally]]:
    """Make and run ``counts[kind]`` inputs per kind; returns tallies per kind and target (lib, cli). The engine
    preloaded for the children is the parent's only while this runs: ``Engine.load`` is restored after."""
    from audit.signs.engine import Engine

    real_load = Engine.__dict__["load"]
    try:
        return _fuzz(counts, folder, base_seed=base_seed, parallel=parallel, cli=cli, progress=progress)
    finally:
        Engine.load = real_load


def _fuzz(counts: dict[str, int], folder: Path, *, base_seed: int, parallel: int, cli: bool,
          progress: Callable[[str], None] | None) -> dict[str, dict[str, Tally]]:
    ctx = prepare(counts, folder / "context")
    tallies: dict[str, dict[str, Tally]] = {}
    for kind, n in counts.items():
        cases = make_cases(kind, n, folder / "inputs" / kind, base_seed=base_seed)
        jobs = [(c, "lib") for c in cases] + [(c, "cli") for c in cases if cli and cli_args(c, ctx) is not None]
        tallies[kind] = {"lib": Tally(), "cli": Tally()}
        start = time.monotonic()
        for o in run_cases(jobs, ctx, folder / "logs" / kind, parallel=parallel):
            tallies[kind][o.target].add(o)
        if progress:
            progress(summary_line(kind, tallies[kind], time.monotonic() - start))
    return tallies


def summary_line(kind: str, t: dict[str, Tally], seconds: float) -> str:
    parts = []
    for target in ("lib", "cli"):
        x = t[target]
        if x.runs:
            parts.append(f"{target}: {x.runs} runs, {x.ok} ok, {x.refused} refused, {len(x.crashes)} crashes, "
                         f"max {x.max_seconds:.1f} s, {x.max_rss / 2**20:.0f} MiB")
    return f"{kind:<10} " + " | ".join(parts) + f"  ({seconds:.0f} s)"


def crash_report(tallies: dict[str, dict[str, Tally]]) -> list[str]:
    """One line per crash cause (kind, target, reason) with its count and a first example input."""
    seen: Counter = Counter()
    example: dict[tuple, Outcome] = {}
    for kind, by_target in tallies.items():
        for target, t in by_target.items():
            for o in t.crashes:
                key = (kind, target, o.crash)
                seen[key] += 1
                example.setdefault(key, o)
    def shown(path: Path) -> Path:
        return path.relative_to(REPO) if path.is_relative_to(REPO) else path

    return [f"{k[0]}/{k[1]}: {n} × {k[2]}  e.g. {shown(example[k].case.path)}" for k, n in seen.most_common()]
