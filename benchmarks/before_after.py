"""Before/after: the same benchmarks on two versions of the code, alternated, medians reported.

    python benchmarks/before_after.py --before c0eae6b [--after HEAD] [--repeat 3] [-- run.py options]

Each version is exported with ``git archive`` into a temporary directory (the working tree is not
touched) and its own ``benchmarks/run.py`` is run there, alternating before, after, before,
after... so both see the same machine state. Prints a table of the medians and, as its last line,
JSON ``{"before": {...}, "after": {...}}`` with the medians of the chosen figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
	sys.path.insert(0, str(ROOT))

from benchmarks import common  # after the path fix-up above

FIGURES = (
	("hot", "payments_per_s"),
	("hot", "floor_payments_per_s"),
	("hot", "ratio_to_floor"),
	("hot", "p50_ms"),
	("hot", "p99_ms"),
	("hot", "lost_updates"),
	("spread", "payments_per_s"),
	("spread", "floor_payments_per_s"),
	("spread", "ratio_to_floor"),
	("storm", "callbacks_per_s"),
	("storm", "duplicate_p50_ms"),
	("trips", "per_payment"),
	("trips", "under_driver_lock"),
)
REPEAT_MAX = 10
RUN_TIMEOUT_S = 900


def export(rev: str, into: Path) -> Path:
	"""``git archive rev`` unpacked into ``into``; returns it."""
	archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
	subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
	return into


def run_once(tree: Path, options: list[str]) -> dict:
	completed = subprocess.run(
		[sys.executable, str(tree / "benchmarks" / "run.py"), *options],
		check=True,
		capture_output=True,
		text=True,
		cwd=tree,
		timeout=RUN_TIMEOUT_S,
	)
	return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--before", required=True, help="git revision of the 'before' code")
	parser.add_argument("--after", default="HEAD", help="git revision of the 'after' code (default HEAD)")
	parser.add_argument("--repeat", type=int, default=3, help="runs of each version, alternated")
	parser.add_argument("options", nargs="*", help="options for run.py, after --")
	args = parser.parse_args(argv)
	if not 1 <= args.repeat <= REPEAT_MAX:
		parser.error(f"--repeat must be between 1 and {REPEAT_MAX}")
	results: dict[str, list[dict]] = {"before": [], "after": []}
	with tempfile.TemporaryDirectory() as before_dir, tempfile.TemporaryDirectory() as after_dir:
		trees = {
			"before": export(args.before, Path(before_dir)),
			"after": export(args.after, Path(after_dir)),
		}
		for attempt in range(args.repeat):
			for version in ("before", "after"):
				results[version].append(run_once(trees[version], args.options))
				print(f"run {attempt + 1}/{args.repeat} {version}: done", file=sys.stderr)
	summary: dict[str, dict] = {"before": {}, "after": {}}
	rows = []
	for section, key in FIGURES:
		medians = []
		for version in ("before", "after"):
			values = [run[section][key] for run in results[version] if key in run.get(section, {})]
			median = statistics.median(values) if values else None
			summary[version][f"{section}.{key}"] = median
			medians.append("-" if median is None else median)
		rows.append([f"{section}.{key}", *medians])
	common.print_table(
		f"Before ({args.before}) / after ({args.after}): medians of {args.repeat} alternated run(s) of run.py "
		+ " ".join(args.options),
		["figure", "before", "after"],
		rows,
	)
	summary["runs"] = results
	print(json.dumps(summary))
	return 0


if __name__ == "__main__":
	sys.exit(main())
