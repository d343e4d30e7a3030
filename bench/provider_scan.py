# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: banned-provider scanner beside `grep -Eic` over the same bytes.

    .venv/bin/python bench/provider_scan.py [--files 2000] [--mb 50] [--shape-mb 2.5]
        [--repeat 3] [--shape-repeat 2] [--no-tree] [--shapes SHAPE ...] [--results FILE]

Everything is generated (seeded, so every run reads the same bytes) in a
temporary directory, read once so that grep and the scanner both read from
the page cache, then timed in the same run:

* ``grep -Eic`` with the catalogue's terms (what a shell gate would do; grep
  has no Unicode folding, no boundaries, no key paths);
* ``fleet_providers.scan_paths`` (the module/CLI path: findings with line,
  column and key path; YAML and JSON files are composed and their decoded
  values judged too).

Inputs:

* the tree: --files config files (YAML, JSON, Markdown; mostly clean, a few
  planted findings, a few non-ASCII files), --mb MB in all;
* shapes that made the scanner slow (about 1 s per MB) before: one file each,
  at --shape-mb MB and at 4x that:
  - long-line: one line of JSON, one finding near its end;
  - hits-every-100: block YAML, a finding on every 100th line;
  - hits-every-line: a finding on every line;
  - near-miss: lines that almost name the provider (claud, anthropi, sonne-4,
    Claudette, philanthropic, a ligature's filanthropic, magnum opus,
    model: opus-magnum...): no finding, but the prefilter's words are there.
  Each shape is scanned under its YAML/JSON name (text scan, key paths and
  decoded values) and, the same bytes, under a .txt name (text scan only).

Times are CPU seconds (user + system: the scanner's process time, grep's from
its rusage), best of --repeat (tree) or --shape-repeat (shapes): other work
on this machine changes wall time, not CPU time. For context, "compose x
grep" is libyaml composing the YAML/JSON file alone: the floor of a file
that mentions a term, whose findings get key paths (no target of its own).

Targets: within 5x of grep (at the 4x size for shapes), and linear: the 4x
size takes at most 5x the time of the 1x size (4 when exactly linear; the
rest is noise).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "module_utils"))
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from fleet import providers as fp  # noqa: E402

from bench.results import add_results_argument, record  # noqa: E402

BENCH = "provider-scan"
MAX_X_GREP = 5.0
MAX_GROWTH = 5.0  # time at 4x the size over time at 1x: 4 when linear, plus noise

GREP_TERMS = ("anthropic|claude|sk-ant|(sonnet|opus|haiku)[-_.]?[0-9]"
              "|model[a-z_-]*[\"']?[ \t]*[:=][ \t]*[\"']?(sonnet|opus|haiku)")
_WORD_TEXT = ("agent harness memory budget toolset channel wizard timmy hermes cron schedule "
              "provider local endpoint timeout retries enabled disabled temperature prompt system "
              "identity heartbeat deadman rollback snapshot overlay signature trail verify key "
              "operator fleet inventory policy converge restart service unit sandbox user group "
              "qwen llama mistral ollama vllm groq router fallback context window tokens")
WORDS = _WORD_TEXT.split()
PLANTED = ("model: claude-3-opus", "base_url: https://api.anthropic.com/v1",
           "ANTHROPIC_API_KEY: x", "fallback: openrouter/anthropic/claude-3.5-sonnet",
           "note: cl\u200baude", "model: \uff23\uff4c\uff41\uff55\uff44\uff45")
# Almost the provider's words; none is a finding.
NEAR_MISSES = ("claud", "anthropi", "sonne-4", "Claudette", "philanthropic", "\ufb01lanthropic",
               "magnum opus", "Sonnet 18", "a haiku", "cl4ude", "anthr0pic", "sk-an",
               "claudia", "opus-magnum", "sonnets", "haikus")


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _yaml(rng: random.Random, size: int) -> str:
    lines, total = [], 0
    while total < size:
        line = f"{rng.choice(WORDS)}_{rng.randrange(999)}:\n  value: {_sentence(rng, 8)}\n" \
               f"  url: https://{rng.choice(WORDS)}.example/v1\n  count: {rng.randrange(10**6)}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines)


def _json(rng: random.Random, size: int) -> str:
    items, total = [], 0
    while total < size:
        item = {"name": rng.choice(WORDS), "model": f"{rng.choice(WORDS)}-{rng.randrange(99)}",
                "notes": _sentence(rng, 10), "id": rng.randrange(10**9)}
        items.append(item)
        total += 140
    return json.dumps({"entries": items}, indent=1)


def _text(rng: random.Random, size: int) -> str:
    paragraphs, total = [], 0
    while total < size:
        paragraph = _sentence(rng, 60) + ".\n\n"
        paragraphs.append(paragraph)
        total += len(paragraph)
    return "# Notes\n\n" + "".join(paragraphs)


