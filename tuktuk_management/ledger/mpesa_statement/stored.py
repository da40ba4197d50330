"""Statement lines as stored (TukTuk Statement Line), read back for matching and the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.mpesa_statement import parse
from tuktuk_management.ledger.mpesa_statement.store import (
	IMPORT_DOCTYPE,
	LINE_DOCTYPE,
	UNMATCHED,
	decimal_kes,
)
from tuktuk_management.ledger.rows import sql_datetime

LINES_MAX = 200_000
QUERY_CHUNK_MAX = 1_000

_LINE_COLUMNS = (
	"name",
	"receipt_no",
	"line_type",
	"completion_time",
	"paid_in",
	"withdrawn",
	"account_no",
	"other_party_info",
	"linked_transaction_id",
	"transaction_status",
	"details",
	"match_status",
	"match_note",
	"transaction",
	"payout",
	"charge_posted",
	"recovery_log",
	"recovered",
)


@dataclass
class StoredLine:
	"""A TukTuk Statement Line as read back; amounts exact Decimal KES."""

	name: str
	receipt_no: str
	line_type: str
	completion_time: datetime
	paid_in_kes: Decimal
	withdrawn_kes: Decimal
	account_no: str
	other_party_info: str
	linked_transaction_id: str
	transaction_status: str
	details: str
	match_status: str
	match_note: str
	transaction: str | None
	payout: str | None
	charge_posted: bool
	recovery_log: str | None
	recovered: bool

	@property
	def amount_kes(self) -> Decimal:
		return self.paid_in_kes if self.paid_in_kes > 0 else self.withdrawn_kes

	@property
	def completed(self) -> bool:
		return (self.transaction_status or parse.COMPLETED).strip().lower() == parse.COMPLETED.lower()


def payout_window(db: Database) -> timedelta:
	"""TukTuk Settings ``statement_payout_window_hours`` (default 48, at least 1) as a timedelta."""
	from tuktuk_management.ledger.mpesa_statement.config import load_statement_settings

	return load_statement_settings(db).payout_window


def load_lines(db: Database, period_start: datetime, period_end: datetime) -> list[StoredLine]:
	"""Every stored line with ``period_start <= completion_time <= period_end``, in time order."""
	rows = db.sql(
		f"""select {", ".join(f"`{c}`" for c in _LINE_COLUMNS)} from `tab{LINE_DOCTYPE}`
		where completion_time between %s and %s order by completion_time, name limit %s""",
		(sql_datetime(period_start), sql_datetime(period_end), LINES_MAX + 1),
	)
	if len(rows) > LINES_MAX:
		raise ValueError(f"more than {LINES_MAX} statement lines in the period; match a shorter period")
	return [_stored_line(row) for row in rows]


def _stored_line(row) -> StoredLine:
	values = dict(zip(_LINE_COLUMNS, row, strict=True))
	return StoredLine(
		name=values["name"],
		receipt_no=values["receipt_no"] or "",
		line_type=values["line_type"] or "",
		completion_time=values["completion_time"],
		paid_in_kes=decimal_kes(values["paid_in"]),
		withdrawn_kes=decimal_kes(values["withdrawn"]),
		account_no=values["account_no"] or "",
		other_party_info=values["other_party_info"] or "",
		linked_transaction_id=values["linked_transaction_id"] or "",
		transaction_status=values["transaction_status"] or "",
		details=values["details"] or "",
		match_status=values["match_status"] or UNMATCHED,
		match_note=values["match_note"] or "",
		transaction=values["transaction"] or None,
		payout=values["payout"] or None,
		charge_posted=bool(values["charge_posted"]),
		recovery_log=values["recovery_log"] or None,
		recovered=bool(values["recovered"]),
	)


def import_period(db: Database, statement_import: str) -> tuple[datetime, datetime]:
	rows = db.sql(
		f"select period_start, period_end from `tab{IMPORT_DOCTYPE}` where name = %s", (statement_import,)
	)
	if not rows:
		raise ValueError(f"no statement import {statement_import!r}")
	start, end = rows[0]
	if start is None or end is None:
		raise ValueError(f"statement import {statement_import} has no lines")
	return start, end


def stored_period(db: Database) -> tuple[datetime, datetime] | None:
	"""The earliest and latest completion time of every stored line, or None without lines."""
	start, end = db.sql(f"select min(completion_time), max(completion_time) from `tab{LINE_DOCTYPE}`")[0]
	return (start, end) if start is not None else None


def chunks(items: list, size: int = QUERY_CHUNK_MAX):
	for start in range(0, len(items), size):
		yield items[start : start + size]


def placeholders(values: list) -> str:
	return ", ".join(["%s"] * len(values))
