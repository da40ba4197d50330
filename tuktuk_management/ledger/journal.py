"""Manual journals: balanced multi-line postings across driver and company accounts.

An accountant sends a body::

    {
        "idempotency_key": "2026-11-21-fix-7",
        "remarks": "...",
        "lines": [
            {"account": "deposit", "driver": "D000001", "debit": 500},
            {"account": "target", "driver": "D000001", "credit": 500, "allow_overdraft": false},
        ],
    }

:func:`validate_journal` is a dry run (no writes), :func:`post_journal` posts it atomically
(one voucher, TukTuk Journal / its name) and records it in TukTuk Journal with its lines,
:func:`revert_journal` appends the reversal once. The idempotency key is unique: the same key
with the same body returns the first result; with another body it is a conflict
(:class:`IdempotencyConflict`). A driver balance never goes below zero unless a line that lowers
it says ``allow_overdraft``. Limits (lines per journal, KES per line) come from TukTuk Settings;
the body is parsed by :mod:`tuktuk_management.ledger.journal_body` (names re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tuktuk_management.ledger import accounts, doctypes
from tuktuk_management.ledger.database import Database, in_savepoint, is_duplicate_entry
from tuktuk_management.ledger.drivers import LockedDrivers, lock_drivers
from tuktuk_management.ledger.journal_body import (  # parsing names stay importable from here
	IDEMPOTENCY_KEY_CHARS_MAX,
	JOURNAL_ACCOUNTS,
	LINE_REMARKS_CHARS_MAX,
	REMARKS_CHARS_MAX,
	InvalidJournal,
	JournalBody,
	JournalLine,
	parse_flag,
	parse_journal,
)
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.postings import (
	CorrectionRefused,
	NotFound,
	driver_targets,
	parties,
	refuse_negative_balances,
	reversal_lines,
)
from tuktuk_management.ledger.rows import insert_statement, new_name, standard_values
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.writer import post_voucher

JOURNAL_DOCTYPE = doctypes.JOURNAL
LINE_DOCTYPE = doctypes.JOURNAL_LINE
POSTED = "Posted"
REVERTED = "Reverted"
SAVEPOINT = "tuktuk_journal"
_INSERT_JOURNAL = insert_statement(
	JOURNAL_DOCTYPE,
	("idempotency_key", "status", "total_kes", "posted_at", "posted_by", "remarks", "body_hash"),
)
_LINE_COLUMNS = (
	"parent",
	"parentfield",
	"parenttype",
	"account",
	"driver",
	"debit",
	"credit",
	"allow_overdraft",
	"remarks",
)


class IdempotencyConflict(CorrectionRefused):
	"""The idempotency key was already used for a different journal body."""


class AlreadyReverted(CorrectionRefused):
	"""The journal has already been reverted (a journal is reverted once)."""


@dataclass(frozen=True)
class JournalResult:
	"""A posted (or reverted) journal. ``replayed`` is True when a repeated request got the first result."""

	name: str
	idempotency_key: str
	status: str
	total_kes: int
	lines: int
	posted_at: datetime | None
	reverted_at: datetime | None = None
	replayed: bool = False

	def as_dict(self) -> dict:
		return {
			"journal": self.name,
			"idempotency_key": self.idempotency_key,
			"status": self.status,
			"total_kes": self.total_kes,
			"lines": self.lines,
			"posted_at": str(self.posted_at) if self.posted_at else None,
			"reverted_at": str(self.reverted_at) if self.reverted_at else None,
			"replayed": self.replayed,
		}


def validate_journal(db: Database, body: JournalBody) -> dict:
	"""Dry run of a parsed journal against the database; nothing is written or locked.

	Returns ``{"valid", "errors", "lines", "total_kes", "balances_after"}`` where
	``balances_after`` maps each driver to ``{"target", "deposit", "payable"}`` (KES, as they
	would be now) and ``errors`` lists unknown drivers and balances that would go negative.
	"""
	drivers = parties(line.posting_line() for line in body.lines)
	balances = _current_balances(db, drivers)
	errors = [f"Driver {driver} does not exist." for driver in drivers if driver not in balances]
	after = {driver: dict(values) for driver, values in balances.items()}
	overdraft = {(line.driver, line.account) for line in body.lines if line.allow_overdraft}
	for line in body.lines:
		if line.driver in after:
			after[line.driver][line.account] += line.credit_kes - line.debit_kes
	for driver, values in sorted(after.items()):
		for account, kes in sorted(values.items()):
			if kes < 0 and kes < balances[driver][account] and (driver, account) not in overdraft:
				errors.append(
					f"Driver {driver}'s {account} balance would go from {balances[driver][account]} KES to "
					f"{kes} KES; set allow_overdraft on that line if this is intended."
				)
	existing = _find(db, body.idempotency_key)
	if existing and existing["body_hash"] != body.body_hash:
		errors.append(f"Idempotency key {body.idempotency_key} was already used for a different journal.")
	return {
		"valid": not errors,
		"errors": errors,
		"lines": len(body.lines),
		"total_kes": body.total_kes,
		"balances_after": after,
		"already_posted_as": existing["name"] if existing and not errors else None,
	}


def post_journal(
	db: Database,
	body: JournalBody,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> JournalResult:
	"""Post a parsed journal atomically, once per idempotency key.

	Locks every driver it names (sorted order: no deadlock between journals touching the same
	drivers in any order), refuses a balance going below zero without ``allow_overdraft``, inserts
	the TukTuk Journal and its lines ("document_inserted"), posts the voucher (the writer's
	"ledger_lines_inserted", "caches_updated"). The same key and body again returns the first
	result (``replayed``); another body raises :class:`IdempotencyConflict`. Raises
	:class:`InvalidJournal` for an unknown driver or a refused balance. Never commits.
	"""
	existing = _replay(db, body, locking=False)
	if existing:
		return existing
	step = on_step or (lambda _name: None)
	db.savepoint(SAVEPOINT)
	try:
		result = _post(db, body, settings=settings, now=now, user=user, step=step)
	except Exception as exc:
		db.rollback(save_point=SAVEPOINT)
		if is_duplicate_entry(exc):
			# The same key was committed by a concurrent request first.
			existing = _replay(db, body, locking=True)
			if existing:
				return existing
		raise
	db.release_savepoint(SAVEPOINT)
	return result


def _post(
	db: Database, body: JournalBody, *, settings: LedgerSettings, now: datetime, user: str, step: Callable
) -> JournalResult:
	lines = [line.posting_line() for line in body.lines]
	drivers = parties(lines)
	locked = lock_drivers(db, drivers) if drivers else None
	missing = [driver for driver in drivers if driver not in locked]
	if missing:
		raise InvalidJournal(f"Driver {', '.join(missing)} does not exist.")
	if locked:
		refuse_negative_balances(
			lines, locked, {(line.driver, line.account) for line in body.lines if line.allow_overdraft}
		)
	name = new_name()
	db.sql(
		_INSERT_JOURNAL,
		(
			*standard_values(name, now, user),
			body.idempotency_key,
			POSTED,
			body.total_kes,
			now,
			user,
			body.remarks,
			body.body_hash,
		),
	)
	values: list[Any] = []
	for idx, line in enumerate(body.lines, start=1):
		values += [
			*standard_values(new_name(), now, user, idx),
			name,
			"lines",
			JOURNAL_DOCTYPE,
			line.account,
			line.driver,
			line.debit_kes,
			line.credit_kes,
			1 if line.allow_overdraft else 0,
			line.remarks,
		]
	db.sql(insert_statement(LINE_DOCTYPE, _LINE_COLUMNS, rows=len(body.lines)), tuple(values))
	step("document_inserted")
	post_voucher(
		db,
		voucher_type=JOURNAL_DOCTYPE,
		voucher_no=name,
		lines=lines,
		posting_datetime=now,
		locked=locked or LockedDrivers(),
		target_kes_by_driver=driver_targets(locked, settings) if locked else None,
		remarks=f"Journal {body.idempotency_key}",
		user=user,
		on_step=step,
	)
	return JournalResult(name, body.idempotency_key, POSTED, body.total_kes, len(lines), now)


def revert_journal(
	db: Database,
	journal: str,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> JournalResult:
	"""Append the reversal of a posted journal (dated ``now``) and mark it Reverted, once.

	journal: the TukTuk Journal name or its idempotency key. Raises :class:`NotFound`,
	:class:`AlreadyReverted` (a second revert), or :class:`CorrectionRefused` if the reversal
	would take a balance below zero (a line with ``allow_overdraft`` keeps its permission).
	on_step: the writer's steps, then "document_updated". Never commits.
	"""
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT):
		row = _find(db, journal, for_update=True)
		if not row:
			raise NotFound(f"Journal {journal} does not exist.")
		if row["status"] == REVERTED:
			raise AlreadyReverted(f"Journal {row['name']} was already reverted on {row['reverted_at']}.")
		lines = reversal_lines(db, JOURNAL_DOCTYPE, row["name"])
		drivers = parties(lines)
		locked = lock_drivers(db, drivers) if drivers else None
		if locked:
			overdraft = db.sql(
				f"select driver, account from `tab{LINE_DOCTYPE}` where parent = %s and allow_overdraft = 1",
				(row["name"],),
			)
			refuse_negative_balances(lines, locked, {(driver, account) for driver, account in overdraft})
		post_voucher(
			db,
			voucher_type=JOURNAL_DOCTYPE,
			voucher_no=row["name"],
			lines=lines,
			posting_datetime=now,
			locked=locked or LockedDrivers(),
			target_kes_by_driver=driver_targets(locked, settings) if locked else None,
			is_reversal=True,
			remarks=f"Reversal of journal {row['idempotency_key']}",
			user=user,
			on_step=step,
		)
		db.sql(
			f"""update `tab{JOURNAL_DOCTYPE}` set status = %s, reverted_at = %s, reverted_by = %s,
			modified = %s, modified_by = %s where name = %s""",
			(REVERTED, now, user, now, user, row["name"]),
		)
		step("document_updated")
	return JournalResult(
		row["name"],
		row["idempotency_key"],
		REVERTED,
		to_kes(row["total_kes"]),
		len(lines),
		row["posted_at"],
		now,
	)


def get_journal(db: Database, journal: str) -> dict:
	"""A journal by name or idempotency key: its result fields plus ``lines`` (list of dicts).

	Raises :class:`NotFound`.
	"""
	row = _find(db, journal)
	if not row:
		raise NotFound(f"Journal {journal} does not exist.")
	lines = db.sql(
		f"""select account, driver, debit, credit, allow_overdraft, remarks from `tab{LINE_DOCTYPE}`
		where parent = %s order by idx""",
		(row["name"],),
		as_dict=True,
	)
	result = _result(row).as_dict()
	result["remarks"] = row["remarks"] or ""
	result["posted_by"] = row["posted_by"]
	result["lines"] = [
		{
			"account": line["account"],
			"driver": line["driver"],
			"debit": to_kes(line["debit"]),
			"credit": to_kes(line["credit"]),
			"allow_overdraft": bool(line["allow_overdraft"]),
			"remarks": line["remarks"] or "",
		}
		for line in lines
	]
	return result


def _find(db: Database, journal: str, *, for_update: bool = False, share: bool = False) -> dict | None:
	rows = db.sql(
		f"""select name, idempotency_key, status, total_kes, posted_at, posted_by, reverted_at, remarks,
			body_hash, (select count(*) from `tab{LINE_DOCTYPE}` l where l.parent = j.name) as line_count
		from `tab{JOURNAL_DOCTYPE}` j where name = %s or idempotency_key = %s
		order by name = %s desc limit 1"""
		+ (" for update" if for_update else " lock in share mode" if share else ""),
		(journal, journal, journal),
		as_dict=True,
	)
	return rows[0] if rows else None


def _result(row: dict, *, replayed: bool = False) -> JournalResult:
	return JournalResult(
		row["name"],
		row["idempotency_key"],
		row["status"],
		to_kes(row["total_kes"]),
		int(row["line_count"]),
		row["posted_at"],
		row["reverted_at"],
		replayed,
	)


def _replay(db: Database, body: JournalBody, *, locking: bool) -> JournalResult | None:
	rows = db.sql(
		f"select name from `tab{JOURNAL_DOCTYPE}` where idempotency_key = %s"
		+ (" lock in share mode" if locking else ""),
		(body.idempotency_key,),
	)
	if not rows:
		return None
	row = _find(db, rows[0][0], share=locking)
	if row["body_hash"] != body.body_hash:
		raise IdempotencyConflict(
			f"Idempotency key {body.idempotency_key} was already used for a different journal "
			f"({row['name']}); nothing was posted. Use a new key for a new journal."
		)
	return _result(row, replayed=True)


def _current_balances(db: Database, drivers: list[str]) -> dict[str, dict[str, int]]:
	if not drivers:
		return {}
	placeholders = ", ".join(["%s"] * len(drivers))
	rows = db.sql(
		f"""select name, current_balance, current_deposit_balance, payout_pending from `tabTukTuk Driver`
		where name in ({placeholders})""",
		tuple(drivers),
	)
	return {
		name: {
			accounts.TARGET: to_kes(target),
			accounts.DEPOSIT: to_kes(deposit),
			accounts.PAYABLE: to_kes(payable),
		}
		for name, target, deposit, payable in rows
	}
