"""Reconciliation (DESIGN §6): caches against ledger sums, ledger invariants, fixes, run records.

Each check is one set-based query over all drivers or vouchers (no per-driver loop). A fix
sets a drifted cache to its ledger sum under the driver's row lock (the ledger is the truth;
nothing is posted) and every run is recorded as a ``TukTuk Reconciliation Run`` with its
``TukTuk Reconciliation Discrepancy`` rows, by the core, so the runner and Frappe alike
leave the same record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from tuktuk_management.ledger import accounts, doctypes
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import lock_drivers, refresh_left_to_target
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.payouts import payout_ledger_mismatches
from tuktuk_management.ledger.rows import insert_statement, new_name, standard_values
from tuktuk_management.ledger.settings import LedgerSettings

REPORT_ROWS_MAX = 1_000
FIX_DRIVERS_MAX = 1_000  # drivers fixed per run (one transaction); a later run fixes the rest
RUN_DOCTYPE = doctypes.RECONCILIATION_RUN
DISCREPANCY_DOCTYPE = doctypes.RECONCILIATION_DISCREPANCY
# Voucher types whose document must exist for their postings (DESIGN §6 "no posting without its
# document"): ``accounts.VOUCHER_DOCTYPES``, where each flow adds its voucher DocType.
VOUCHER_DOCTYPES = accounts.VOUCHER_DOCTYPES

CLEAN, DRIFT_FOUND, FIXED, ERROR = "Clean", "Drift Found", "Fixed", "Error"
EXIT_CODE = {CLEAN: 0, DRIFT_FOUND: 1, FIXED: 1, ERROR: 2}
CACHE_FIELDS = ("current_balance", "current_deposit_balance", "payout_pending")


@dataclass
class ReconciliationReport:
	"""What a check found. Amounts are whole KES; lists are capped at REPORT_ROWS_MAX rows."""

	drivers_checked: int = 0
	discrepancies: list[dict] = field(default_factory=list)
	unbalanced_vouchers: list[dict] = field(default_factory=list)
	transactions_without_postings: list[str] = field(default_factory=list)
	postings_without_document: list[dict] = field(default_factory=list)
	ledger_total_kes: int = 0
	payout_mismatches: list[dict] = field(default_factory=list)  # Paid payouts vs their vouchers

	@property
	def clean(self) -> bool:
		return not (
			self.discrepancies
			or self.unbalanced_vouchers
			or self.transactions_without_postings
			or self.postings_without_document
			or self.ledger_total_kes
			or self.payout_mismatches
		)

	@property
	def invariant_breaches(self) -> int:
		return (
			len(self.unbalanced_vouchers)
			+ len(self.transactions_without_postings)
			+ len(self.postings_without_document)
			+ (1 if self.ledger_total_kes else 0)
			+ len(self.payout_mismatches)
		)

	def as_dict(self) -> dict:
		return {"clean": self.clean, **asdict(self)}


def driver_cache_rows(db: Database, driver: str | None = None) -> list[dict]:
	"""Every driver's (or one driver's) cached balances next to their ledger sums, in one
	set-based query (a single consistent snapshot: a payment in flight is either wholly in both
	or in neither). Rows ``{"driver", "<cache field>": {"cached", "ledger"}, ...}`` sorted by
	driver, whole KES."""
	# One driver: filter inside the grouped ledger too, so it reads that driver's index range only.
	ledger_filter, driver_filter = ("and party = %s", "where d.name = %s") if driver else ("", "")
	rows = db.sql(
		f"""select d.name, d.current_balance, d.current_deposit_balance, d.payout_pending,
			coalesce(l.target_kes, 0), coalesce(l.deposit_kes, 0), coalesce(l.payable_kes, 0)
		from `tabTukTuk Driver` d
		left join (
			select party,
				sum(case when account = %s then credit - debit else 0 end) as target_kes,
				sum(case when account = %s then credit - debit else 0 end) as deposit_kes,
				sum(case when account = %s then credit - debit else 0 end) as payable_kes
			from `tabTukTuk Ledger Entry`
			where party_type = %s and party is not null {ledger_filter}
			group by party
		) l on l.party = d.name
		{driver_filter}
		order by d.name""",
		(accounts.TARGET, accounts.DEPOSIT, accounts.PAYABLE, accounts.DRIVER_DOCTYPE)
		+ ((driver, driver) if driver else ()),
	)
	return [
		{
			"driver": name,
			"current_balance": {"cached": to_kes(balance), "ledger": to_kes(target_kes)},
			"current_deposit_balance": {"cached": to_kes(deposit), "ledger": to_kes(deposit_kes)},
			"payout_pending": {"cached": to_kes(pending), "ledger": to_kes(payable_kes)},
		}
		for name, balance, deposit, pending, target_kes, deposit_kes, payable_kes in rows
	]


def driver_balance_discrepancies(db: Database, driver: str | None = None) -> tuple[int, list[dict]]:
	"""Compare every driver's (or one driver's) cached balances with the sums of their ledger
	lines (:func:`driver_cache_rows`).

	Returns ``(drivers_checked, discrepancies)``; each discrepancy is ``{"driver", "field",
	"cached", "ledger", "difference"}`` in whole KES (difference = cached − ledger).
	"""
	rows = driver_cache_rows(db, driver)
	discrepancies = [
		{
			"driver": row["driver"],
			"field": field_name,
			"cached": row[field_name]["cached"],
			"ledger": row[field_name]["ledger"],
			"difference": row[field_name]["cached"] - row[field_name]["ledger"],
		}
		for row in rows
		for field_name in CACHE_FIELDS
		if row[field_name]["cached"] != row[field_name]["ledger"]
	]
	return len(rows), discrepancies


def check_books(db: Database, driver: str | None = None) -> ReconciliationReport:
	"""Run every check and return a :class:`ReconciliationReport` (``clean`` when nothing found).

	driver: check only this driver's caches (the ledger invariants are always checked whole).
	"""
	report = ReconciliationReport()
	report.drivers_checked, discrepancies = driver_balance_discrepancies(db, driver)
	report.discrepancies = discrepancies[:REPORT_ROWS_MAX]
	check_vouchers(db, report)
	report.payout_mismatches = payout_ledger_mismatches(db, limit=REPORT_ROWS_MAX)
	return report


def check_vouchers(db: Database, report: ReconciliationReport) -> None:
	"""The ledger invariants, with one grouped pass over the ledger (plus counts):

	- unbalanced vouchers and postings whose voucher document is missing come from one query that
	  groups the lines by voucher and looks each voucher's document up by primary key;
	- every TukTuk Transaction has postings iff #transactions = #transaction vouchers that have
	  their document; only when the counts differ is the (slower) listing query run;
	- the whole ledger sums to zero iff Σ of the unbalanced vouchers' differences is zero (the
	  balanced ones add nothing); a direct sum is run only when the listing was capped.
	"""
	joins = "\n".join(
		f"left join `tab{doctype}` d{i} on v.voucher_type = %s and d{i}.name = v.voucher_no"
		for i, doctype in enumerate(VOUCHER_DOCTYPES)
	)
	has_document = " or ".join(f"d{i}.name is not null" for i in range(len(VOUCHER_DOCTYPES)))
	rows = db.sql(
		f"""select v.voucher_type, v.voucher_no, v.difference, ({has_document}) as has_document
		from (select voucher_type, voucher_no, sum(debit) - sum(credit) as difference
			from `tabTukTuk Ledger Entry` group by voucher_type, voucher_no) v
		{joins}
		where v.difference <> 0 or not ({has_document})
		limit {2 * REPORT_ROWS_MAX + 1}""",
		VOUCHER_DOCTYPES,
	)
	capped = len(rows) > 2 * REPORT_ROWS_MAX
	unbalanced = [(t, n, to_kes(d)) for t, n, d, _ in rows if to_kes(d) != 0]
	report.unbalanced_vouchers = [
		{"voucher_type": t, "voucher_no": n, "difference": d} for t, n, d in unbalanced[:REPORT_ROWS_MAX]
	]
	without_document = [(t, n) for t, n, _, has in rows if not has]
	report.postings_without_document = [
		{"voucher_type": t, "voucher_no": n} for t, n in without_document[:REPORT_ROWS_MAX]
	]
	if capped:
		total = db.sql("select coalesce(sum(debit) - sum(credit), 0) from `tabTukTuk Ledger Entry`")
		report.ledger_total_kes = to_kes(total[0][0])
	else:
		report.ledger_total_kes = sum(d for _, _, d in unbalanced)

	# Pre-ledger transactions (recorded by the app this one replaced) have no postings by design.
	transactions = db.sql("select count(*) from `tabTukTuk Transaction` where pre_ledger = 0")[0][0]
	transaction_vouchers = db.sql(
		"select count(distinct voucher_no) from `tabTukTuk Ledger Entry` where voucher_type = %s",
		(accounts.TRANSACTION_DOCTYPE,),
	)[0][0]
	orphan_vouchers = sum(1 for t, _ in without_document if t == accounts.TRANSACTION_DOCTYPE)
	if capped or transactions != transaction_vouchers - orphan_vouchers:
		report.transactions_without_postings = [
			name
			for (name,) in db.sql(
				f"""select t.name from `tabTukTuk Transaction` t
				where t.pre_ledger = 0 and not exists (select 1 from `tabTukTuk Ledger Entry` l
					where l.voucher_type = %s and l.voucher_no = t.name)
				limit {REPORT_ROWS_MAX}""",
				(accounts.TRANSACTION_DOCTYPE,),
			)
		]


def driver_ledger_sums_locked(db: Database, driver: str) -> dict[str, int]:
	"""``{cache field: ledger sum}`` of one driver, as a locking read (call with the row locked)."""
	rows = db.sql(
		"""select account, coalesce(sum(credit - debit), 0) from `tabTukTuk Ledger Entry`
		where party_type = %s and party = %s group by account lock in share mode""",
		(accounts.DRIVER_DOCTYPE, driver),
	)
	sums = dict.fromkeys(CACHE_FIELDS, 0)
	for account, amount in rows:
		if account in accounts.CACHE_FIELD:
			sums[accounts.CACHE_FIELD[account]] = to_kes(amount)
	return sums


def fix_driver(db: Database, driver: str, settings: LedgerSettings) -> list[dict]:
	"""Set one driver's drifted caches to their ledger sums under the row lock; never commits.

	Returns the fixes ``[{"driver", "field", "cached", "ledger", "difference"}]`` (empty if the
	caches already match or the driver does not exist); ``left_to_target`` is recomputed.
	"""
	locked = lock_drivers(db, [driver])
	if driver not in locked:
		return []
	row = locked[driver]
	cached = {
		"current_balance": row.current_balance_kes,
		"current_deposit_balance": row.current_deposit_balance_kes,
		"payout_pending": row.payout_pending_kes,
	}
	ledger = driver_ledger_sums_locked(db, driver)
	fixes = [
		{
			"driver": driver,
			"field": name,
			"cached": cached[name],
			"ledger": ledger[name],
			"difference": cached[name] - ledger[name],
		}
		for name in CACHE_FIELDS
		if cached[name] != ledger[name]
	]
	if fixes:
		db.sql(
			"""update `tabTukTuk Driver` set current_balance = %s, current_deposit_balance = %s,
			payout_pending = %s where name = %s""",
			(ledger["current_balance"], ledger["current_deposit_balance"], ledger["payout_pending"], driver),
		)
		refresh_left_to_target(db, settings, driver)
	return fixes


@dataclass
class RunResult:
	"""A recorded reconciliation run: its document name, status, exit code and report."""

	run: str
	status: str
	report: ReconciliationReport
	fixed: list[dict] = field(default_factory=list)
	error: str = ""

	@property
	def exit_code(self) -> int:
		return EXIT_CODE[self.status]

	@property
	def total_discrepancy_kes(self) -> int:
		return sum(abs(d["difference"]) for d in self.report.discrepancies)

	@property
	def drivers_with_discrepancies(self) -> int:
		return len({d["driver"] for d in self.report.discrepancies})

	def as_dict(self) -> dict:
		return {
			"run": self.run,
			"status": self.status,
			"exit_code": self.exit_code,
			"drivers_checked": self.report.drivers_checked,
			"drivers_with_discrepancies": self.drivers_with_discrepancies,
			"total_discrepancy_kes": self.total_discrepancy_kes,
			"invariant_breaches": self.report.invariant_breaches,
			"fixed": self.fixed,
			"error": self.error,
			**self.report.as_dict(),
		}


def run_reconciliation(
	db: Database,
	*,
	settings: LedgerSettings,
	clock: Callable[[], datetime],
	triggered_by: str,
	fix: bool = False,
	driver: str | None = None,
	user: str = "Administrator",
	on_progress: Callable[[int, int], None] | None = None,
) -> RunResult:
	"""Check the books (one driver's caches or all), optionally fix drifted caches, and record the
	run; in the caller's transaction (never commits: commit after it returns).

	fix: set each drifted cache to its ledger sum under the row lock (at most FIX_DRIVERS_MAX
	drivers per run); invariant breaches are reported, never "fixed". triggered_by: the user or
	job that asked (stored on the run). on_progress(done, total): called while fixing.
	Status: Clean; Drift Found (something found, not all fixed); Fixed (only cache drift found,
	all of it fixed). Raises whatever the checks raise (see :func:`record_error_run`).
	"""
	started_at = clock()
	report = check_books(db, driver)
	fixed: list[dict] = []
	if fix and report.discrepancies:
		drifted = sorted({d["driver"] for d in report.discrepancies})[:FIX_DRIVERS_MAX]
		for done, name in enumerate(drifted, start=1):
			fixed += fix_driver(db, name, settings)
			if on_progress:
				on_progress(done, len(drifted))
	fixed_keys = {(d["driver"], d["field"]) for d in fixed}
	if report.clean:
		status = CLEAN
	elif report.invariant_breaches == 0 and all(
		(d["driver"], d["field"]) in fixed_keys for d in report.discrepancies
	):
		status = FIXED
	else:
		status = DRIFT_FOUND
	result = RunResult(run=new_name(), status=status, report=report, fixed=fixed)
	_insert_run(
		db,
		result,
		fix_requested=fix,
		triggered_by=triggered_by,
		started_at=started_at,
		finished_at=clock(),
		fixed_keys=fixed_keys,
		user=user,
	)
	return result


def record_error_run(
	db: Database,
	*,
	error: str,
	clock: Callable[[], datetime],
	triggered_by: str,
	fix: bool,
	started_at: datetime,
	user: str = "Administrator",
) -> RunResult:
	"""Record a run that failed (status Error) after the caller rolled back; never commits."""
	result = RunResult(run=new_name(), status=ERROR, report=ReconciliationReport(), error=error[:1_000])
	_insert_run(
		db,
		result,
		fix_requested=fix,
		triggered_by=triggered_by,
		started_at=started_at,
		finished_at=clock(),
		fixed_keys=set(),
		user=user,
	)
	return result


_RUN_COLUMNS = (
	"status",
	"triggered_by",
	"fix_requested",
	"started_at",
	"finished_at",
	"drivers_checked",
	"drivers_with_discrepancies",
	"total_discrepancy_kes",
	"invariant_breaches",
	"details",
)
_DISCREPANCY_COLUMNS = (
	"parent",
	"parentfield",
	"parenttype",
	"driver",
	"field",
	"cached_kes",
	"ledger_kes",
	"difference_kes",
	"fixed",
)


def _insert_run(
	db: Database,
	result: RunResult,
	*,
	fix_requested: bool,
	triggered_by: str,
	started_at: datetime,
	finished_at: datetime,
	fixed_keys: set[tuple[str, str]],
	user: str,
) -> None:
	report = result.report
	details = {
		"unbalanced_vouchers": report.unbalanced_vouchers,
		"transactions_without_postings": report.transactions_without_postings,
		"postings_without_document": report.postings_without_document,
		"ledger_total_kes": report.ledger_total_kes,
	}
	if result.error:
		details["error"] = result.error
	db.sql(
		insert_statement(RUN_DOCTYPE, _RUN_COLUMNS),
		(
			*standard_values(result.run, finished_at, user),
			result.status,
			triggered_by[:140],
			1 if fix_requested else 0,
			started_at,
			finished_at,
			report.drivers_checked,
			result.drivers_with_discrepancies,
			result.total_discrepancy_kes,
			report.invariant_breaches,
			json.dumps(details, indent=1),
		),
	)
	rows = report.discrepancies[:REPORT_ROWS_MAX]
	if not rows:
		return
	values: list = []
	for idx, d in enumerate(rows, start=1):
		values += [
			*standard_values(new_name(), finished_at, user, idx),
			result.run,
			"discrepancies",
			RUN_DOCTYPE,
			d["driver"],
			d["field"],
			d["cached"],
			d["ledger"],
			d["difference"],
			1 if (d["driver"], d["field"]) in fixed_keys else 0,
		]
	db.sql(insert_statement(DISCREPANCY_DOCTYPE, _DISCREPANCY_COLUMNS, rows=len(rows)), tuple(values))
