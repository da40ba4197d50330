"""C2B payments through the ledger core, side by side with what the database needs for them.

Four ways of applying the same payment, each on its own throwaway database with the same tables
and indexes, the same number of worker processes (each with its own connection), in one run:

- **core**: ``tuktuk_management.cli.handle_confirmation``, the webhook's flow after its token
  check (store the raw body and commit; lock the log; route; lock the driver; split; insert the
  transaction, the voucher's ledger lines and the payout; move the caches; mark the log; commit).
- **floor**: the minimal transaction the database needs for a payment, in plain SQL: lock the
  driver row, insert one payment row, insert its ledger lines (one statement), relative balance
  update, commit.
- **raw_first_floor**: the floor plus what the design adds around every payment (DESIGN §3,
  "raw first"): store the raw body and commit, then the floor's transaction, which also marks
  the stored body. The core's distance to it is the core's own overhead.
- **naive**: the read-modify-write pattern that loses updates: read the balance without a lock,
  compute, insert the same rows, write the absolute balance, commit.

Every payment is 100 KES to a driver whose target is out of reach, so each one writes a 3-line
voucher (paybill debit; target and payable credits, 50 KES each) and moves two cached balances by
a known amount: lost updates = (expected − actual change of ``current_balance``) / 50 KES.

Benchmarks: ``hot`` (every payment to one driver), ``spread`` (payments spread at random over
1,000 drivers), ``storm`` (30 % of callbacks redelivered while the original is in flight).
Each round runs the variants back to back (so their ratio is measured on the same machine state);
the figures reported are the medians over the rounds.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

from benchmarks import common
from tuktuk_management.cli import handle_confirmation
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.standalone.db import DatabaseURL, MariaDB

HOT_DRIVERS = 1
SPREAD_DRIVERS = 1_000
STORM_DRIVERS = 10
STORM_REDELIVERED_FRACTION = 0.30
WARMUP_PAYMENTS = 40
VARIANTS = ("core", "floor", "raw_first_floor", "naive")


def make_core_handler(url: DatabaseURL) -> Callable[[object], str]:
	"""Item: a confirmation body (JSON text). The same function the runner's ``replay`` uses."""
	db = MariaDB(url)
	return lambda body: handle_confirmation(db, body, source_ip="bench")


def make_floor_handler(url: DatabaseURL) -> Callable[[object], str]:
	"""Item: ``(trans_id, driver)``. Lock, insert payment + its lines, relative update, commit."""
	db = MariaDB(url)
	return lambda item: _floor_transaction(db, *item)


def make_raw_first_floor_handler(url: DatabaseURL) -> Callable[[object], str]:
	"""Item: ``(trans_id, driver, body)``. The floor plus what DESIGN §3 adds around it: store the
	raw body and commit; then the floor's transaction, which also marks the stored body."""
	db = MariaDB(url)

	def handle(item) -> str:
		trans_id, driver, body = item
		log = secrets.token_hex(5)
		db.sql(
			"""insert into `tabTukTuk Callback Log` (name, creation, modified, endpoint, status, received_at,
			trans_id, raw_body) values (%s, now(6), now(6), 'C2B Confirmation', 'Received', now(6), %s, %s)""",
			(log, trans_id, body),
		)
		db.commit()
		return _floor_transaction(db, trans_id, driver, mark_log=log)

	return handle


def _floor_transaction(db: MariaDB, trans_id: str, driver: str, mark_log: str | None = None) -> str:
	balance = db.sql("select current_balance from `tabTukTuk Driver` where name = %s for update", (driver,))
	contribution_kes = min(
		common.CONTRIBUTION_KES, max(0, common.UNREACHABLE_TARGET_KES - to_kes(balance[0][0]))
	)
	_insert_payment(db, trans_id, driver, contribution_kes)
	db.sql(
		"""update `tabTukTuk Driver` set current_balance = current_balance + %s,
		payout_pending = payout_pending + %s where name = %s""",
		(contribution_kes, common.PAYMENT_AMOUNT_KES - contribution_kes, driver),
	)
	if mark_log:
		db.sql(
			"update `tabTukTuk Callback Log` set status = 'Processed', transaction = %s where name = %s",
			(trans_id, mark_log),
		)
	db.commit()
	return "Processed"


