"""Leaving (DESIGN §8): a driver's termination in one unit of work, its preview, reinstatement.

:func:`terminate_driver` runs inside the caller's transaction, behind a savepoint, and never
commits. Under the driver's row lock it:

1. runs the final daily close for today (:func:`tuktuk_management.ledger.close.close_driver`,
   the same close the scheduler runs; a driver who is not Active is not judged);
2. settles (:func:`settle`): the deposit left after every posted deduction and the final close is
   refunded, never below zero: voucher TukTuk Termination / ``<name>``, debit deposit R, credit
   payable R; then ONE payout is queued for the whole payable less the payouts already with
   M-Pesa (Sent/Unknown, which settle through their own lifecycle); the driver's Queued and Failed
   payouts are cancelled, their amounts being part of that one payout;
3. records a TukTuk Termination row (the voucher's document) with every figure, and sets the
   driver Terminated (``terminated_on``, ``termination_reason``), with no vehicle.

The payout is a Queued row like any other: the payout job sends it after commit. Disabling the
driver's User is the Frappe layer's part (the result names the user), in the same request.

A second termination of a Terminated driver changes nothing and says so (status
``Already Terminated``): the deposit is refunded once, also under concurrent requests, because
the status is read under the row lock. :func:`preview_termination` runs the same code and rolls
it back, so the preview is exactly what a termination now would do. :func:`reinstate_driver`
sets a Terminated driver Inactive (activation then follows the deposit rules); the history stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from tuktuk_management.ledger import accounts, doctypes
from tuktuk_management.ledger.close import DayResult, close_driver
from tuktuk_management.ledger.database import Database, in_savepoint
from tuktuk_management.ledger.drivers import LockedDrivers, lock_drivers
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.owed.withdrawals import reject_waiting_requests
from tuktuk_management.ledger.payouts.state import cancel_payout, queue_payout
from tuktuk_management.ledger.rows import insert_statement, standard_values
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.status import DriverStatus, PayoutStatus
from tuktuk_management.ledger.substitutions import end_for_leaving_driver, record_assignment
from tuktuk_management.ledger.writer import PostingLine, post_voucher

TERMINATION_DOCTYPE = doctypes.TERMINATION
SAVEPOINT = "tuktuk_termination"
PREVIEW_SAVEPOINT = "tuktuk_termination_preview"
REASON_CHARS_MAX = 1_000
DEDUCTIONS_SHOWN_MAX = 50
OPEN_PAYOUTS_MAX = 500  # a driver's unfinished payouts; far above any real count

TERMINATED = "Terminated"
ALREADY_TERMINATED = "Already Terminated"
REINSTATED = "Reinstated"

_TERMINATION_COLUMNS = (
	"driver",
	"terminated_at",
	"terminated_by",
	"reason",
	"vehicle",
	"user",
	"close_business_date",
	"close_outcome",
	"close_collected_kes",
	"close_shortfall_kes",
	"close_deposit_deducted_kes",
	"deposit_kes",
	"refund_kes",
	"payable_kes",
	"in_flight_kes",
	"payout_kes",
	"payout",
	"cancelled_payouts",
)
_INSERT_TERMINATION = insert_statement(TERMINATION_DOCTYPE, _TERMINATION_COLUMNS)


class TerminationRefused(ValueError):
	"""A termination or reinstatement that cannot be done as asked; the message is for a manager.
	Raised before anything is written (or with the caller's savepoint rolled back)."""


class DriverNotFound(TerminationRefused):
	"""The driver named does not exist."""


@dataclass(frozen=True)
class Settlement:
	"""A leaving driver's money (whole KES): the deposit and payable after the final close, the
	payouts already with M-Pesa, the deposit refund and the one final payout."""

	deposit_kes: int
	payable_kes: int
	in_flight_kes: int
	refund_kes: int
	payout_kes: int


def settle(*, deposit_kes: int, payable_kes: int, in_flight_kes: int) -> Settlement:
	"""The settlement rule as a pure function.

	deposit_kes: the deposit balance after every posted deduction (damage charges, shortfalls
	taken by closes, corrections); payable_kes: ``payout_pending``; in_flight_kes: Σ of the
	driver's Sent and Unknown payouts (part of the payable, paid or failed by their own results).
	Returns ``refund_kes = max(0, deposit_kes)`` (a deposit in debt is not refunded and stays
	owed) and ``payout_kes = max(0, payable_kes + refund_kes - in_flight_kes)``.
	"""
	assert in_flight_kes >= 0
	refund_kes = max(0, deposit_kes)
	payout_kes = max(0, payable_kes + refund_kes - in_flight_kes)
	return Settlement(deposit_kes, payable_kes, in_flight_kes, refund_kes, payout_kes)


@dataclass
class TerminationResult:
	"""What a termination did (or, from :func:`preview_termination`, would do)."""

	driver: str
	status: str  # TERMINATED or ALREADY_TERMINATED
	termination: str | None = None
	reason: str = ""
	terminated_on: date | None = None
	close: dict = field(default_factory=dict)
	settlement: Settlement | None = None
	payout: str | None = None
	cancelled_payouts: list[str] = field(default_factory=list)
	in_flight_payouts: list[str] = field(default_factory=list)
	vehicle: str | None = None
	user: str | None = None

	def as_dict(self) -> dict:
		values = asdict(self)
		values["terminated_on"] = self.terminated_on.isoformat() if self.terminated_on else None
		return values


def clean_reason(reason: str | None) -> str:
	"""The trimmed reason; raises :class:`TerminationRefused` if it is empty or too long."""
	text = (reason or "").strip()
	if not text:
		raise TerminationRefused("Give the reason for the termination (it stays on the driver's record).")
	if len(text) > REASON_CHARS_MAX:
		raise TerminationRefused(f"The reason is too long: at most {REASON_CHARS_MAX} characters.")
	return text


def terminate_driver(
	db: Database,
	driver: str,
	*,
	reason: str,
	settings: LedgerSettings,
	now: datetime,
	user: str = "Administrator",
	on_step: Callable[[str], None] | None = None,
) -> TerminationResult:
	"""Terminate ``driver`` (see the module docstring) in the caller's transaction; never commits.

	now: the site clock (naive); the final close is for ``now.date()``. on_step (test hook) is
	called with "driver_locked", the close's steps prefixed "close:", "payouts_locked", the
	refund voucher's steps prefixed "refund:", "payout_queued", "payouts_cancelled",
	"termination_inserted" and "driver_updated". Raises :class:`TerminationRefused` (empty
	reason) or :class:`DriverNotFound`; on any error the work of this call is rolled back.
	"""
	reason = clean_reason(reason)
	step = on_step or (lambda _name: None)
	with in_savepoint(db, SAVEPOINT):
		return _terminate_locked(db, driver, reason, settings=settings, now=now, user=user, step=step)


def _terminate_locked(
	db: Database,
	driver: str,
	reason: str,
	*,
	settings: LedgerSettings,
	now: datetime,
	user: str,
	step: Callable[[str], None],
) -> TerminationResult:
	status, vehicle, login = _lock_driver(db, driver)
	step("driver_locked")
	if status == DriverStatus.TERMINATED:
		return TerminationResult(driver, ALREADY_TERMINATED, termination=latest_termination(db, driver))
	day = close_driver(
		db, driver, now.date(), settings=settings, now=now, user=user, on_step=lambda s: step(f"close:{s}")
	)
	locked = lock_drivers(db, [driver])  # the balances as the close left them
	row = locked[driver]
	open_payouts = _lock_open_payouts(db, driver)
	step("payouts_locked")
	in_flight = [(name, amount) for name, status, amount in open_payouts if status in PayoutStatus.IN_FLIGHT]
	to_cancel = [name for name, status, _amount in open_payouts if status in PayoutStatus.UNPAID]
	settlement = settle(
		deposit_kes=row.current_deposit_balance_kes,
		payable_kes=row.payout_pending_kes,
		in_flight_kes=sum(amount for _name, amount in in_flight),
	)
	name = _next_termination_name(db, driver)
	if settlement.refund_kes:
		_post_refund(db, name, driver, settlement.refund_kes, locked, now=now, user=user, step=step)
	payout = None
	if settlement.payout_kes:
		payout = queue_payout(
			db, driver=driver, amount_kes=settlement.payout_kes, transaction=None, now=now, user=user
		)
	step("payout_queued")
	for cancelled in to_cancel:
		cancel_payout(
			db, cancelled, reason=f"Driver terminated ({name}): in the final payout", user=user, now=now
		)
	step("payouts_cancelled")
	result = TerminationResult(
		driver,
		TERMINATED,
		termination=name,
		reason=reason,
		terminated_on=now.date(),
		close=close_figures(day),
		settlement=settlement,
		payout=payout,
		cancelled_payouts=to_cancel,
		in_flight_payouts=[name for name, _amount in in_flight],
		vehicle=vehicle,
		user=login,
	)
	_insert_termination(db, result, now=now, user=user)
	step("termination_inserted")
	reject_waiting_requests(db, driver, reason=f"Driver terminated ({name})", now=now, user=user)
	step("requests_rejected")
	end_for_leaving_driver(db, driver, now.date(), now=now, user=user)
	record_assignment(db, driver, None, now=now, user=user)
	step("vehicle_freed")
	_set_driver_terminated(db, driver, reason, now=now, user=user)
	step("driver_updated")
	return result


def close_figures(day: DayResult) -> dict:
	"""The final close's outcome for the preview and the record: business date (ISO), status
	(Closed / Already Closed / Not Due), target met, and its amounts in KES."""
	return {
		"business_date": day.business_date.isoformat(),
		"status": day.status,
		"target_met": day.target_met,
		"target_kes": day.target_kes,
		"collected_kes": day.collected_kes,
		"shortfall_kes": day.shortfall_kes,
		"deposit_deducted_kes": day.deposit_deducted_kes,
		"rollover_kes": day.rollover_kes,
	}


def _lock_driver(db: Database, driver: str) -> tuple[str, str | None, str | None]:
	"""Lock the driver row; ``(status, assigned_tuktuk, user)``. Raises :class:`DriverNotFound`."""
	rows = db.sql(
		"select status, assigned_tuktuk, user from `tabTukTuk Driver` where name = %s for update", (driver,)
	)
	if not rows:
		raise DriverNotFound(f"Driver {driver} does not exist.")
	status, vehicle, login = rows[0]
	return status or "", vehicle or None, login or None


def _lock_open_payouts(db: Database, driver: str) -> list[tuple[str, str, int]]:
	"""The driver's unfinished payouts ``(name, status, amount_kes)``, locked, in name order."""
	statuses = PayoutStatus.UNPAID + PayoutStatus.IN_FLIGHT
	rows = db.sql(
		f"""select name, status, amount from `tabTukTuk Payout`
		where driver = %s and status in ({", ".join(["%s"] * len(statuses))})
		order by name limit {OPEN_PAYOUTS_MAX + 1} for update""",
		(driver, *statuses),
	)
	if len(rows) > OPEN_PAYOUTS_MAX:
		raise TerminationRefused(
			f"Driver {driver} has more than {OPEN_PAYOUTS_MAX} unfinished payouts; settle them first."
		)
	return [(name, status, to_kes(amount)) for name, status, amount in rows]


def _next_termination_name(db: Database, driver: str) -> str:
	"""``<driver>-TERM-<n>``: the driver's n-th termination (unique under the driver's row lock)."""
	count = db.sql(f"select count(*) from `tab{TERMINATION_DOCTYPE}` where driver = %s", (driver,))[0][0]
	return f"{driver}-TERM-{int(count) + 1}"


def _post_refund(
	db: Database,
	name: str,
	driver: str,
	refund_kes: int,
	locked: LockedDrivers,
	*,
	now: datetime,
	user: str,
	step: Callable[[str], None],
) -> None:
	"""The deposit refund voucher: debit deposit, credit payable (TukTuk Termination / ``name``)."""
	post_voucher(
		db,
		voucher_type=TERMINATION_DOCTYPE,
		voucher_no=name,
		lines=[
			PostingLine(accounts.DEPOSIT, debit_kes=refund_kes, party=driver),
			PostingLine(accounts.PAYABLE, credit_kes=refund_kes, party=driver),
		],
		posting_datetime=now,
		locked=locked,
		remarks=f"Deposit refund on termination {name}",
		user=user,
		on_step=lambda s: step(f"refund:{s}"),
	)


def _insert_termination(db: Database, result: TerminationResult, *, now: datetime, user: str) -> None:
	settlement, close = result.settlement, result.close
	assert settlement is not None and result.termination
	db.sql(
		_INSERT_TERMINATION,
		(
			*standard_values(result.termination, now, user),
			result.driver,
			now,
			user,
			result.reason,
			result.vehicle,
			result.user,
			close["business_date"],
			close_outcome(close),
			close["collected_kes"],
			close["shortfall_kes"],
			close["deposit_deducted_kes"],
			settlement.deposit_kes,
			settlement.refund_kes,
			settlement.payable_kes,
			settlement.in_flight_kes,
			settlement.payout_kes,
			result.payout,
			", ".join(result.cancelled_payouts),
		),
	)


def close_outcome(close: dict) -> str:
	"""One line for a manager: "Closed: target met", "Closed: target missed", or the status."""
	if close["status"] != "Closed":
		return close["status"]
	return "Closed: target met" if close["target_met"] else "Closed: target missed"


def _set_driver_terminated(db: Database, driver: str, reason: str, *, now: datetime, user: str) -> None:
	"""Status Terminated, the day and reason, no vehicle (``modified`` moves: an open form is stale)."""
	db.sql(
		"""update `tabTukTuk Driver` set status = %s, terminated_on = %s, termination_reason = %s,
		assigned_tuktuk = null, modified = %s, modified_by = %s where name = %s""",
		(DriverStatus.TERMINATED, now.date(), reason, now, user, driver),
	)


def latest_termination(db: Database, driver: str) -> str | None:
	"""The name of the driver's latest TukTuk Termination, or None."""
	rows = db.sql(
		f"select name from `tab{TERMINATION_DOCTYPE}` where driver = %s order by creation desc, name desc limit 1",
		(driver,),
	)
	return rows[0][0] if rows else None


def deposit_history(db: Database, driver: str, *, limit: int = DEDUCTIONS_SHOWN_MAX) -> dict:
	"""The driver's deposit account from the ledger: ``{"paid_in_kes", "taken_out_kes",
	"balance_kes", "deductions": [{"posting_datetime", "voucher_type", "voucher_no", "amount_kes",
	"remarks", "is_reversal"}]}``; deductions are the debit lines (latest ``limit``, oldest first),
	each with the voucher that documents it (Daily Close, Credit Note, Journal, ...)."""
	where = "party_type = %s and party = %s and account = %s"
	values = (accounts.DRIVER_DOCTYPE, driver, accounts.DEPOSIT)
	paid_in, taken_out = db.sql(
		f"select coalesce(sum(credit), 0), coalesce(sum(debit), 0) from `tabTukTuk Ledger Entry` where {where}",
		values,
	)[0]
	rows = db.sql(
		f"""select posting_datetime, voucher_type, voucher_no, debit, remarks, is_reversal
		from `tabTukTuk Ledger Entry` where {where} and debit > 0
		order by posting_datetime desc, name desc limit %s""",
		(*values, limit),
	)
	deductions = [
		{
			"posting_datetime": str(at),
			"voucher_type": voucher_type,
			"voucher_no": voucher_no,
			"amount_kes": to_kes(debit),
			"remarks": remarks or "",
			"is_reversal": bool(is_reversal),
		}
		for at, voucher_type, voucher_no, debit, remarks, is_reversal in reversed(rows)
	]
	paid_in_kes, taken_out_kes = to_kes(paid_in), to_kes(taken_out)
	return {
		"paid_in_kes": paid_in_kes,
		"taken_out_kes": taken_out_kes,
		"balance_kes": paid_in_kes - taken_out_kes,
		"deductions": deductions,
	}


def preview_termination(
	db: Database, driver: str, *, settings: LedgerSettings, now: datetime, user: str = "Administrator"
) -> dict:
	"""What :func:`terminate_driver` would do now, without doing it: the same code runs inside a
	savepoint that is then rolled back (its row locks are held until the caller's transaction
	ends). Returns :meth:`TerminationResult.as_dict` plus ``"deposit"`` (:func:`deposit_history`,
	before the final close) and ``"preview": True``. Raises :class:`DriverNotFound`."""
	db.savepoint(PREVIEW_SAVEPOINT)
	try:
		result = terminate_driver(db, driver, reason="preview", settings=settings, now=now, user=user)
	finally:
		db.rollback(save_point=PREVIEW_SAVEPOINT)
		db.release_savepoint(PREVIEW_SAVEPOINT)
	reply = result.as_dict()
	reply["reason"] = ""
	reply["deposit"] = deposit_history(db, driver)
	reply["preview"] = True
	return reply


def reinstate_driver(db: Database, driver: str, *, now: datetime, user: str = "Administrator") -> dict:
	"""Set a Terminated driver Inactive (never Active: activation follows the deposit rules) and
	stamp the latest TukTuk Termination ``reinstated_at``/``reinstated_by``; the history stays.

	Returns ``{"driver", "status": "Reinstated", "driver_status": "Inactive", "termination",
	"user"}`` (the Frappe layer re-enables that User). Raises :class:`TerminationRefused` if the
	driver is not Terminated (a second reinstatement changes nothing), :class:`DriverNotFound`.
	"""
	with in_savepoint(db, SAVEPOINT + "_reinstate"):
		status, _vehicle, login = _lock_driver(db, driver)
		if status != DriverStatus.TERMINATED:
			raise TerminationRefused(
				f"Driver {driver} is {status or 'without a status'}, not Terminated: nothing to reinstate."
			)
		termination = latest_termination(db, driver)
		db.sql(
			"update `tabTukTuk Driver` set status = %s, modified = %s, modified_by = %s where name = %s",
			(DriverStatus.INACTIVE, now, user, driver),
		)
		if termination:
			db.sql(
				f"update `tab{TERMINATION_DOCTYPE}` set reinstated_at = %s, reinstated_by = %s, modified = %s "
				"where name = %s",
				(now, user, now, termination),
			)
	return {
		"driver": driver,
		"status": REINSTATED,
		"driver_status": DriverStatus.INACTIVE,
		"termination": termination,
		"user": login,
	}
