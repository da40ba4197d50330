"""The paybill balance check: Daraja's Account Balance against the books at the same moment.

Flow (three units of work, like a payout send): a TukTuk Paybill Balance Check row is written
(Requested) and committed; the query goes to Daraja with no transaction open; Daraja's reply
(its ``OriginatorConversationID``) is recorded. The result arrives at the balance result URL,
is stored raw in TukTuk Callback Log and applied by :func:`process_logged_result`: the check row
is locked, the books' M-Pesa cash (Σ debit − credit of the ``paybill`` and ``b2c`` accounts, up to
M-Pesa's ``BOCompletedTime``) plus the configured offset is compared with the sum of the
configured M-Pesa accounts; a difference beyond the tolerance makes the check a Difference
(the caller alerts). A repeated result changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from tuktuk_management.daraja import pulls
from tuktuk_management.daraja.models import InvalidCallback
from tuktuk_management.ledger import accounts, doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.mpesa_statement.config import StatementSettings
from tuktuk_management.ledger.mpesa_statement.store import decimal_kes
from tuktuk_management.ledger.rows import insert_statement, sql_datetime, standard_values
from tuktuk_management.ledger.status import CallbackEndpoint
from tuktuk_management.ledger.writer import new_name

if TYPE_CHECKING:  # the reply type only: the core does not import the HTTP client
	from tuktuk_management.daraja.client import Accepted

CHECK_DOCTYPE = doctypes.PAYBILL_BALANCE_CHECK
BALANCE_RESULT = CallbackEndpoint.ACCOUNT_BALANCE_RESULT
BALANCE_TIMEOUT = CallbackEndpoint.ACCOUNT_BALANCE_TIMEOUT
REQUESTED, MATCHED, DIFFERENCE, FAILED = "Requested", "Matched", "Difference", "Failed"
# Callback log statuses of balance result bodies.
PROCESSED, DUPLICATE, INVALID = "Processed", "Duplicate", "Invalid"
LOG_FAILED = "Failed"
LOG_WAITING = ("Received", LOG_FAILED)
CASH_ACCOUNTS = (accounts.PAYBILL, accounts.B2C)  # the books' M-Pesa cash: in minus out (fees via paybill)
ERROR_CHARS_MAX = 1_000


class BalanceClient(Protocol):
	"""What the check needs from :class:`tuktuk_management.daraja.client.DarajaClient`."""

	def account_balance(
		self, *, party_a: str, result_url: str, timeout_url: str, remarks: str = ...
	) -> Accepted: ...


@dataclass(frozen=True)
class BalanceOutcome:
	"""``status``: the callback log status (Processed, Duplicate, Invalid); ``check_status``: the
	check's (Matched, Difference, Failed); ``difference_kes`` = M-Pesa − (books + offset)."""

	status: str
	check: str | None = None
	check_status: str = ""
	difference_kes: Decimal | None = None
	reason: str = ""


def books_balance_kes(db: Database, at: datetime) -> Decimal:
	"""The books' M-Pesa cash at ``at``: Σ (debit − credit) of the paybill and b2c accounts over
	the ledger lines posted up to ``at``."""
	value = db.sql(
		"""select coalesce(sum(debit) - sum(credit), 0) from `tabTukTuk Ledger Entry`
		where account in (%s, %s) and posting_datetime <= %s""",
		(*CASH_ACCOUNTS, sql_datetime(at)),
	)[0][0]
	return decimal_kes(value)


def request_check(
	db: Database,
	client: BalanceClient,
	*,
	settings: StatementSettings,
	clock: Callable[[], datetime],
	commit: Callable[[], None],
	result_url: str,
	timeout_url: str,
	user: str = "Administrator",
) -> str:
	"""Write a Requested check (committed), send the query (no transaction open), record Daraja's
	reply or the error (committed). Returns the check's name."""
	name = new_name()
	now = clock()
	db.sql(
		insert_statement(
			CHECK_DOCTYPE, ("status", "requested_at", "accounts", "offset_kes", "tolerance_kes")
		),
		(
			*standard_values(name, now, user),
			REQUESTED,
			sql_datetime(now),
			"\n".join(settings.balance_check_accounts),
			settings.paybill_balance_offset_kes,
			settings.balance_tolerance_kes,
		),
	)
	commit()  # unit-of-work boundary: the check exists before the query leaves
	from tuktuk_management.daraja.client import DarajaError  # imported by the client anyway

	try:
		accepted = client.account_balance(
			party_a=settings.paybill, result_url=result_url, timeout_url=timeout_url
		)
	except DarajaError as exc:
		_update(
			db, name, clock(), status=FAILED, result_desc=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS_MAX]
		)
		commit()
		return name
	_update(
		db,
		name,
		clock(),
		originator_conversation_id=accepted.originator_conversation_id[:140],
		conversation_id=accepted.conversation_id[:140],
	)
	commit()  # unit-of-work boundary: the reply's ids, so the result can find the check
	return name