def make_naive_handler(url: DatabaseURL) -> Callable[[object], str]:
	"""Item: ``(trans_id, driver)``. Read without a lock, compute, write absolute values, commit."""
	db = MariaDB(url)

	def handle(item) -> str:
		trans_id, driver = item
		balance, pending = db.sql(
			"select current_balance, payout_pending from `tabTukTuk Driver` where name = %s", (driver,)
		)[0]
		balance_kes, pending_kes = to_kes(balance), to_kes(pending)
		contribution_kes = min(common.CONTRIBUTION_KES, max(0, common.UNREACHABLE_TARGET_KES - balance_kes))
		_insert_payment(db, trans_id, driver, contribution_kes)
		db.sql(
			"update `tabTukTuk Driver` set current_balance = %s, payout_pending = %s where name = %s",
			(
				balance_kes + contribution_kes,
				pending_kes + common.PAYMENT_AMOUNT_KES - contribution_kes,
				driver,
			),
		)
		db.commit()
		return "Processed"

	return handle


def _insert_payment(db: MariaDB, trans_id: str, driver: str, contribution_kes: int) -> None:
	"""One payment row and its three ledger lines (one statement), with the columns reports read."""
	share_kes = common.PAYMENT_AMOUNT_KES - contribution_kes
	db.sql(
		"""insert into `tabTukTuk Transaction` (name, creation, modified, transaction_id, driver, amount,
		target_contribution, driver_share) values (%s, now(6), now(6), %s, %s, %s, %s, %s)""",
		(trans_id, trans_id, driver, common.PAYMENT_AMOUNT_KES, contribution_kes, share_kes),
	)
	values = []
	for account, party, debit, credit in (
		("paybill", None, common.PAYMENT_AMOUNT_KES, 0),
		("target", driver, 0, contribution_kes),
		("payable", driver, 0, share_kes),
	):
		values += [
			secrets.token_hex(5),
			account,
			"TukTuk Driver" if party else None,
			party,
			debit,
			credit,
			trans_id,
		]
	db.sql(
		"""insert into `tabTukTuk Ledger Entry` (name, creation, modified, posting_datetime, account,
		party_type, party, debit, credit, voucher_type, voucher_no) values """
		+ ", ".join(["(%s, now(6), now(6), now(6), %s, %s, %s, %s, %s, 'TukTuk Transaction', %s)"] * 3),
		tuple(values),
	)


HANDLERS = {
	"core": make_core_handler,
	"floor": make_floor_handler,
	"raw_first_floor": make_raw_first_floor_handler,
	"naive": make_naive_handler,
}


def _items(variant: str, tag: str, accounts: list[str], payments: int, rng: random.Random) -> list:
	"""``payments`` items for ``variant`` to accounts chosen by ``rng`` (unique TransIDs)."""
	chosen = [accounts[0] if len(accounts) == 1 else rng.choice(accounts) for _ in range(payments)]
	trans_ids = [f"{tag}{index:07d}" for index in range(payments)]
	if variant == "core":
		return [common.confirmation_body(t, account) for t, account in zip(trans_ids, chosen, strict=True)]
	drivers = ["D" + account[2:].rjust(6, "0") for account in chosen]
	if variant == "raw_first_floor":
		return [
			(t, driver, common.confirmation_body(t, account))
			for t, driver, account in zip(trans_ids, drivers, chosen, strict=True)
		]
	return list(zip(trans_ids, drivers, strict=True))


def _balance_total_kes(url: DatabaseURL) -> int:
	with MariaDB(url) as db:
		return to_kes(db.sql("select coalesce(sum(current_balance), 0) from `tabTukTuk Driver`")[0][0])


