"""Benchmark tracker at scale against floors measured in the same run (not collected by pytest).

    python tests/benchmark.py                 # 100,000 events, 5 runs per scenario
    python tests/benchmark.py --events 20000 --repeat 3
    python tests/benchmark.py --peers         # also jrnl on the same events, in a throwaway venv

Every scenario runs as a whole process; the table shows the median wall time, the
peak RSS of the process, the floor it is measured against and the ratio. Floors:
`python -c pass`, a minimal typer command printing a 15-row tabulate table, and a
plain script that loads the log with yaml.CSafeLoader and filters it.
"""

from __future__ import annotations

import argparse
import contextlib
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
from dataclasses import dataclass
from pathlib import Path

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


def generate_log(path: Path, count: int, seed: int = 2024) -> dict[str, str]:
    """Write a realistic log of `count` events; returns values the scenarios query for."""
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
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"actor": actors[7], "tag": "sanctions", "search": "press conference rejects"}


@dataclass
class Measure:
    seconds: float
    peak_mib: float


def run(command: list[str], repeat: int, env: dict[str, str], before: list[str] | None = None) -> Measure:
    """Median wall time and the largest peak RSS of `repeat` runs of `command` as a whole process."""
    times, peaks = [], []
    for _ in range(repeat):
        if before:
            subprocess.run(before, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            raise SystemExit(f"benchmark: {' '.join(command)} failed with {os.waitstatus_to_exitcode(status)}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="size of the large log (default 100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per scenario (default 5)")
    parser.add_argument("--peers", action="store_true", help="also time jrnl on the same events")
    parser.add_argument("--keep", type=Path, help="write the generated logs here and keep them")
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
    dropped = ("TRACKER_FILE", "TRACKER_NO_INDEX", "NO_COLOR", "PYTHONDONTWRITEBYTECODE")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env["XDG_CACHE_HOME"] = str(folder / "cache")
    python = sys.executable
    script = Path(python).with_name("tracker")
    tracker = [str(script)] if script.exists() else [python, "-m", "tracker"]
    big = folder / "big.yaml"
    small = folder / "small.yaml"
    print(f"generating {options.events:,} events...", file=sys.stderr)
    generated = subprocess.run(
        [python, __file__, "--generate", str(big), str(options.events)], capture_output=True, text=True, check=True
    )
    terms = json.loads(generated.stdout)
    subprocess.run([python, __file__, "--generate", str(small), "100"], capture_output=True, check=True)
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
    rows: list[tuple[str, Measure, str, float, str, bool]] = []

    def scenario(name: str, command: list[str], floor: str, limit: float, target: str, runs: int = repeat, **kwargs):
        print(f"running {name}...", file=sys.stderr)
        measured = run(command, runs, env, **kwargs)
        base = floors[floor].seconds if floor in floors else typer_floor
        ok = measured.seconds <= limit
        rows.append((name, measured, floor, measured.seconds / base, target, ok))
        return measured

    def warm(*arguments: str) -> None:
        subprocess.run(
            [*tracker, *arguments], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )

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
    queries = {
        "list --actor": ["list", "-f", str(big), "--actor", terms["actor"]],
        "list --since --until --tag": [
            "list",
            "-f",
            str(big),
            "--since",
            "2010-03",
            "--until",
            "2010-05",
            "--tag",
            terms["tag"],
        ],
        "list --search": ["list", "-f", str(big), "--search", terms["search"]],
    }
    cache = folder / "cache"
    cold = scenario(
        f"cold list --actor ({options.events:,})", [*tracker, *queries["list --actor"]], "CSafeLoader load+filter",
        0.4 * yaml_floor.seconds, "<= 0.4x CSafeLoader, <= 0.5x its RSS", slow_repeat,
        before=["rm", "-rf", str(cache)],
    )  # fmt: skip
    if cold.peak_mib > 0.5 * yaml_floor.peak_mib:
        rows[-1] = (*rows[-1][:5], False)
    for name, arguments in queries.items():
        measured = scenario(
            f"{name} ({options.events:,})", [*tracker, *arguments], "CSafeLoader load+filter", warm_limit,
            "<= typer+0.1s, >= 100x faster, >= 8x jrnl, <= 80 MiB", repeat,
        )  # fmt: skip
        if measured.peak_mib > 80:
            rows[-1] = (*rows[-1][:5], False)
        if "jrnl -from/-to" in floors and measured.seconds * 8 > floors["jrnl -from/-to"].seconds:
            rows[-1] = (*rows[-1][:5], False)
    scenario(
        f"cold check ({options.events:,})", [*tracker, "check", "-f", str(big)], "CSafeLoader load+filter",
        0.5 * yaml_floor.seconds, "<= 0.5x CSafeLoader", slow_repeat, before=["rm", "-rf", str(cache)],
    )  # fmt: skip
    scenario(
        f"check, same content ({options.events:,})", [*tracker, "check", "-f", str(big)], "typer + tabulate",
        typer_floor + 0.1, "<= typer+0.1s", repeat,
    )  # fmt: skip
    warm("list", "-f", str(small))
    for size, path in (("100", small), (f"{options.events:,}", big)):
        scenario(
            f"add, warm index ({size})", [*tracker, "add", "Benchmark event", "--date", "2024-05-01", "-f", str(path)],
            "typer + tabulate", typer_floor + 0.1, "<= typer+0.1s", repeat,
        )  # fmt: skip
    add_ratio = rows[-1][1].seconds / rows[-2][1].seconds
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
    for name, measured, floor, ratio, target, ok in rows:
        print(
            f"{name:38} {measured.seconds:9.3f} {measured.peak_mib:9.1f}  {floor:24} "
            f"{floors[floor].seconds:8.3f} {ratio:7.2f}  {target:52} {'yes' if ok else 'NO'}"
        )
    print(
        f"{'add time ratio 100k / 100':38} {add_ratio:9.2f} {'':9}  {'':24} {'':8} {'':7}  {'<= 1.3':52} {'yes' if add_ratio <= 1.3 else 'NO'}"
    )
    if not options.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
