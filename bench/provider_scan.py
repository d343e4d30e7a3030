# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: banned-provider scanner beside `grep -rEic` over the same tree.

    .venv/bin/python bench/provider_scan.py [--files 2000] [--mb 50] [--repeat 3]

Generates a tree of config files (YAML, JSON, Markdown/text; mostly clean,
with a few planted findings and a few non-ASCII files) in a temporary
directory, then times, in the same run and on a warm page cache:

* ``grep -rEic`` with the catalogue's terms (what a shell gate would do;
  grep has no Unicode folding, no boundaries, no key paths);
* ``fleet_providers.scan_paths`` (the module/CLI path: findings with
  line, column and key path).

Prints a table (files, MB, seconds, MB/s, ratio to grep); best of --repeat.
The target is to stay within 5x of grep.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))

from fleet import providers as fp

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


def _time(func, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    grep = shutil.which("grep")
    if grep is None:
        print("grep not found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="provider-bench-") as tmp:
        root = Path(tmp)
        size, planted = build_tree(root, args.files, args.mb)
        # warm the page cache so both tools read from memory
        subprocess.run([grep, "-rc", "zzzz-none", str(root)], capture_output=True, check=False)

        def run_grep():
            proc = subprocess.run([grep, "-rEic", GREP_TERMS, str(root)],
                                  capture_output=True, text=True, check=False)
            return sum(int(line.rsplit(":", 1)[1]) for line in proc.stdout.splitlines())

        def run_scan():
            return fp.scan_paths([str(root)])

        grep_s, grep_lines = _time(run_grep, args.repeat)
        scan_s, report = _time(run_scan, args.repeat)
    megabytes = size / 1e6
    print(f"tree: {args.files} files, {megabytes:.1f} MB, {planted} planted findings; "
          f"grep matched {grep_lines} lines, scanner found {len(report.failures)} "
          f"({len(report.allowed)} allowed, {len(report.errors)} errors)")
    print(f"{'tool':<24}{'files':>7}{'MB':>8}{'seconds':>10}{'MB/s':>9}{'x grep':>8}")
    for name, seconds in (("grep -rEic", grep_s), ("fleet_providers.scan", scan_s)):
        print(f"{name:<24}{args.files:>7}{megabytes:>8.1f}{seconds:>10.3f}"
              f"{megabytes / seconds:>9.1f}{seconds / grep_s:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
