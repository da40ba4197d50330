"""Helpers shared by the correction tests (credit notes, journals, allocation)."""

from __future__ import annotations

from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.reconcile import check_books

SNAPSHOT_TABLES = (
	"TukTuk Transaction",
	"TukTuk Ledger Entry",
	"TukTuk Payout",
	"TukTuk Credit Note",
	"TukTuk Journal",
	"TukTuk Journal Line",
)


class Injected(Exception):
	"""The failure a test injects at a named step."""


def fail_at(step_name: str, reached: list[str]):
	"""An ``on_step`` hook that records every step and raises :class:`Injected` at ``step_name``."""

	def on_step(name: str) -> None:
		reached.append(name)
		if name == step_name:
			raise Injected(name)

	return on_step


def record_steps(reached: list[str]):
	return reached.append


def snapshot(db) -> dict:
	"""Everything a correction may change: row counts, driver balances, payout and payment states."""
	return {
		"counts": {t: db.sql(f"select count(*) from `tab{t}`")[0][0] for t in SNAPSHOT_TABLES},
		"drivers": [
			tuple(to_kes(v) if i else v for i, v in enumerate(row))
			for row in db.sql(
				"""select name, current_balance, left_to_target, current_deposit_balance, payout_pending
				from `tabTukTuk Driver` order by name"""
			)
		],
		"payouts": db.sql("select name, status, amount from `tabTukTuk Payout` order by name"),
		"transactions": db.sql(
			"""select name, payment_status, driver, reversed_kes, target_contribution, driver_share
			from `tabTukTuk Transaction` order by name"""
		),
		"journals": db.sql("select name, status from `tabTukTuk Journal` order by name"),
		"credit_notes": db.sql(
			"select name, docstatus, posted_at from `tabTukTuk Credit Note` order by name"
		),
	}


def assert_books_clean(db) -> None:
	"""Every voucher balanced, every cache equal to its ledger sum, the ledger summing to zero."""
	report = check_books(db)
	assert report.clean, report.as_dict()


def balances(db, driver: str) -> dict[str, int]:
	row = db.sql(
		"""select current_balance, current_deposit_balance, payout_pending, left_to_target
		from `tabTukTuk Driver` where name = %s""",
		(driver,),
	)[0]
	return dict(zip(("target", "deposit", "payable", "left_to_target"), map(to_kes, row), strict=True))
