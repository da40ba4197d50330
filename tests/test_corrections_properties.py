"""Property tests: random sequences of payments, allocations, credit notes, journals and their
reversals keep the books (DESIGN §2), and reverting every correction restores every balance.

After every step: every voucher balanced, the ledger sums to zero, every cached balance equals
its ledger sum, no driver balance below zero unless an overdraft line allowed it, and a refused
correction changed nothing. Example counts stay modest so the suite stays fast.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.corrections_helpers import assert_books_clean, snapshot
from tests.factories import c2b_body, make_driver, make_vehicle, set_settings
from tuktuk_management.ledger import allocation, c2b, corrections, journal
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.postings import CorrectionRefused
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus

DRIVERS = ("D000001", "D000002", "D000003")
VEHICLES = ("TT001", "TT002")  # driven by D000001, D000002; D000003 drives nothing
START = datetime(2026, 11, 21, 6, 0, 0)
TABLES = (
	"TukTuk Transaction",
	"TukTuk Ledger Entry",
	"TukTuk Payout",
	"TukTuk Credit Note",
	"TukTuk Journal",
	"TukTuk Journal Line",
	"TukTuk Driver",
	"TukTuk Vehicle",
)
_ids = itertools.count(1)

amounts = st.integers(min_value=1, max_value=700)
driver_index = st.integers(min_value=0, max_value=len(DRIVERS) - 1)
pick = st.integers(min_value=0, max_value=1_000)

payment = st.tuples(st.just("pay"), st.integers(0, len(VEHICLES)), amounts)  # index 2 = unknown account
allocate = st.tuples(st.just("allocate"), pick, driver_index)
waiver = st.tuples(st.just("waiver"), driver_index, amounts)
refund = st.tuples(st.just("refund"), driver_index, amounts, st.sampled_from(corrections.REFUND_MODES))
reverse = st.tuples(st.just("reverse"), pick, amounts)
adjust = st.tuples(
	st.just("adjust"),
	driver_index,
	amounts,
	st.sampled_from(("target", "deposit", "payable")),
	st.sampled_from((corrections.INCREASE, corrections.DECREASE)),
)
cancel = st.tuples(st.just("cancel"), pick)


def journal_step(overdraft: bool):
	return st.tuples(
		st.just("journal"),
		driver_index,
		driver_index,
		st.sampled_from(("target", "deposit", "payable")),
		amounts,
		st.sampled_from(("revenue", "suspense", None)),  # None: driver to driver
		st.booleans() if overdraft else st.just(False),
	)


def steps(overdraft: bool):
	return st.lists(
		st.one_of(payment, allocate, waiver, refund, reverse, adjust, cancel, journal_step(overdraft)),
		min_size=1,
		max_size=18,
	)


class Books:
	"""Runs steps against the database and remembers what can be reverted (newest last)."""

	def __init__(self, db):
		self.db = db
		self.clock = START
		self.payments: list[str] = []
		self.open: list[tuple[str, str]] = []  # ("credit_note" | "journal", name)
		self.overdraft_pairs: set[tuple[str, str]] = set()
		self.refused = 0

	def now(self) -> datetime:
		self.clock += timedelta(seconds=1)
		return self.clock

	def settings(self):
		return load_settings(self.db)

	def run(self, step: tuple) -> None:
		before = snapshot(self.db)
		try:
			getattr(self, f"do_{step[0]}")(*step[1:])
		except CorrectionRefused:
			self.db.rollback()
			self.refused += 1
			event(f"refused {step[0]}")
			assert snapshot(self.db) == before, step  # a refusal changes nothing
			return
		self.db.commit()
		event(f"applied {step[0]}")

	def do_pay(self, vehicle: int, amount_kes: int) -> None:
		account = VEHICLES[vehicle] if vehicle < len(VEHICLES) else "NOWHERE"
		outcome = c2b.process_confirmation(
			self.db, c2b_body(account, amount_kes), settings=self.settings(), now=self.now()
		)
		assert outcome.status in (LogStatus.PROCESSED, LogStatus.UNALLOCATED)
		self.payments.append(outcome.transaction)

	def do_allocate(self, which: int, driver: int) -> None:
		if not self.payments:
			return
		allocation.allocate_payment(
			self.db,
			self.payments[which % len(self.payments)],
			driver=DRIVERS[driver],
			settings=self.settings(),
			now=self.now(),
		)

	def submit(self, note: corrections.CreditNote) -> None:
		corrections.submit_credit_note(self.db, note, settings=self.settings(), now=self.now())
		self.open.append(("credit_note", note.name))

	def note(self, correction_type: str, driver: str, amount_kes: int, **fields) -> corrections.CreditNote:
		return corrections.CreditNote(
			f"CN-{next(_ids):06d}",
			correction_type,
			driver,
			amount_kes,
			reason_code="Data entry error",
			**fields,
		)

	def do_waiver(self, driver: int, amount_kes: int) -> None:
		self.submit(self.note(corrections.TARGET_WAIVER, DRIVERS[driver], amount_kes))

	def do_refund(self, driver: int, amount_kes: int, mode: str) -> None:
		self.submit(self.note(corrections.DEPOSIT_REFUND, DRIVERS[driver], amount_kes, refund_mode=mode))

	def do_reverse(self, which: int, amount_kes: int) -> None:
		if not self.payments:
			return
		transaction = self.payments[which % len(self.payments)]
		driver = self.db.sql("select driver from `tabTukTuk Transaction` where name = %s", (transaction,))[0][
			0
		]
		note = self.note(
			corrections.PAYMENT_REVERSAL, driver or DRIVERS[0], amount_kes, transaction=transaction
		)
		self.submit(note)

	def do_adjust(self, driver: int, amount_kes: int, account: str, direction: str) -> None:
		note = self.note(
			corrections.BALANCE_ADJUSTMENT,
			DRIVERS[driver],
			amount_kes,
			driver_account=account,
			direction=direction,
			counter_account="revenue",
		)
		self.submit(note)

	def do_journal(self, source: int, target: int, account: str, amount_kes: int, company, overdraft: bool):
		if company:
			lines = [
				{
					"account": account,
					"driver": DRIVERS[source],
					"debit": amount_kes,
					"allow_overdraft": overdraft,
				},
				{"account": company, "credit": amount_kes},
			]
		else:
			lines = [
				{
					"account": account,
					"driver": DRIVERS[source],
					"debit": amount_kes,
					"allow_overdraft": overdraft,
				},
				{"account": account, "driver": DRIVERS[target], "credit": amount_kes},
			]
		parsed = journal.parse_journal(f"J{next(_ids)}", lines, settings=self.settings())
		result = journal.post_journal(self.db, parsed, settings=self.settings(), now=self.now())
		if overdraft:
			self.overdraft_pairs.add((DRIVERS[source], account))
		self.open.append(("journal", result.name))

	def do_cancel(self, which: int) -> None:
		if not self.open:
			return
		kind, name = self.open[which % len(self.open)]
		self.undo(kind, name)
		self.open.remove((kind, name))

	def undo(self, kind: str, name: str) -> None:
		if kind == "journal":
			journal.revert_journal(self.db, name, settings=self.settings(), now=self.now())
		else:
			corrections.cancel_credit_note(self.db, name, settings=self.settings(), now=self.now())

	def check(self) -> None:
		assert_books_clean(self.db)
		for name, target, deposit, payable in self.db.sql(
			"select name, current_balance, current_deposit_balance, payout_pending from `tabTukTuk Driver`"
		):
			for account, value in (("target", target), ("deposit", deposit), ("payable", payable)):
				assert to_kes(value) >= 0 or (name, account) in self.overdraft_pairs, (name, account, value)


def reset(db) -> None:
	for table in TABLES:
		db.sql(f"delete from `tab{table}`")
	set_settings(db, global_daily_target=1000, global_fare_percentage=50)
	make_vehicle(db, "TT001")
	make_vehicle(db, "TT002")
	make_driver(db, "D000001", "TT001", current_balance=300, current_deposit_balance=500)
	make_driver(db, "D000002", "TT002", daily_target=600, fare_percentage=30, current_deposit_balance=200)
	make_driver(db, "D000003", None, current_deposit_balance=1000, payout_pending=100)
	db.commit()


PROPERTY_SETTINGS = settings(
	max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(sequence=steps(overdraft=True))
def test_random_sequences_keep_the_books(db, sequence):
	reset(db)
	books = Books(db)
	for step in sequence:
		books.run(step)
		books.check()


def balances_by_voucher_type(db) -> dict:
	"""Per (voucher type, driver, account): the sum of ledger lines (credit - debit)."""
	sums = defaultdict(int)
	for voucher_type, party, account, kes in db.sql(
		"""select voucher_type, party, account, sum(credit - debit) from `tabTukTuk Ledger Entry`
		group by voucher_type, party, account"""
	):
		sums[(voucher_type, party, account)] += to_kes(kes)
	return sums


@PROPERTY_SETTINGS
@given(sequence=steps(overdraft=False))
def test_reverting_every_correction_restores_every_balance(db, sequence):
	reset(db)
	books = Books(db)
	for step in sequence:
		books.run(step)
	for kind, name in reversed(books.open):  # newest first
		books.undo(kind, name)
		db.commit()
	books.check()
	# Every correction voucher now nets to zero on every account...
	sums = balances_by_voucher_type(db)
	for (voucher_type, party, account), kes in sums.items():
		if voucher_type in ("TukTuk Credit Note", "TukTuk Journal"):
			assert kes == 0, (voucher_type, party, account, kes)
	# ...so each driver holds exactly what its opening balances and payments gave it.
	for name, target, deposit, payable in db.sql(
		"select name, current_balance, current_deposit_balance, payout_pending from `tabTukTuk Driver`"
	):
		for account, value in (("target", target), ("deposit", deposit), ("payable", payable)):
			expected = sums.get(("TukTuk Transaction", name, account), 0) + sums.get(
				("TukTuk Driver", name, account), 0
			)
			assert to_kes(value) == expected, (name, account)
	assert db.sql("select count(*) from `tabTukTuk Journal` where status = 'Posted'")[0][0] == 0
	assert db.sql("select count(*) from `tabTukTuk Credit Note` where docstatus = 1")[0][0] == 0


@PROPERTY_SETTINGS
@given(sequence=st.lists(st.one_of(waiver, refund, adjust, journal_step(False)), min_size=1, max_size=12))
def test_corrections_alone_revert_to_the_exact_start(db, sequence):
	"""Without payments in between, undoing every correction gives back the very same state."""
	reset(db)
	start = snapshot(db)["drivers"]
	books = Books(db)
	for step in sequence:
		books.run(step)
	for kind, name in reversed(books.open):
		books.undo(kind, name)
		db.commit()
	assert snapshot(db)["drivers"] == start
	books.check()
