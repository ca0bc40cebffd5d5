"""Benchmark tracker at scale against floors measured in the same run (not collected by pytest).

    python tests/benchmark.py                 # 100,000 events, 5 runs per scenario
    python tests/benchmark.py --events 20000 --repeat 3
    python tests/benchmark.py --peers         # also jrnl on the same events, in a throwaway venv
    python tests/benchmark.py --scaling       # then each command at 1,000, 10,000 and 100,000 events
    python tests/benchmark.py --scaling --sizes 1000,10000,100000 --million   # and at 1,000,000 (slow)
    python tests/benchmark.py --events 3000 --repeat 1 --scaling --sizes 500,1000,3000   # a quick try

Every scenario runs as a whole process; the table shows the median wall time, the
peak RSS of the process, the floor it is measured against and the ratio. Floors:
`python -c pass`, a minimal typer command printing a 15-row tabulate table, and a
plain script that loads the log with yaml.CSafeLoader and filters it.

Warm scenarios run after the index exists; edit, rm and import are each preceded by
an untimed `tracker list` so that every run starts with a current index, whatever the
previous run left. Each run of edit toggles the event's status (confirmed/disputed),
each run of rm removes another event (none is related to), each run of import adds
100 events with fresh ids; a run that does not change the log stops the benchmark.

The scaling table (`--scaling`) measures the cold build and every warm command on a
freshly generated log of each size (median of up to 3 runs; one run at 1,000,000),
one row per command, seconds and peak MiB per size.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

WORDS = [
    "talks",
    "summit",
    "missile",
    "statement",
    "delegation",
    "sanctions",
    "envoy",
    "ministry",
    "visit",
    "test",
    "launch",
    "agreement",
    "abduction",
    "issue",
    "foreign",
    "minister",
    "press",
    "conference",
    "rejects",
    "proposes",
    "warns",
    "meets",
    "calls",
    "for",
    "dialogue",
    "the",
    "of",
    "and",
    "to",
    "in",
    "on",
    "with",
    "over",
    "after",
    "before",
    "about",
    "against",
    "new",
    "first",
    "joint",
]
TAGS = ("summit", "missiles", "sanctions", "abduction-issue", "trilateral", "diplomacy", "trade", "nuclear")
TYPES = ("statement", "visit", "summit", "missile-test", "speech", "poll", "meeting")

TYPER_FLOOR = """
import typer
from tabulate import tabulate

app = typer.Typer()


@app.command()
def main() -> None:
    rows = [[number, f"event {number}", "2024-04-02"] for number in range(15)]
    typer.echo(tabulate(rows, headers=["n", "title", "date"]))


app()
"""

YAML_FLOOR = """
import sys
import yaml

with open(sys.argv[1], encoding="utf-8") as handle:
    data = yaml.load(handle, Loader=yaml.CSafeLoader)