def compare(
	db_url: str | None,
	*,
	label: str,
	drivers: int,
	payments: int,
	workers: int,
	rounds: int,
	variants: tuple[str, ...] = VARIANTS,
	seed: int = 7,
) -> dict:
	"""Run ``variants`` back to back for ``rounds`` rounds; medians per variant and of the ratios.

	Returns ``{variant: {"payments_per_s", "p50_ms", "p99_ms", "lost_updates", "rounds": [...]},
	"ratio_to_floor": median over rounds of core/floor payments/s, "books_clean": bool}``.
	"""
	rng = random.Random(seed)
	per_round: dict[str, list[dict]] = {variant: [] for variant in variants}
	ratios: list[float] = []
	raw_first_ratios: list[float] = []
	with _databases(db_url, label, variants) as urls:
		accounts = {}
		for variant in variants:
			accounts[variant] = common.make_fleet(urls[variant], drivers)
			warm = _items(variant, f"W{variant[0].upper()}", accounts[variant], WARMUP_PAYMENTS, rng)
			common.run_workers(urls[variant], HANDLERS[variant], common.deal(warm, workers))
		for round_number in range(rounds):
			figures = {}
			for variant in variants:
				tag = f"R{round_number}{variant[0].upper()}"
				items = _items(variant, tag, accounts[variant], payments, rng)
				before_kes = _balance_total_kes(urls[variant])
				result = common.run_workers(urls[variant], HANDLERS[variant], common.deal(items, workers))
				moved_kes = _balance_total_kes(urls[variant]) - before_kes
				applied = result.statuses.count("Processed")
				figures[variant] = {
					"payments_per_s": result.per_s,
					"p50_ms": result.percentile_ms(0.50),
					"p99_ms": result.percentile_ms(0.99),
					"lost_updates": (applied * common.CONTRIBUTION_KES - moved_kes)
					// common.CONTRIBUTION_KES,
					"applied": applied,
					"errors": len(result.statuses) - applied,
				}
				per_round[variant].append(figures[variant])
			if "core" in figures and "floor" in figures:
				ratios.append(figures["core"]["payments_per_s"] / figures["floor"]["payments_per_s"])
			if "core" in figures and "raw_first_floor" in figures:
				raw_first_ratios.append(
					figures["core"]["payments_per_s"] / figures["raw_first_floor"]["payments_per_s"]
				)
		books_clean = None
		if "core" in variants:
			with MariaDB(urls["core"]) as db:
				books_clean = check_books(db).clean
	summary: dict = {}
	for variant, rows in per_round.items():
		summary[variant] = {
			key: common.median([row[key] for row in rows]) for key in ("payments_per_s", "p50_ms", "p99_ms")
		}
		summary[variant]["lost_updates"] = sum(row["lost_updates"] for row in rows)
		summary[variant]["errors"] = sum(row["errors"] for row in rows)
		summary[variant]["rounds"] = [round(row["payments_per_s"], 1) for row in rows]
	summary["ratio_to_floor"] = common.median(ratios)
	summary["ratios"] = [round(ratio, 3) for ratio in ratios]
	summary["ratio_to_raw_first_floor"] = common.median(raw_first_ratios)
	summary["books_clean"] = books_clean
	summary["drivers"], summary["payments_per_round"], summary["workers"] = drivers, payments, workers
	summary["round_count"] = rounds
	return summary


class _databases:
	"""One throwaway database per variant (same schema), all dropped on exit."""

	def __init__(self, db_url: str | None, label: str, variants: tuple[str, ...]):
		self.contexts = {v: common.throwaway_database(db_url, f"{label}_{v}") for v in variants}

	def __enter__(self) -> dict[str, DatabaseURL]:
		urls = {}
		try:
			for variant, context in self.contexts.items():
				urls[variant] = context.__enter__()
		except BaseException:
			self.__exit__(None, None, None)
			raise
		self.entered = list(urls)
		return urls

	def __exit__(self, *exc_info) -> None:
		for variant in reversed(getattr(self, "entered", list(self.contexts))):
			try:
				self.contexts[variant].__exit__(None, None, None)
			except Exception:
				pass


def print_comparison(title: str, summary: dict) -> None:
	rows = []
	floor_per_s = summary.get("floor", {}).get("payments_per_s") or 0
	for variant in VARIANTS:
		if variant not in summary:
			continue
		figures = summary[variant]
		rows.append(
			[
				variant,
				figures["payments_per_s"],
				figures["p50_ms"],
				figures["p99_ms"],
				figures["lost_updates"],
				figures["errors"],
				figures["payments_per_s"] / floor_per_s if floor_per_s else 0.0,
				" ".join(str(value) for value in figures["rounds"]),
			]
		)
	common.print_table(
		f"{title} ({summary['drivers']} driver(s), {summary['workers']} workers, "
		f"{summary['payments_per_round']} payments x {summary['round_count']} round(s); medians)",
		[
			"variant",
			"payments/s",
			"p50 ms",
			"p99 ms",
			"lost updates",
			"errors",
			"x floor",
			"payments/s per round",
		],
		rows,
	)
	print(
		f"  core / floor, median of per-round ratios: {summary['ratio_to_floor']:.2f} "
		f"(rounds: {summary['ratios']}); core / raw_first_floor: {summary['ratio_to_raw_first_floor']:.2f}; "
		f"books clean after core: {summary['books_clean']}"
	)


def hot(db_url: str | None, *, quick: bool, workers: int, rounds: int) -> dict:
	summary = compare(
		db_url,
		label="hot",
		drivers=HOT_DRIVERS,
		payments=400 if quick else 1500,
		workers=workers,
		rounds=rounds,
	)
	print_comparison("Hot driver: every payment to one driver", summary)
	return summary


def spread(db_url: str | None, *, quick: bool, workers: int, rounds: int) -> dict:
	summary = compare(
		db_url,
		label="spread",
		drivers=SPREAD_DRIVERS,
		payments=400 if quick else 1500,
		workers=workers,
		rounds=rounds,
		variants=("core", "floor", "raw_first_floor"),
	)
	print_comparison("Spread: payments at random over 1,000 drivers", summary)
	return summary


