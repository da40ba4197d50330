"""Run every benchmark, print their tables, and end with one JSON line of the figures.

    python benchmarks/run.py [--quick] [--db-url mysql://root@127.0.0.1:3306] [--workers 4] [--rounds N]

Each benchmark creates its own throwaway database on that server and drops it at the end. The
last line of stdout is one JSON object: ``{"machine": ..., "hot": {...}, "naive": {...},
"spread": {...}, "storm": {...}, <other>: {...}}``. Besides the payment benchmarks, every module
``benchmarks/bench_<name>.py`` that exposes ``run(db_url, quick) -> dict`` is run too and its
result lands under ``<name>``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
	sys.path.insert(0, str(ROOT))

from benchmarks import common, payments, round_trips  # after the path fix-up above

ROUNDS_FULL = 3
ROUNDS_QUICK = 1
WORKERS_DEFAULT = 4
WORKERS_MAX = 32
ROUNDS_MAX = 10


def discovered_benchmarks() -> list[str]:
	"""Names of ``benchmarks/bench_*.py`` modules, sorted."""
	return sorted(path.stem for path in (ROOT / "benchmarks").glob("bench_*.py"))


def run_discovered(name: str, db_url: str, quick: bool) -> dict:
	module = importlib.import_module(f"benchmarks.{name}")
	if not callable(getattr(module, "run", None)):
		return {"skipped": "no run(db_url, quick) function"}
	try:
		result = module.run(db_url, quick)
	except Exception as exc:  # one failing benchmark must not hide the others' figures
		traceback.print_exc()
		return {"error": f"{type(exc).__name__}: {exc}"}
	return result if isinstance(result, dict) else {"result": result}


def main(argv: list[str] | None = None) -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--quick", action="store_true", help="fewer payments, one round (< 1 minute)")
	parser.add_argument(
		"--db-url", default=common.DEFAULT_SERVER_URL, help="MariaDB server (the database part is ignored)"
	)
	parser.add_argument("--workers", type=int, default=WORKERS_DEFAULT, help="worker processes per variant")
	parser.add_argument(
		"--rounds",
		type=int,
		default=None,
		help=f"rounds per benchmark (default {ROUNDS_FULL}, --quick {ROUNDS_QUICK})",
	)
	parser.add_argument(
		"--only",
		action="append",
		help="run only these benchmarks (hot, trips, spread, storm, or a bench_ name)",
	)
	parser.add_argument(
		"--receipts",
		action="store_true",
		help="payment receipts by SMS on (carried on each payment's TukTuk Transaction row)",
	)
	args = parser.parse_args(argv)
	common.RECEIPTS_ENABLED = args.receipts
	if not 1 <= args.workers <= WORKERS_MAX:
		parser.error(f"--workers must be between 1 and {WORKERS_MAX}")
	rounds = args.rounds or (ROUNDS_QUICK if args.quick else ROUNDS_FULL)
	if not 1 <= rounds <= ROUNDS_MAX:
		parser.error(f"--rounds must be between 1 and {ROUNDS_MAX}")
	selected = set(args.only or [])

	def wanted(name: str) -> bool:
		return not selected or name in selected

	started = time.perf_counter()
	figures: dict = {"machine": common.machine()}
	figures["machine"].update(common.server_info(args.db_url))
	options = {"quick": args.quick, "workers": args.workers, "rounds": rounds}
	if wanted("hot"):
		hot = payments.hot(args.db_url, **options)
		figures["hot"] = {
			"payments_per_s": round(hot["core"]["payments_per_s"], 1),
			"floor_payments_per_s": round(hot["floor"]["payments_per_s"], 1),
			"ratio_to_floor": round(hot["ratio_to_floor"], 3),
			"lost_updates": hot["core"]["lost_updates"],
			"p50_ms": round(hot["core"]["p50_ms"], 2),
			"p99_ms": round(hot["core"]["p99_ms"], 2),
			"floor_p50_ms": round(hot["floor"]["p50_ms"], 2),
			"floor_p99_ms": round(hot["floor"]["p99_ms"], 2),
			"floor_lost_updates": hot["floor"]["lost_updates"],
			"raw_first_floor_payments_per_s": round(hot["raw_first_floor"]["payments_per_s"], 1),
			"ratio_to_raw_first_floor": round(hot["ratio_to_raw_first_floor"], 3),
			"books_clean": hot["books_clean"],
			"ratios": hot["ratios"],
			"workers": args.workers,
			"rounds": rounds,
		}
		figures["naive"] = {
			"payments_per_s": round(hot["naive"]["payments_per_s"], 1),
			"lost_updates": hot["naive"]["lost_updates"],
			"payments": hot["payments_per_round"] * rounds,
			"p50_ms": round(hot["naive"]["p50_ms"], 2),
			"p99_ms": round(hot["naive"]["p99_ms"], 2),
		}
	if wanted("trips"):
		trips = round_trips.run(args.db_url, payments=100 if args.quick else 300)
		figures["trips"] = {
			"per_payment": round(trips["per_payment"], 1),
			"under_driver_lock": round(trips["under_driver_lock"], 1),
			"lock_held_ms": round(trips["lock_held_ms"], 3),
			"python_under_lock_ms": round(trips["python_under_lock_ms"], 3),
			# The floor: lock, insert payment, insert its lines, update, commit.
			"floor_per_payment": 5,
			"floor_under_driver_lock": 5,
		}
	if wanted("spread"):
		spread = payments.spread(args.db_url, **options)
		figures["spread"] = {
			"payments_per_s": round(spread["core"]["payments_per_s"], 1),
			"floor_payments_per_s": round(spread["floor"]["payments_per_s"], 1),
			"ratio_to_floor": round(spread["ratio_to_floor"], 3),
			"lost_updates": spread["core"]["lost_updates"],
			"p50_ms": round(spread["core"]["p50_ms"], 2),
			"p99_ms": round(spread["core"]["p99_ms"], 2),
			"floor_p50_ms": round(spread["floor"]["p50_ms"], 2),
			"floor_p99_ms": round(spread["floor"]["p99_ms"], 2),
			"raw_first_floor_payments_per_s": round(spread["raw_first_floor"]["payments_per_s"], 1),
			"ratio_to_raw_first_floor": round(spread["ratio_to_raw_first_floor"], 3),
			"books_clean": spread["books_clean"],
			"ratios": spread["ratios"],
			"drivers": spread["drivers"],
		}
	if wanted("storm"):
		storm = payments.storm(args.db_url, **options)
		figures["storm"] = {
			key: round(value, 2) if isinstance(value, float) else value for key, value in storm.items()
		}
	for name in discovered_benchmarks():
		key = name.removeprefix("bench_")
		if wanted(key) or wanted(name):
			print(f"\n== {name}")
			figures[key] = run_discovered(name, args.db_url, args.quick)
	figures["elapsed_s"] = round(time.perf_counter() - started, 1)
	print(f"\nall benchmarks: {figures['elapsed_s']} s")
	print(json.dumps(figures, default=str))
	return 0


if __name__ == "__main__":
	sys.exit(main())
