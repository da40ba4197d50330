"""Round trips of one payment through the core, and how many happen while the driver row is locked.

One process, one connection, payments to one driver (nothing else running in the database): each
statement sent by ``handle_confirmation`` is counted and timed, and the ones between the driver
row's ``SELECT ... FOR UPDATE`` and the ``COMMIT`` that releases it are counted as "under the
lock". A commit is a round trip too (and, with ``innodb_flush_log_at_trx_commit=1``, a log flush).
"""

from __future__ import annotations

import time
from collections import defaultdict

from benchmarks import common
from tuktuk_management.cli import handle_confirmation
from tuktuk_management.standalone.db import MariaDB

DRIVER_LOCK_MARK = (
	"`tabTukTuk Driver`"  # the driver row lock (alone, or with its vehicle: c2b_routing.lock_route)
)


class CountingMariaDB(MariaDB):
	"""A MariaDB connection that counts and times every statement and commit."""

	def __init__(self, url):
		super().__init__(url)
		self.locked = False
		self.statements = 0
		self.under_lock = 0
		self.locked_at = 0.0
		self.lock_held_s = 0.0  # from sending the driver's SELECT ... FOR UPDATE to the COMMIT's return
		self.database_under_lock_s = 0.0  # the part of it spent waiting for the database
		self.seconds_by_statement: dict[str, float] = defaultdict(float)
		self.count_by_statement: dict[str, int] = defaultdict(int)

	def sql(self, query, values=None, as_dict=False):
		started = time.perf_counter()
		if DRIVER_LOCK_MARK in query and "for update" in query:
			self.locked = True
			self.locked_at = started
		try:
			return super().sql(query, values, as_dict)
		finally:
			self._count(" ".join(query.split())[:60], started)

	def commit(self) -> None:
		started = time.perf_counter()
		super().commit()
		self._count("COMMIT", started)
		if self.locked:
			self.lock_held_s += time.perf_counter() - self.locked_at
		self.locked = False

	def rollback(self, *, save_point: str | None = None) -> None:
		super().rollback(save_point=save_point)
		if not save_point:
			self.locked = False

	def _count(self, key: str, started: float) -> None:
		self.statements += 1
		if self.locked:
			self.under_lock += 1
			self.database_under_lock_s += time.perf_counter() - started
		self.seconds_by_statement[key] += time.perf_counter() - started
		self.count_by_statement[key] += 1


def run(db_url: str | None, *, payments: int = 200, show: bool = True) -> dict:
	"""``{"per_payment", "under_driver_lock", "statements": {text: [count per payment, mean ms]}}``."""
	with common.throwaway_database(db_url, "trips") as url:
		account = common.make_fleet(url, 1)[0]
		db = CountingMariaDB(url)
		try:
			for index in range(20):  # warm-up, not counted
				handle_confirmation(db, common.confirmation_body(f"WU{index:07d}", account))
			db.statements = db.under_lock = 0
			db.lock_held_s = db.database_under_lock_s = 0.0
			db.seconds_by_statement.clear()
			db.count_by_statement.clear()
			for index in range(payments):
				handle_confirmation(db, common.confirmation_body(f"RT{index:07d}", account))
		finally:
			db.close()
	statements = {
		key: [
			db.count_by_statement[key] / payments,
			db.seconds_by_statement[key] / db.count_by_statement[key] * 1000,
		]
		for key in sorted(db.seconds_by_statement, key=db.seconds_by_statement.get, reverse=True)
	}
	summary = {
		"per_payment": db.statements / payments,
		"under_driver_lock": db.under_lock / payments,
		"lock_held_ms": db.lock_held_s / payments * 1000,
		"python_under_lock_ms": (db.lock_held_s - db.database_under_lock_s) / payments * 1000,
		"statements": statements,
	}
	if show:
		common.print_table(
			f"Round trips of one core payment (1 process, {payments} payments): {summary['per_payment']:.1f} per "
			f"payment, {summary['under_driver_lock']:.1f} of them while the driver row is locked (commit included); "
			f"lock held {summary['lock_held_ms']:.2f} ms per payment, {summary['python_under_lock_ms']:.2f} ms of it "
			"in Python",
			["statement", "per payment", "mean ms"],
			[[key, count, mean_ms] for key, (count, mean_ms) in statements.items()],
		)
	return summary