found = [event for event in data["events"] if sys.argv[2] in (event.get("actors") or [])]
print(len(found))
"""


SPARE = 40  # ids on each side of the middle event that generate_log returns, for rm to remove
IMPORT_EVENTS = 100  # events per import run


def generate_log(path: Path, count: int, seed: int = 2024) -> dict[str, Any]:
    """Write a realistic log of `count` events; returns values the scenarios query for.

    Written in chunks, so a million events need no more memory than a few thousand. Besides the query
    terms, returns the id of the event at position count // 2 (`middle`, to edit and show), the ids of
    the events nearest to it (`spare`, nearest first, to remove: the log has no `related:`) and a few
    actors of the registry (`registered`, for imported events). The text is the same as it always was
    for a given count and seed."""
    rng = random.Random(seed)
    actors = [
        f"{rng.choice(('Kim', 'Lee', 'Park', 'Sato', 'Tanaka', 'Smith', 'Chen', 'Wang'))} {name}" for name in range(300)
    ]
    lines = ["# benchmark log", "title: Benchmark", "actors:"]
    for number, name in enumerate(actors):
        if number % 50 == 49:
            continue  # as in real logs, a few actors are missing from the registry: check has warnings to report
        lines += [
            f"  - name: {name}",
            f"    aliases: [{name.replace(' ', '')}]",
            "    role: Official",
            "    country: X",
        ]
    lines += ["sources:", "  - id: wire", "    title: Wire service", "    publisher: Agency", "events:"]
    middle = count // 2
    wanted = range(max(0, middle - SPARE), min(count, middle + SPARE + 1))
    ids: dict[int, str] = {}
    with path.open("w", encoding="utf-8") as handle:
        for number in range(count):
            year, month, day = rng.randint(1990, 2025), rng.randint(1, 12), rng.randint(1, 28)
            precision = rng.random()
            date = (
                f"{year}"
                if precision < 0.05
                else f"{year}-{month:02d}"
                if precision < 0.2
                else f"{year}-{month:02d}-{day:02d}"
            )
            qualifier = "~" if rng.random() < 0.05 else ""
            title = " ".join(rng.choice(WORDS) for _ in range(7)).capitalize()
            summary = " ".join(rng.choice(WORDS) for _ in range(30))
            named = rng.sample(actors, rng.randint(1, 4))
            if number in wanted:
                ids[number] = f"e{number}-{date}"
            lines += [f"  - id: e{number}-{date}", f"    date: {date}{qualifier}"]
            if rng.random() < 0.1:
                lines.append(f"    end: {year + 1}")
            lines += [
                f"    title: {title}",
                "    summary: >-",
                f"      {summary}",
                f"    actors: [{', '.join(named)}]",
                f"    type: {rng.choice(TYPES)}",
                f"    tags: [{', '.join(rng.sample(TAGS, 2))}]",
                "    sources: [wire]",
            ]
            if len(lines) >= 50_000:
                handle.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            handle.write("\n".join(lines) + "\n")
    spare = sorted((number for number in ids if number != middle), key=lambda number: (abs(number - middle), number))
    return {
        "actor": actors[7],
        "tag": "sanctions",
        "search": "press conference rejects",
        "middle": ids.get(middle, ""),
        "spare": [ids[number] for number in spare],
        "registered": [name for number, name in enumerate(actors[:12]) if number % 50 != 49],
    }


def write_import(path: Path, batch: int, actors: list[str]) -> None:
    """A jsonl file of IMPORT_EVENTS new events whose ids and titles no log holds (`batch` is never reused)."""
    rng = random.Random(batch)
    with path.open("w", encoding="utf-8") as handle:
        for number in range(IMPORT_EVENTS):
            date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            event = {
                "id": f"i{batch}-{number}-{date}",
                "date": date,
                "title": f"Imported event {number} of batch {batch}",
                "summary": " ".join(rng.choice(WORDS) for _ in range(30)),
                "actors": rng.sample(actors, rng.randint(1, 3)),
                "type": rng.choice(TYPES),
                "tags": rng.sample(TAGS, 2),
                "sources": ["wire"],
            }
            handle.write(json.dumps(event) + "\n")


@dataclass
class Measure:
    seconds: float
    peak_mib: float


def quiet(command: list[str], env: dict[str, str], check: bool = True) -> None:
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=check)


def _stat(path: Path) -> tuple[int, ...]:
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def run(
    command: list[str] | Callable[[int], list[str]],
    repeat: int,
    env: dict[str, str],
    before: list[str] | Callable[[], None] | None = None,
    changes: Path | None = None,
) -> Measure:
    """Median wall time and the largest peak RSS of `repeat` runs of `command` as a whole process.

    `command` may be a function of the run's number, for a command that must differ from run to run;
    `before` (a command or a function) runs untimed before each run; with `changes`, each run must
    exit 0 and write that file."""
    times, peaks = [], []
    for number in range(repeat):
        if callable(before):
            before()
        elif before:
            quiet(before, env, check=False)
        argv = command(number) if callable(command) else command
        was = _stat(changes) if changes is not None else None
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        code = os.waitstatus_to_exitcode(status)
        if code not in ((0,) if changes is not None else (0, 1)):
            raise SystemExit(f"benchmark: {' '.join(argv)} failed with {code}")
        if changes is not None and _stat(changes) == was:
            raise SystemExit(f"benchmark: {' '.join(argv)} did not change {changes}")
    return Measure(statistics.median(times), max(peaks))


def write_journal(log: Path, journal: Path) -> None:
    """The log's events as a jrnl journal: `[date time] Title. body`."""
    import yaml

    data = yaml.load(log.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    entries = []
    for event in data["events"]:
        date = str(event["date"]).rstrip("~?")
        date = date + "-01" * (2 - date.count("-"))
        entries.append(f"[{date} 09:00] {event['title']}.\n{event.get('summary', '')}\n")
    journal.write_text("\n".join(entries), encoding="utf-8")


def jrnl_peer(folder: Path, log: Path, repeat: int, env: dict[str, str]) -> Measure | None:
    """jrnl answering a date-range query on the same events, installed into a throwaway venv."""
    venv = folder / "jrnl-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "jrnl"], capture_output=True, text=True)
    if installed.returncode != 0:
        print(f"benchmark: could not install jrnl: {installed.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    journal = folder / "journal.txt"
    subprocess.run([sys.executable, __file__, "--journal", str(log), str(journal)], check=True)
    config_home = folder / "config"
    (config_home / "jrnl").mkdir(parents=True)
    (config_home / "jrnl" / "jrnl.yaml").write_text(
        textwrap.dedent(
            f"""\
            colors: {{body: none, date: none, tags: none, title: none}}
            default_hour: 9
            default_minute: 0
            editor: ''
            encrypt: false
            highlight: false
            indent_character: '|'
            journals: {{default: {{journal: {journal}}}}}
            linewrap: 79
            tagsymbols: '@'
            template: false
            timeformat: '%Y-%m-%d %H:%M'
            version: v4.2
            """
        )
    )
    jrnl_env = {**env, "XDG_CONFIG_HOME": str(config_home)}
    command = [str(venv / "bin" / "jrnl"), "-from", "2010-03-01", "-to", "2010-03-31"]
    return run(command, repeat, jrnl_env)


def machine() -> str:
    """CPU model, cores, memory and operating system of this machine."""
    import platform

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    return f"{model or platform.processor()}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"


@dataclass
class Row:
    """A line of the main table: a measured scenario, or (measured None) a value computed from others."""

    name: str
    measured: Measure | None
    floor: str = ""
    ratio: float = 0.0
    target: str = ""
    ok: bool | None = None
    seconds_text: str = ""
    peak_text: str = ""


def short(count: int) -> str:
    """100000 -> 100k, 1000000 -> 1M, 2500 -> 2,500."""
    for unit, size in (("M", 1_000_000), ("k", 1000)):
        if count >= size and count % size == 0:
            return f"{count // size}{unit}"
    return f"{count:,}"


def sizes_option(text: str) -> list[int]:
    try:
        sizes = [int(part.strip().replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 1000,10000,100000, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return sizes


class Writes:
    """Commands that change a log differently on each run: edit toggles a status, rm removes another
    event, import adds events with fresh ids. Knows each generated log's ids (from generate_log)."""

    def __init__(self, tracker: list[str], folder: Path) -> None:
        self.tracker = tracker
        self.folder = folder
        self.terms: dict[Path, dict[str, Any]] = {}
        self.edits: dict[Path, int] = {}
        self.batches = itertools.count(1)

    def generate(self, path: Path, count: int) -> dict[str, Any]:
        """Generate `path` in a child process, so that the parent stays small: a forked child's peak RSS
        counts the parent's."""
        generated = subprocess.run(
            [sys.executable, __file__, "--generate", str(path), str(count)], capture_output=True, text=True, check=True
        )
        self.terms[path] = json.loads(generated.stdout)
        return self.terms[path]

    def warm(self, path: Path) -> list[str]:
        """A cheap read of `path`: brings its index up to date."""
        return [*self.tracker, "list", "-f", str(path), "-n", "1"]

    def edit(self, path: Path) -> Callable[[int], list[str]]:
        def command(_: int) -> list[str]:
            done = self.edits.get(path, 0)
            self.edits[path] = done + 1
            status = ("confirmed", "disputed")[done % 2]
            return [*self.tracker, "edit", self.terms[path]["middle"], "--status", status, "-f", str(path)]

        return command

    def rm(self, path: Path) -> Callable[[int], list[str]]:
        def command(_: int) -> list[str]:
            spare = self.terms[path]["spare"]
            if not spare:
                raise SystemExit(f"benchmark: no event left to remove in {path}; raise SPARE")
            return [*self.tracker, "rm", spare.pop(0), "--yes", "-f", str(path)]

        return command

    def import_(self, path: Path) -> Callable[[int], list[str]]:
        def command(_: int) -> list[str]:
            batch = next(self.batches)
            source = self.folder / f"import-{batch}.jsonl"
            write_import(source, batch, self.terms[path]["registered"])
            return [*self.tracker, "import", str(source), "-f", str(path)]

        return command


def read_commands(path: Path, terms: dict[str, Any]) -> dict[str, list[str]]:
    """The reading scenarios on `path`, by name (without the tracker command)."""
    log = str(path)
    return {
        "list --actor": ["list", "-f", log, "--actor", terms["actor"]],
        "list --since --until --tag": [
            "list", "-f", log, "--since", "2010-03", "--until", "2010-05", "--tag", terms["tag"],
        ],
        "list --search": ["list", "-f", log, "--search", terms["search"]],
        "stats --by actor": ["stats", "-f", log, "--by", "actor"],
        "actors": ["actors", "-f", log],
        "export -F html --on 2024-03": ["export", "-f", log, "-F", "html", "--on", "2024-03"],
        "show ID": ["show", "-f", log, terms["middle"]],
        "export -F csv": ["export", "-f", log, "-F", "csv"],
        "export -F jsonl": ["export", "-f", log, "-F", "jsonl"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="size of the large log (default 100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per scenario (default 5)")
    parser.add_argument("--peers", action="store_true", help="also time jrnl on the same events")
    parser.add_argument("--keep", type=Path, help="write the generated logs here and keep them")
    parser.add_argument(
        "--flat-events",
        type=int,
        help="size of the log that export's peak memory at --events is compared with (default --events / 5)",
    )
    parser.add_argument("--scaling", action="store_true", help="then time every command at each of --sizes")
    parser.add_argument(
        "--sizes",
        type=sizes_option,
        help="log sizes of the scaling table (default 1000,10000,100000; implies --scaling)",
    )
    parser.add_argument(
        "--million", action="store_true", help="add a 1,000,000-event column to the scaling table (one run each; slow)"
    )
    parser.add_argument("--generate", nargs=2, metavar=("PATH", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--journal", nargs=2, metavar=("LOG", "JOURNAL"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.generate:
        # In a child process, so that the parent stays small: a forked child's peak RSS counts the parent's.
        print(json.dumps(generate_log(Path(options.generate[0]), int(options.generate[1]))))
        return
    if options.journal:
        write_journal(Path(options.journal[0]), Path(options.journal[1]))
        return

    folder = options.keep or Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        benchmark(options, folder)
    finally:  # also when a scenario fails: the logs and indexes are large
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)


def benchmark(options: argparse.Namespace, folder: Path) -> None:
    """Generate the logs into `folder`, measure the floors and every scenario, print the tables."""
    dropped = ("TRACKER_FILE", "TRACKER_NO_INDEX", "NO_COLOR", "PYTHONDONTWRITEBYTECODE")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env["XDG_CACHE_HOME"] = str(folder / "cache")
    python = sys.executable
    script = Path(python).with_name("tracker")
    tracker = [str(script)] if script.exists() else [python, "-m", "tracker"]
    writes = Writes(tracker, folder)
    big = folder / "big.yaml"
    small = folder / "small.yaml"
    small_pristine = folder / "small-pristine.yaml"
    small_import = folder / "small-import.yaml"
    flat = folder / "flat.yaml"
    flat_events = options.flat_events or max(1, options.events // 5)
    print(f"generating {options.events:,} events...", file=sys.stderr)
    terms = writes.generate(big, options.events)
    small_terms = writes.generate(small, 100)
    shutil.copyfile(small, small_pristine)  # what each small import starts from
    writes.terms[small_import] = small_terms
    print(f"generating {flat_events:,} events...", file=sys.stderr)
    writes.generate(flat, flat_events)
    (folder / "typer_floor.py").write_text(TYPER_FLOOR)
    (folder / "yaml_floor.py").write_text(YAML_FLOOR)
    repeat = options.repeat
    slow_repeat = max(1, min(repeat, 3))

    print("measuring floors...", file=sys.stderr)
    floors = {
        "python -c pass": run([python, "-c", "pass"], repeat, env),
        "typer + tabulate": run([python, str(folder / "typer_floor.py")], repeat, env),
        "CSafeLoader load+filter": run(
            [python, str(folder / "yaml_floor.py"), str(big), terms["actor"]], slow_repeat, env
        ),
    }
    if options.peers:
        print("installing and timing jrnl...", file=sys.stderr)
        peer = jrnl_peer(folder, big, slow_repeat, env)
        if peer is not None:
            floors["jrnl -from/-to"] = peer

    typer_floor = floors["typer + tabulate"].seconds
    yaml_floor = floors["CSafeLoader load+filter"]
    bundled = ROOT / "events.yaml"
    rows: list[Row] = []

    def scenario(
        name: str, command: Any, floor: str, limit: float | None, target: str, runs: int = repeat,
        peak_limit: float | None = None, **kwargs: Any,
    ) -> Measure:  # fmt: skip
        print(f"running {name}...", file=sys.stderr)
        measured = run(command, runs, env, **kwargs)
        base = floors[floor].seconds if floor in floors else typer_floor
        ok = None if limit is None else measured.seconds <= limit
        if peak_limit is not None and measured.peak_mib > peak_limit:
            ok = False
        rows.append(Row(name, measured, floor, measured.seconds / base, target, ok))
        return measured

    def computed(name: str, target: str, ok: bool, seconds_text: str = "", peak_text: str = "") -> None:
        rows.append(Row(name, None, target=target, ok=ok, seconds_text=seconds_text, peak_text=peak_text))

    def warm(*arguments: str) -> None:
        quiet([*tracker, *arguments], env)

    warm("list", "-f", str(bundled))  # writes bytecode and the bundled log's index, as a first run does
    scenario("tracker --version", [*tracker, "--version"], "typer + tabulate", typer_floor, "<= 1.0x typer")
    scenario("tracker --help", [*tracker, "--help"], "typer + tabulate", typer_floor, "<= 1.0x typer")
    scenario(
        "tracker list (bundled log)",
        [*tracker, "list", "-f", str(bundled)],
        "typer + tabulate",
        typer_floor,
        "<= 1.0x typer",
    )
    warm_limit = min(typer_floor + 0.1, yaml_floor.seconds / 100)
    reads = read_commands(big, terms)
    queries = {name: reads[name] for name in ("list --actor", "list --since --until --tag", "list --search")}
    cache = folder / "cache"
    big_size = f"{options.events:,}"
    cold = scenario(
        f"cold list --actor ({big_size})", [*tracker, *queries["list --actor"]], "CSafeLoader load+filter",
        0.4 * yaml_floor.seconds, "<= 0.4x CSafeLoader, <= 0.5x its RSS", slow_repeat,
        before=["rm", "-rf", str(cache)],
    )  # fmt: skip
    if cold.peak_mib > 0.5 * yaml_floor.peak_mib:
        rows[-1].ok = False
    for name, arguments in queries.items():
        measured = scenario(
            f"{name} ({big_size})", [*tracker, *arguments], "CSafeLoader load+filter", warm_limit,
            "<= typer+0.1s, >= 100x faster, >= 8x jrnl, <= 80 MiB", repeat, peak_limit=80,
        )  # fmt: skip
        if "jrnl -from/-to" in floors and measured.seconds * 8 > floors["jrnl -from/-to"].seconds:
            rows[-1].ok = False
    scenario(
        f"cold check ({big_size})", [*tracker, "check", "-f", str(big)], "CSafeLoader load+filter",
        0.5 * yaml_floor.seconds, "<= 0.5x CSafeLoader", slow_repeat, before=["rm", "-rf", str(cache)],
    )  # fmt: skip
    scenario(
        f"check, same content ({big_size})", [*tracker, "check", "-f", str(big)], "typer + tabulate",
        typer_floor + 0.1, "<= typer+0.1s", repeat,
    )  # fmt: skip
    warm("list", "-f", str(small))
    timed: dict[tuple[str, str], Measure] = {}
    for size, path in (("100", small), (big_size, big)):
        timed["add", size] = scenario(
            f"add, warm index ({size})", [*tracker, "add", "Benchmark event", "--date", "2024-05-01", "-f", str(path)],
            "typer + tabulate", typer_floor + 0.1, "<= typer+0.1s", repeat, changes=path,
        )  # fmt: skip
    ratio_name = f"{short(options.events)} / 100"
    add_ratio = timed["add", big_size].seconds / timed["add", "100"].seconds
    computed(f"add time ratio {ratio_name}", "<= 1.3", add_ratio <= 1.3, seconds_text=f"{add_ratio:.2f}")

    # Reading commands over the whole log, index warm.
    warm("list", "-f", str(big))
    for name in ("stats --by actor", "actors", "export -F html --on 2024-03", "show ID"):
        scenario(
            f"{name} ({big_size})", [*tracker, *reads[name]], "typer + tabulate", typer_floor + 0.2, "<= typer+0.2s"
        )
    # Exporting every event streams: time well under loading the log, memory flat in its size.
    warm("list", "-f", str(flat))
    flat_size = f"{flat_events:,}"
    flat_reads = read_commands(flat, writes.terms[flat])
    for name in ("export -F csv", "export -F jsonl"):
        low = scenario(f"{name} ({flat_size})", [*tracker, *flat_reads[name]], "CSafeLoader load+filter", None, "")
        high = scenario(
            f"{name} ({big_size})", [*tracker, *reads[name]], "CSafeLoader load+filter", 0.1 * yaml_floor.seconds,
            "<= 0.1x CSafeLoader, <= 100 MiB", peak_limit=100,
        )  # fmt: skip
        growth = high.peak_mib - low.peak_mib
        computed(
            f"{name} peak {short(options.events)} - {short(flat_events)}", "<= 10 MiB (peak MiB column)",
            growth <= 10, peak_text=f"{growth:.1f}",
        )  # fmt: skip

    # Changing one event, and importing 100, each run after an untimed list that brings the index up to date.
    def restore_small_import() -> None:  # every import at 100 starts from the same 100 events
        shutil.copyfile(small_pristine, small_import)
        quiet(writes.warm(small_import), env)

    changing = (
        ("edit", "edit --status", writes.edit, 1.3),
        ("rm", "rm --yes", writes.rm, 1.3),
        ("import", f"import {IMPORT_EVENTS} events", writes.import_, 1.5),
    )
    for command, label, make, most in changing:
        for size, path in (("100", small), (big_size, big)):
            before: list[str] | Callable[[], None] = writes.warm(path)
            if command == "import":  # no target but the ratio
                if path == small:
                    path, before = small_import, restore_small_import
                timed[command, size] = scenario(
                    f"{label} ({size})", make(path), "typer + tabulate", None, "", before=before, changes=path
                )
                continue
            timed[command, size] = scenario(
                f"{label} ({size})", make(path), "typer + tabulate", typer_floor + 0.15, "<= typer+0.15s, <= 80 MiB",
                peak_limit=80, before=before, changes=path,
            )  # fmt: skip
        ratio = timed[command, big_size].seconds / timed[command, "100"].seconds
        computed(f"{command} time ratio {ratio_name}", f"<= {most}", ratio <= most, seconds_text=f"{ratio:.2f}")
    scenario(
        f"list --actor after import ({big_size})", [*tracker, *reads["list --actor"]], "typer + tabulate",
        typer_floor + 0.1, "<= typer+0.1s (one run, right after an import)", 1,
    )  # fmt: skip

    print()
    print(
        f"machine: {machine()}; Python {sys.version.split()[0]}; {options.events:,} events; median of {repeat} runs"
        f" ({slow_repeat} for the slow ones)"
    )
    print()
    header = (
        f"{'scenario':38} {'median s':>9} {'peak MiB':>9}  {'floor':24} {'floor s':>8} {'ratio':>7}  {'target':52} met"
    )
    print(header)
    print("-" * len(header))
    for name, measure in floors.items():
        print(f"{name:38} {measure.seconds:9.3f} {measure.peak_mib:9.1f}  {'(floor)':24} {'':8} {'':7}")
    for row in rows:
        met = "" if row.ok is None else "yes" if row.ok else "NO"
        if row.measured is None:
            print(
                f"{row.name:38} {row.seconds_text:>9} {row.peak_text:>9}  {'':24} {'':8} {'':7}  {row.target:52} {met}"
            )
            continue
        print(
            f"{row.name:38} {row.measured.seconds:9.3f} {row.measured.peak_mib:9.1f}  {row.floor:24} "
            f"{floors[row.floor].seconds:8.3f} {row.ratio:7.2f}  {row.target:52} {met}"
        )
    sys.stdout.flush()

    if options.scaling or options.million or options.sizes:
        sizes = list(dict.fromkeys(options.sizes or (1_000, 10_000, 100_000)))
        if options.million and 1_000_000 not in sizes:
            sizes.append(1_000_000)
        columns = {}
        for count in sizes:
            runs = 1 if options.million and count == 1_000_000 else slow_repeat
            columns[count] = scale(count, runs, folder, tracker, writes, env, keep=options.keep is not None)
        print()
        print_scaling(columns, slow_repeat, options.million)


SCALING = (
    "cold list --actor",
    "list --actor",
    "list --search",
    "check, same content",
    "stats --by actor",
    "actors",
    "export -F html --on 2024-03",
    "show ID",
    "export -F csv",
    "export -F jsonl",
    "add",
    "edit --status",
    "rm --yes",
    f"import {IMPORT_EVENTS} events",
    "list --actor after import",
)


def scale(
    count: int, runs: int, folder: Path, tracker: list[str], writes: Writes, env: dict[str, str], *, keep: bool
) -> dict[str, Measure]:
    """Every command of SCALING on a fresh log of `count` events with a cache of its own."""
    log = folder / f"scale-{count}.yaml"
    cache = folder / f"cache-{count}"
    print(f"generating {count:,} events...", file=sys.stderr)
    terms = writes.generate(log, count)
    environment = {**env, "XDG_CACHE_HOME": str(cache)}
    reads = read_commands(log, terms)
    measured: dict[str, Measure] = {}

    def measure(name: str, command: Any, times: int = runs, **kwargs: Any) -> None:
        print(f"running {name} ({count:,})...", file=sys.stderr)
        measured[name] = run(command, times, environment, **kwargs)

    measure("cold list --actor", [*tracker, *reads["list --actor"]], before=["rm", "-rf", str(cache)])
    for name in ("list --actor", "list --search"):
        measure(name, [*tracker, *reads[name]])
    quiet([*tracker, "check", "-f", str(log)], environment, check=False)  # check remembers this content
    measure("check, same content", [*tracker, "check", "-f", str(log)])
    for name in (
        "stats --by actor",
        "actors",
        "export -F html --on 2024-03",
        "show ID",
        "export -F csv",
        "export -F jsonl",
    ):
        measure(name, [*tracker, *reads[name]])
    measure("add", [*tracker, "add", "Benchmark event", "--date", "2024-05-01", "-f", str(log)], changes=log)
    measure("edit --status", writes.edit(log), before=writes.warm(log), changes=log)
    measure("rm --yes", writes.rm(log), before=writes.warm(log), changes=log)
    measure(f"import {IMPORT_EVENTS} events", writes.import_(log), before=writes.warm(log), changes=log)
    measure("list --actor after import", [*tracker, *reads["list --actor"]], 1)  # one run, right after an import
    if not keep:
        log.unlink()
        shutil.rmtree(cache, ignore_errors=True)
    return measured


def print_scaling(columns: dict[int, dict[str, Measure]], runs: int, million: bool) -> None:
    """One row per command, a pair of columns (seconds, peak MiB) per log size, and how the time grew."""
    sizes = list(columns)
    note = f"median of {runs} run{'s' if runs > 1 else ''} per cell" + ("; one run at 1,000,000" if million else "")
    print(f"scaling: seconds and peak MiB by log size ({note}); index warm except the cold build")
    print()
    growth = f"s {short(sizes[-1])}/{short(sizes[0])}" if len(sizes) > 1 else ""
    header = f"{'command':28}" + "".join(f" {f'{count:,} s':>12} {'MiB':>7}" for count in sizes) + f" {growth:>12}"
    print(header)
    print("-" * len(header))
    for name in SCALING:
        cells = [columns[count][name] for count in sizes]
        line = f"{name:28}" + "".join(f" {cell.seconds:12.3f} {cell.peak_mib:7.1f}" for cell in cells)
        if len(sizes) > 1:
            line += f" {cells[-1].seconds / cells[0].seconds:11.1f}x"
        print(line)


if __name__ == "__main__":
    main()
