"""Store a parsed statement: one TukTuk Statement Import, each line once across imports.

A TukTuk Statement Line is named by its key (the receipt number, ``<receipt>-CHG`` for a fee line
that repeats its transaction's receipt), so importing the same or an overlapping statement again
stores each receipt once: the lines go in with ``INSERT IGNORE`` on that primary key. A line
stored earlier is never rewritten by a later import; a later import whose copy of a receipt
differs from the stored one is reported (``lines_conflicting``), not applied.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.database import Database, affected_rows
from tuktuk_management.ledger.mpesa_statement.parse import StatementLine
from tuktuk_management.ledger.rows import insert_statement, sql_datetime, standard_values
from tuktuk_management.ledger.writer import new_name

IMPORT_DOCTYPE = doctypes.STATEMENT_IMPORT
LINE_DOCTYPE = doctypes.STATEMENT_LINE
INSERT_BATCH_MAX = 500
CONFLICTS_SHOWN_MAX = 50

DRAFT, IMPORTED, MATCHED, DIFFERENCES = "Draft", "Imported", "Matched", "Differences"
UNMATCHED = "Unmatched"  # a line's match_status until the first match
UPLOAD, RUNNER = "Upload", "Runner"

LINE_COLUMNS = (
	"receipt_no",
	"line_type",
	"match_status",
	"completion_time",
	"statement_import",
	"paid_in",
	"withdrawn",
	"balance",
	"account_no",
	"details",
	"reason_type",
	"transaction_status",
	"initiation_time",
	"balance_confirmed",
	"other_party_info",
	"linked_transaction_id",
	"file_line",
)
_IMPORT_COLUMNS = (
	"statement_file",
	"source",
	"status",
	"imported_at",
	"imported_by",
	"file_name",
	"period_start",
	"period_end",
	"lines_read",
	"lines_new",
	"lines_existing",
)


@dataclass
class ImportResult:
	"""What one import stored. ``lines_new + lines_existing = lines_read``."""

	statement_import: str
	lines_read: int = 0
	lines_new: int = 0
	lines_existing: int = 0
	period_start: datetime | None = None
	period_end: datetime | None = None
	lines_conflicting: list[str] = field(default_factory=list)  # receipts stored with other contents

	def as_dict(self) -> dict:
		values = asdict(self)
		for key in ("period_start", "period_end"):
			values[key] = values[key].isoformat(" ") if values[key] else None
		return values


def create_import(
	db: Database,
	*,
	now: datetime,
	user: str,
	source: str = RUNNER,
	file_name: str = "",
	statement_file: str = "",
) -> str:
	"""Insert a Draft TukTuk Statement Import (the runner's; the desk's is inserted by Frappe)."""
	name = new_name()
	db.sql(
		insert_statement(IMPORT_DOCTYPE, _IMPORT_COLUMNS),
		(
			*standard_values(name, now, user),
			statement_file or file_name,
			source,
			DRAFT,
			None,
			None,
			file_name[:140],
			None,
			None,
			0,
			0,
			0,
		),
	)
	return name


def store_lines(
	db: Database, statement_import: str, lines: list[StatementLine], *, now: datetime, user: str
) -> ImportResult:
	"""Store ``lines`` under ``statement_import`` (each key once) and fill in the import's period
	and counts (status Imported), in the caller's transaction. Never commits."""
	result = ImportResult(statement_import, lines_read=len(lines))
	for start in range(0, len(lines), INSERT_BATCH_MAX):
		batch = lines[start : start + INSERT_BATCH_MAX]
		statement = insert_statement(LINE_DOCTYPE, LINE_COLUMNS, len(batch)).replace(
			"insert into", "insert ignore into", 1
		)
		values: list = []
		for index, line in enumerate(batch):
			values += [
				*standard_values(line.key, now, user, idx=start + index + 1),
				*_line_values(line, statement_import),
			]
		db.sql(statement, tuple(values))
		result.lines_new += affected_rows(db)
	result.lines_existing = result.lines_read - result.lines_new
	if lines:
		result.period_start = min(line.completion_time for line in lines)
		result.period_end = max(line.completion_time for line in lines)
	if result.lines_existing:
		result.lines_conflicting = _conflicts(db, statement_import, lines)
	db.sql(
		f"""update `tab{IMPORT_DOCTYPE}` set status = %s, imported_at = %s, imported_by = %s,
		period_start = %s, period_end = %s, lines_read = %s, lines_new = %s, lines_existing = %s,
		modified = %s where name = %s""",
		(
			IMPORTED,
			sql_datetime(now),
			user,
			result.period_start,
			result.period_end,
			result.lines_read,
			result.lines_new,
			result.lines_existing,
			sql_datetime(now),
			statement_import,
		),
	)
	return result


def import_statement(
	db: Database,
	lines: list[StatementLine],
	*,
	now: datetime,
	user: str,
	source: str = RUNNER,
	file_name: str = "",
) -> ImportResult:
	"""Create an import and store ``lines`` under it, in the caller's transaction."""
	name = create_import(db, now=now, user=user, source=source, file_name=file_name)
	return store_lines(db, name, lines, now=now, user=user)


def _line_values(line: StatementLine, statement_import: str) -> tuple:
	return (
		line.receipt_no,
		line.kind,
		UNMATCHED,
		sql_datetime(line.completion_time),
		statement_import,
		line.paid_in_kes,
		line.withdrawn_kes,
		line.balance_kes if line.balance_kes is not None else Decimal(0),
		line.account_no[:140],
		line.details,
		line.reason_type[:140],
		line.transaction_status[:140],
		sql_datetime(line.initiation_time) if line.initiation_time else None,
		line.balance_confirmed[:140],
		line.other_party_info[:140],
		line.linked_transaction_id[:140],
		line.line_no,
	)


def _conflicts(db: Database, statement_import: str, lines: list[StatementLine]) -> list[str]:
	"""Receipts this import carries that an earlier import stored with another amount or account."""
	mine = {line.key: line for line in lines}
	conflicting: list[str] = []
	keys = list(mine)
	for start in range(0, len(keys), INSERT_BATCH_MAX):
		chunk = keys[start : start + INSERT_BATCH_MAX]
		rows = db.sql(
			f"""select name, paid_in, withdrawn, account_no from `tab{LINE_DOCTYPE}`
			where name in ({", ".join(["%s"] * len(chunk))}) and statement_import != %s""",
			(*chunk, statement_import),
		)
		for name, paid_in, withdrawn, account_no in rows:
			line = mine[name]
			if (
				decimal_kes(paid_in) != line.paid_in_kes
				or decimal_kes(withdrawn) != line.withdrawn_kes
				or (account_no or "") != line.account_no[:140]
			):
				conflicting.append(line.receipt_no)
	return sorted(conflicting)[:CONFLICTS_SHOWN_MAX]


def decimal_kes(value) -> Decimal:
	"""A Currency column value as an exact Decimal (Frappe's driver may return float)."""
	if value is None:
		return Decimal(0)
	if isinstance(value, float):
		return Decimal(repr(value)).normalize()
	return Decimal(value).normalize()
