"""Read-only payout queries: what the scheduler picks up, what is stuck, what the ledger disagrees with.

Each returns at most ``limit`` rows, oldest first; none takes a lock.
"""

from __future__ import annotations

from datetime import datetime

from tuktuk_management.ledger import accounts, doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.payouts.state import (
	BATCH_MAX,
	QUEUED_LEFT_AFTER,
	RESOLVE_ATTEMPTS_MAX,
	SENT_QUERY_AFTER,
	STATUS_QUERY_INTERVAL,
	STUCK_AFTER,
	UNKNOWN_RESOLVE_AFTER,
	attempts_max,
)
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import PayoutStatus


def _names(db: Database, where: str, values: tuple, limit: int) -> list[str]:
	assert 0 < limit <= BATCH_MAX
	return [
		name
		for (name,) in db.sql(
			f"select name from `tabTukTuk Payout` where {where} order by modified, name limit %s",
			(*values, limit),
		)
	]


def queued_left_behind(db: Database, now: datetime, *, limit: int = BATCH_MAX) -> list[str]:
	"""Queued payouts older than QUEUED_LEFT_AFTER (their after-commit job was lost or failed)."""
	return _names(
		db, "status = %s and queued_at <= %s", (PayoutStatus.QUEUED, now - QUEUED_LEFT_AFTER), limit
	)


def failed_due(db: Database, now: datetime, settings: LedgerSettings, *, limit: int = BATCH_MAX) -> list[str]:
	"""Failed payouts whose automatic retry is due (not final, attempts left)."""
	return _names(
		db,
		"status = %s and final_failure = 0 and attempts < %s and next_attempt_at is not null and next_attempt_at <= %s",
		(PayoutStatus.FAILED, attempts_max(settings), now),
		limit,
	)


def in_flight_due(db: Database, now: datetime, *, limit: int = BATCH_MAX) -> list[str]:
	"""Unknown payouts quiet for UNKNOWN_RESOLVE_AFTER, and Sent ones without a result for
	SENT_QUERY_AFTER, whose last status query (if any) is STATUS_QUERY_INTERVAL old and which
	have not used up RESOLVE_ATTEMPTS_MAX (after that: the stuck alert and a manager)."""
	return _names(
		db,
		"""((status = %s and coalesce(last_attempt_at, queued_at) <= %s)
			or (status = %s and coalesce(sent_at, last_attempt_at, queued_at) <= %s))
		and (status_checked_at is null or status_checked_at <= %s) and resolve_attempts < %s""",
		(
			PayoutStatus.UNKNOWN,
			now - UNKNOWN_RESOLVE_AFTER,
			PayoutStatus.SENT,
			now - SENT_QUERY_AFTER,
			now - STATUS_QUERY_INTERVAL,
			RESOLVE_ATTEMPTS_MAX,
		),
		limit,
	)


def stuck_payouts(db: Database, now: datetime, *, limit: int = BATCH_MAX) -> list[dict]:
	"""Payouts Sent or Unknown for more than STUCK_AFTER, oldest first: ``{"name", "driver",
	"amount_kes", "status", "since", "last_error"}`` (no phone numbers or names)."""
	assert 0 < limit <= BATCH_MAX
	rows = db.sql(
		"""select name, driver, amount, status, coalesce(last_attempt_at, sent_at, queued_at) as since, last_error
		from `tabTukTuk Payout` where status in (%s, %s) and coalesce(last_attempt_at, sent_at, queued_at) <= %s
		order by since, name limit %s""",
		(PayoutStatus.SENT, PayoutStatus.UNKNOWN, now - STUCK_AFTER, limit),
	)
	return [
		{
			"name": name,
			"driver": driver,
			"amount_kes": to_kes(amount),
			"status": status,
			"since": since,
			"last_error": error or "",
		}
		for name, driver, amount, status, since, error in rows
	]


def payout_ledger_mismatches(db: Database, *, limit: int = 1_000) -> list[dict]:
	"""Every Paid payout has exactly its payable → b2c voucher and no other payout has one
	(DESIGN §6): ``{"payout", "status", "amount_kes", "ledger_b2c_kes"}`` for each that differs."""
	rows = db.sql(
		f"""select p.name, p.status, p.amount, coalesce(l.b2c_kes, 0), coalesce(l.payable_kes, 0)
		from `tabTukTuk Payout` p
		left join (
			select voucher_no,
				sum(case when account = %s then credit - debit else 0 end) as b2c_kes,
				sum(case when account = %s then debit - credit else 0 end) as payable_kes
			from `tabTukTuk Ledger Entry` where voucher_type = %s group by voucher_no
		) l on l.voucher_no = p.name
		where (p.status = %s and (coalesce(l.b2c_kes, 0) <> p.amount or coalesce(l.payable_kes, 0) <> p.amount))
			or (p.status <> %s and l.voucher_no is not null)
		limit {int(limit)}""",
		(accounts.B2C, accounts.PAYABLE, doctypes.PAYOUT, PayoutStatus.PAID, PayoutStatus.PAID),
	)
	return [
		{"payout": name, "status": status, "amount_kes": to_kes(amount), "ledger_b2c_kes": to_kes(b2c)}
		for name, status, amount, b2c, _payable in rows
	]
