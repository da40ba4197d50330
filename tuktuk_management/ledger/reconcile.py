"""Reconciliation checks (DESIGN §6): caches against ledger sums, and ledger invariants.

Each check is one set-based query over all drivers or vouchers (no per-driver loop). This
module only reports; fixing drift comes with the daily-close/reconciliation work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.payouts import payout_ledger_mismatches

REPORT_ROWS_MAX = 1_000


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

	def as_dict(self) -> dict:
		return {"clean": self.clean, **asdict(self)}


def driver_balance_discrepancies(db: Database, driver: str | None = None) -> tuple[int, list[dict]]:
	"""Compare every driver's cached balances with the sums of their ledger lines.

	Returns ``(drivers_checked, discrepancies)``; each discrepancy is ``{"driver", "field",
	"cached", "ledger", "difference"}`` in whole KES (difference = cached − ledger).
	"""
	driver_filter = "where d.name = %s" if driver else ""
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
			where party_type = %s and party is not null
			group by party
		) l on l.party = d.name
		{driver_filter}
		order by d.name""",
		(accounts.TARGET, accounts.DEPOSIT, accounts.PAYABLE, accounts.DRIVER_DOCTYPE)
		+ ((driver,) if driver else ()),
	)
	discrepancies = []
	for name, balance, deposit, pending, target_kes, deposit_kes, payable_kes in rows:
		for field_name, cached, ledger in (
			("current_balance", balance, target_kes),
			("current_deposit_balance", deposit, deposit_kes),
			("payout_pending", pending, payable_kes),
		):
			cached_kes, ledger_kes = to_kes(cached), to_kes(ledger)
			if cached_kes != ledger_kes:
				discrepancies.append(
					{
						"driver": name,
						"field": field_name,
						"cached": cached_kes,
						"ledger": ledger_kes,
						"difference": cached_kes - ledger_kes,
					}
				)
	return len(rows), discrepancies


def check_books(db: Database) -> ReconciliationReport:
	"""Run every check and return a :class:`ReconciliationReport` (``clean`` when nothing found)."""
	report = ReconciliationReport()
	report.drivers_checked, discrepancies = driver_balance_discrepancies(db)
	report.discrepancies = discrepancies[:REPORT_ROWS_MAX]
	report.unbalanced_vouchers = [
		{"voucher_type": voucher_type, "voucher_no": voucher_no, "difference": to_kes(difference)}
		for voucher_type, voucher_no, difference in db.sql(
			f"""select voucher_type, voucher_no, sum(debit) - sum(credit) from `tabTukTuk Ledger Entry`
			group by voucher_type, voucher_no having sum(debit) <> sum(credit) limit {REPORT_ROWS_MAX}"""
		)
	]
	report.transactions_without_postings = [
		name
		for (name,) in db.sql(
			f"""select t.name from `tabTukTuk Transaction` t
			where not exists (select 1 from `tabTukTuk Ledger Entry` l
				where l.voucher_type = %s and l.voucher_no = t.name)
			limit {REPORT_ROWS_MAX}""",
			(accounts.TRANSACTION_DOCTYPE,),
		)
	]
	# A voucher's document must exist: one "exists in its table" test per known voucher type.
	has_document = " or ".join(
		f"(l.voucher_type = %s and exists (select 1 from `tab{doctype}` v where v.name = l.voucher_no))"
		for doctype in accounts.VOUCHER_DOCTYPES
	)
	report.postings_without_document = [
		{"voucher_type": voucher_type, "voucher_no": voucher_no}
		for voucher_type, voucher_no in db.sql(
			f"""select distinct l.voucher_type, l.voucher_no from `tabTukTuk Ledger Entry` l
			where not ({has_document})
			limit {REPORT_ROWS_MAX}""",
			accounts.VOUCHER_DOCTYPES,
		)
	]
	total = db.sql("select coalesce(sum(debit) - sum(credit), 0) from `tabTukTuk Ledger Entry`")
	report.ledger_total_kes = to_kes(total[0][0])
	report.payout_mismatches = payout_ledger_mismatches(db, limit=REPORT_ROWS_MAX)
	return report