def _update(db: Database, name: str, now: datetime, **values) -> None:
	assignments = ", ".join(f"`{column}` = %s" for column in values)
	db.sql(
		f"update `tab{CHECK_DOCTYPE}` set {assignments}, modified = %s where name = %s",
		(*values.values(), sql_datetime(now), name),
	)


def apply_result(
	db: Database, body: bytes | str | dict, *, endpoint: str, now: datetime, log: str | None = None
) -> BalanceOutcome:
	"""Apply an Account Balance result (or timeout) body to its check, in the caller's transaction."""
	try:
		result = pulls.parse_balance_result(body)
	except InvalidCallback as exc:
		return BalanceOutcome(INVALID, reason=exc.reason)
	rows = db.sql(
		f"""select name, status, accounts, offset_kes, tolerance_kes from `tab{CHECK_DOCTYPE}`
		where originator_conversation_id = %s or (conversation_id != '' and conversation_id = %s)
		order by creation limit 1 for update""",
		(result.originator_conversation_id, result.conversation_id or "-"),
	)
	if not rows:
		# Failed, not Invalid: the result may have overtaken the recording of Daraja's reply; the
		# scheduled job applies the stored body again (bounded attempts).
		return BalanceOutcome(LOG_FAILED, reason="no balance check has this OriginatorConversationID (yet)")
	name, status, account_text, offset, tolerance = rows[0]
	if status != REQUESTED:
		return BalanceOutcome(DUPLICATE, check=name, check_status=status, reason=f"check is already {status}")
	if endpoint == BALANCE_TIMEOUT or not result.succeeded:
		_update(
			db,
			name,
			now,
			status=FAILED,
			result_code=result.result_code[:140],
			result_desc=(result.result_desc or "timed out in Daraja's queue")[:ERROR_CHARS_MAX],
			callback_log=log,
		)
		return BalanceOutcome(PROCESSED, check=name, check_status=FAILED, reason="query failed")
	wanted = [line.strip() for line in (account_text or "").splitlines() if line.strip()]
	missing = [account for account in wanted if account not in result.balances_kes]
	if missing:
		_update(
			db,
			name,
			now,
			status=FAILED,
			result_code=result.result_code,
			result_desc=f"M-Pesa reported no {', '.join(missing)}"[:ERROR_CHARS_MAX],
			callback_log=log,
		)
		return BalanceOutcome(PROCESSED, check=name, check_status=FAILED, reason="account missing")
	mpesa_kes = sum((result.balances_kes[account] for account in wanted), Decimal(0))
	at = result.completed_at or now
	books_kes = books_balance_kes(db, at)
	offset_kes = decimal_kes(offset)
	difference_kes = mpesa_kes - (books_kes + offset_kes)
	check_status = DIFFERENCE if abs(difference_kes) > decimal_kes(tolerance) else MATCHED
	_update(
		db,
		name,
		now,
		status=check_status,
		completed_at=sql_datetime(at),
		mpesa_balance=mpesa_kes,
		books_balance=books_kes,
		difference=difference_kes,
		result_code=result.result_code[:140],
		result_desc=result.result_desc,
		callback_log=log,
	)
	return BalanceOutcome(PROCESSED, check=name, check_status=check_status, difference_kes=difference_kes)


def process_logged_result(
	db: Database, log: str, raw_body: bytes | str, *, endpoint: str, now: datetime
) -> BalanceOutcome:
	"""Apply a stored balance result/timeout body and mark its TukTuk Callback Log, in the caller's
	transaction; the log row is locked first and left alone unless still Received or Failed."""
	rows = db.sql("select status from `tabTukTuk Callback Log` where name = %s for update", (log,))
	assert rows, f"callback log {log} does not exist"
	if rows[0][0] not in LOG_WAITING:
		return BalanceOutcome(rows[0][0], reason="already handled")
	outcome = apply_result(db, raw_body, endpoint=endpoint, now=now, log=log)
	db.sql(
		"""update `tabTukTuk Callback Log` set status = %s, error = %s, processed_at = %s, modified = %s,
		attempts = attempts + 1, trans_id = %s where name = %s""",
		(outcome.status, outcome.reason[:ERROR_CHARS_MAX], now, now, (outcome.check or "")[:140], log),
	)
	return outcome


def pending_result_logs(
	db: Database, *, attempts_max: int = 5, limit: int = 100
) -> list[tuple[str, str, str]]:
	"""Stored balance result/timeout bodies still to apply: ``(log, endpoint, raw_body)``."""
	rows = db.sql(
		"""select name, endpoint, raw_body from `tabTukTuk Callback Log`
		where endpoint in (%s, %s) and status in ('Received', 'Failed') and attempts < %s
		order by received_at, name limit %s""",
		(BALANCE_RESULT, BALANCE_TIMEOUT, attempts_max, limit),
	)
	return [(name, endpoint, raw_body) for name, endpoint, raw_body in rows]