def storm(db_url: str | None, *, quick: bool, workers: int, rounds: int, seed: int = 3) -> dict:
	"""30 % of callbacks delivered twice, the copy on another worker at the same moment.

	Returns callbacks/s, fresh and duplicate p50/p99 (ms), the duplicate's cost as a fraction of a
	fresh payment's p50, and correctness: each TransID applied once, every redelivery a
	Duplicate, no lost update, books clean.
	"""
	unique = 300 if quick else 1000
	rng = random.Random(seed)
	rows = []
	with common.throwaway_database(db_url, "storm") as url:
		accounts = common.make_fleet(url, STORM_DRIVERS)
		for round_number in range(rounds):
			bodies = [
				common.confirmation_body(f"S{round_number}{index:07d}", rng.choice(accounts))
				for index in range(unique)
			]
			per_worker = common.deal(bodies, workers)
			redelivered = rng.sample(range(unique), round(unique * STORM_REDELIVERED_FRACTION))
			copies: list[list[tuple[int, str]]] = [[] for _ in range(workers)]
			for index in redelivered:
				worker, position = index % workers, index // workers
				copies[(worker + 1) % workers].append((position, bodies[index]))
			for worker, extra in enumerate(copies):
				# Insert each copy at the original's position in the next worker: both in flight together.
				for position, body in sorted(extra, reverse=True):
					per_worker[worker].insert(position, body)
			before_kes = _balance_total_kes(url)
			result = common.run_workers(url, make_core_handler, per_worker)
			moved_kes = _balance_total_kes(url) - before_kes
			fresh = [
				lat for lat, s in zip(result.latencies_s, result.statuses, strict=True) if s == "Processed"
			]
			duplicate = [
				lat for lat, s in zip(result.latencies_s, result.statuses, strict=True) if s == "Duplicate"
			]
			applied = len(fresh)
			rows.append(
				{
					"callbacks_per_s": result.per_s,
					"fresh_p50_ms": common.percentile(fresh, 0.5) * 1000,
					"fresh_p99_ms": common.percentile(fresh, 0.99) * 1000,
					"duplicate_p50_ms": common.percentile(duplicate, 0.5) * 1000,
					"duplicate_p99_ms": common.percentile(duplicate, 0.99) * 1000,
					"applied": applied,
					"duplicates": len(duplicate),
					"redelivered": len(redelivered),
					"unique": unique,
					"lost_updates": (applied * common.CONTRIBUTION_KES - moved_kes)
					// common.CONTRIBUTION_KES,
					"other_statuses": len(result.statuses) - applied - len(duplicate),
				}
			)
		with MariaDB(url) as db:
			books_clean = check_books(db).clean
	summary = {
		key: common.median([row[key] for row in rows])
		for key in ("callbacks_per_s", "fresh_p50_ms", "fresh_p99_ms", "duplicate_p50_ms", "duplicate_p99_ms")
	}
	summary["duplicate_cost_vs_fresh_p50"] = (
		summary["duplicate_p50_ms"] / summary["fresh_p50_ms"] if summary["fresh_p50_ms"] else 0.0
	)
	summary["each_applied_once"] = all(row["applied"] == row["unique"] for row in rows)
	summary["every_redelivery_duplicate"] = all(row["duplicates"] == row["redelivered"] for row in rows)
	summary["lost_updates"] = sum(row["lost_updates"] for row in rows)
	summary["other_statuses"] = sum(row["other_statuses"] for row in rows)
	summary["books_clean"] = books_clean
	summary["correct"] = bool(
		summary["each_applied_once"]
		and summary["every_redelivery_duplicate"]
		and summary["lost_updates"] == 0
		and summary["other_statuses"] == 0
		and books_clean
	)
	summary["drivers"], summary["unique_per_round"], summary["workers"], summary["round_count"] = (
		STORM_DRIVERS,
		unique,
		workers,
		rounds,
	)
	common.print_table(
		f"Redelivery storm: {unique} payments + {round(unique * STORM_REDELIVERED_FRACTION)} concurrent "
		f"redeliveries over {STORM_DRIVERS} drivers, {workers} workers x {rounds} round(s); medians",
		[
			"callbacks/s",
			"fresh p50 ms",
			"fresh p99 ms",
			"dup p50 ms",
			"dup p99 ms",
			"dup/fresh p50",
			"correct",
		],
		[
			[
				summary["callbacks_per_s"],
				summary["fresh_p50_ms"],
				summary["fresh_p99_ms"],
				summary["duplicate_p50_ms"],
				summary["duplicate_p99_ms"],
				summary["duplicate_cost_vs_fresh_p50"],
				summary["correct"],
			]
		],
	)
	print(
		f"  each TransID applied once: {summary['each_applied_once']}; every redelivery a Duplicate: "
		f"{summary['every_redelivery_duplicate']}; lost updates: {summary['lost_updates']}; "
		f"books clean: {books_clean}"
	)
	return summary