def build_tree(root: Path, files: int, megabytes: float, seed: int = 7) -> tuple[int, int]:
    """Write the tree; return (bytes written, findings planted)."""
    rng = random.Random(seed)
    per_file = int(megabytes * 1e6 / files)
    written = planted = 0
    for index in range(files):
        kind = index % 3
        directory = root / f"host{index % 40:02d}" / ("files", "vars", "docs")[kind]
        directory.mkdir(parents=True, exist_ok=True)
        size = rng.randint(per_file // 2, per_file * 3 // 2)
        text = (_yaml, _json, _text)[kind](rng, size)
        name = f"f{index:04d}." + ("yaml", "json", "md")[kind]
        if index % 97 == 13 and kind == 0:  # a few planted findings
            text += PLANTED[planted % len(PLANTED)] + "\n"
            planted += 1
        if index % 50 == 7:  # a few files with harmless non-ASCII
            text += "caf\u00e9 na\u00efve \u2014 \u00e9t\u00e9\n"
        data = text.encode("utf-8")
        (directory / name).write_bytes(data)
        written += len(data)
    return written, planted


# ------------------------------------------------------------------ shapes

def _long_line(rng: random.Random, size: int) -> str:
    """One line of JSON; one finding near its end."""
    items, total = [], 0
    while total < size:
        item = f'"{rng.choice(WORDS)}_{len(items)}": "{_sentence(rng, 4)}"'
        items.append(item)
        total += len(item) + 2
    items.insert(len(items) - 3, '"model": "claude-3-opus"')
    return "{" + ", ".join(items) + "}\n"


def _hits_every(step: int) -> Callable[[random.Random, int], str]:
    def generate(rng: random.Random, size: int) -> str:
        lines, total = [], 0
        while total < size:
            index = len(lines)
            if index % step == step - 1:
                line = f"key_{index}: claude-3-opus via {rng.choice(WORDS)}\n"
            else:
                line = f"key_{index}: {_sentence(rng, 6)}\n"
            lines.append(line)
            total += len(line)
        return "".join(lines)
    return generate


def _near_miss(rng: random.Random, size: int) -> str:
    lines, total = [], 0
    while total < size:
        line = (f"key_{len(lines)}: {rng.choice(NEAR_MISSES)} {rng.choice(WORDS)} "
                f"{rng.choice(NEAR_MISSES)}\n")
        if len(lines) % 10 == 5:
            line = f"model_{len(lines)}: {rng.choice(('opus-magnum', 'sonnets', 'haikus'))}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines)


# name -> (generator, structured file suffix)
SHAPES: dict[str, tuple[Callable[[random.Random, int], str], str]] = {
    "long-line": (_long_line, "json"),
    "hits-every-100": (_hits_every(100), "yaml"),
    "hits-every-line": (_hits_every(1), "yaml"),
    "near-miss": (_near_miss, "yaml"),
}


def write_shape(directory: Path, shape: str, size: int, seed: int = 11) -> list[Path]:
    """The shape at `size` bytes, as <shape>.<yaml|json> and the same bytes as <shape>.txt."""
    generate, suffix = SHAPES[shape]
    data = generate(random.Random(seed), size).encode("utf-8")
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{shape}.{suffix}", directory / f"{shape}.txt"]
    for path in paths:
        path.write_bytes(data)
    return paths


# ------------------------------------------------------------------ timing

def _grep_cpu(grep: str, target: Path) -> tuple[float, int]:
    """CPU seconds of one `grep -rEic` over target, and the lines it matched."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([grep, "-rEic", GREP_TERMS, str(target)],
                          capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = sum(int(line.rsplit(":", 1)[1]) if ":" in line else int(line)
                for line in proc.stdout.splitlines())
    return seconds, lines


def _scan_cpu(target: Path) -> tuple[float, fp.ScanReport]:
    start = time.process_time()
    report = fp.scan_paths([str(target)])
    return time.process_time() - start, report


def _compose_cpu(target: Path) -> tuple[float, None]:
    """CPU seconds of composing the file with libyaml alone (GC off, as the scanner does):
    the least a YAML/JSON file with a finding costs, for its key paths."""
    text = target.read_text(encoding="utf-8")
    gc.disable()
    try:
        start = time.process_time()
        list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
        return time.process_time() - start, None
    finally:
        gc.enable()


def best_of(repeat: int, func: Callable[[], tuple[float, object]]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        seconds, result = func()
        best = min(best, seconds)
    return best, result


def _warm(target: Path) -> None:
    for path in [target] if target.is_file() else target.rglob("*"):
        if path.is_file():
            path.read_bytes()


def run_tree(grep: str, tmp: Path, args: argparse.Namespace) -> None:
    root = tmp / "tree"
    size, planted = build_tree(root, args.files, args.mb)
    _warm(root)
    grep_s, grep_lines = best_of(args.repeat, lambda: _grep_cpu(grep, root))
    scan_s, report = best_of(args.repeat, lambda: _scan_cpu(root))
    megabytes = size / 1e6
    ratio = scan_s / grep_s
    print(f"tree: {args.files} files, {megabytes:.1f} MB, {planted} planted findings; "
          f"grep matched {grep_lines} lines, scanner found {len(report.failures)} "
          f"({len(report.allowed)} allowed, {len(report.errors)} errors)")
    print(f"{'tool':<24}{'files':>7}{'MB':>8}{'cpu s':>10}{'MB/s':>9}{'x grep':>8}")
    for name, seconds in (("grep -rEic", grep_s), ("fleet_providers.scan", scan_s)):
        print(f"{name:<24}{args.files:>7}{megabytes:>8.1f}{seconds:>10.3f}"
              f"{megabytes / seconds:>9.1f}{seconds / grep_s:>8.2f}")
    record(args.results, BENCH, "provider-scan tree x grep", ratio, "x",
           f"<= {MAX_X_GREP:g}x", ratio <= MAX_X_GREP)


def run_shapes(grep: str, tmp: Path, args: argparse.Namespace) -> None:
    sizes = (int(args.shape_mb * 1e6), int(args.shape_mb * 4e6))
    print(f"\nshapes at {sizes[0] / 1e6:g} MB and {sizes[1] / 1e6:g} MB "
          f"(CPU s, best of {args.shape_repeat}; x grep over the same bytes)")
    header = (f"{'shape':<26}{'MB':>6}{'lines':>9}{'grep s':>9}{'scan s':>9}{'MB/s':>7}"
              f"{'x grep':>8}{'found':>8}{'compose x grep':>16}")
    print(header)
    for shape in args.shapes:
        rows = {}  # file name -> [(grep s, scan s)] per size
        for size in sizes:
            directory = tmp / "shapes" / str(size)
            paths = write_shape(directory, shape, size)
            _warm(paths[0])
            grep_s, grep_lines = best_of(args.shape_repeat,
                                         lambda target=paths[0]: _grep_cpu(grep, target))
            for path in paths:
                scan_s, report = best_of(args.shape_repeat, lambda target=path: _scan_cpu(target))
                fmt = path.suffix.lstrip(".").replace("txt", "text")
                label = f"{shape} {fmt}"
                megabytes = path.stat().st_size / 1e6
                compose = ""
                if fmt != "text":  # the floor of the YAML/JSON pass, for context
                    compose_s, _ = best_of(args.shape_repeat,
                                           lambda target=path: _compose_cpu(target))
                    compose = f"{compose_s / grep_s:.1f}"
                print(f"{label:<26}{megabytes:>6.1f}{grep_lines:>9}{grep_s:>9.3f}{scan_s:>9.3f}"
                      f"{megabytes / scan_s:>7.1f}{scan_s / grep_s:>8.1f}"
                      f"{len(report.findings):>8}{compose:>16}", flush=True)
                rows.setdefault(label, []).append((grep_s, scan_s))
                path.unlink()
        for label, ((_grep1, scan1), (grep4, scan4)) in rows.items():
            ratio, growth = scan4 / grep4, scan4 / scan1
            print(f"  {label}: {ratio:.1f}x grep at {sizes[1] / 1e6:g} MB; "
                  f"4x size / 1x size: {growth:.2f}")
            record(args.results, BENCH, f"provider-scan {label} x grep", ratio, "x",
                   f"<= {MAX_X_GREP:g}x", ratio <= MAX_X_GREP)
            record(args.results, BENCH, f"provider-scan {label} 4x size / 1x size", growth, "",
                   f"<= {MAX_GROWTH:g}", growth <= MAX_GROWTH)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mb", type=float, default=50.0, help="size of the tree")
    parser.add_argument("--shape-mb", type=float, default=2.5,
                        help="size of each shape's smaller file (the larger is 4x)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the tree, best kept")
    parser.add_argument("--shape-repeat", type=int, default=2, help="runs of each shape")
    parser.add_argument("--no-tree", action="store_true", help="only the shapes")
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES),
                        metavar="SHAPE", help=f"only these ({', '.join(SHAPES)})")
    add_results_argument(parser)
    args = parser.parse_args()
    grep = shutil.which("grep")
    if grep is None:
        print("grep not found", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="provider-bench-") as tmp:
        if not args.no_tree:
            run_tree(grep, Path(tmp), args)
        run_shapes(grep, Path(tmp), args)
    print(f"\nbench took {time.monotonic() - started:.0f} s (wall), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
