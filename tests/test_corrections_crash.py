"""A process that dies in the middle of a correction leaves nothing behind (no commit happened)."""

from __future__ import annotations

import multiprocessing
import os
from datetime import datetime

import pytest

from tests.corrections_helpers import assert_books_clean, snapshot
from tests.factories import c2b_body, make_driver, make_vehicle
from tuktuk_management.ledger import allocation, c2b, corrections, journal
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.standalone.db import MariaDB

NOW = datetime(2026, 11, 21, 12, 0, 0)
CRASH_EXIT = 17


def _die_at(step: str):
	def on_step(name: str) -> None:
		if name == step:
			os._exit(CRASH_EXIT)

	return on_step


def _credit_note(db, step):
	note = corrections.CreditNote("CN-CRASH", corrections.DEPOSIT_REFUND, "D000001", 100)
	corrections.submit_credit_note(db, note, settings=load_settings(db), now=NOW, on_step=_die_at(step))


def _journal(db, step):
	lines = [
		{"account": "deposit", "driver": "D000001", "debit": 100},
		{"account": "deposit", "driver": "D000002", "credit": 100},
	]
	parsed = journal.parse_journal("crash-key", lines, settings=load_settings(db))
	journal.post_journal(db, parsed, settings=load_settings(db), now=NOW, on_step=_die_at(step))


def _allocation(db, step):
	allocation.allocate_payment(
		db, "TSTSTRAY01", driver="D000001", settings=load_settings(db), now=NOW, on_step=_die_at(step)
	)


FLOWS = {"credit_note": _credit_note, "journal": _journal, "allocation": _allocation}
CASES = [
	("credit_note", step)
	for step in ("document_inserted", "ledger_lines_inserted", "caches_updated", "document_updated")
] + [
	("journal", step) for step in ("document_inserted", "ledger_lines_inserted", "caches_updated")
] + [
	("allocation", step) for step in ("ledger_lines_inserted", "caches_updated", "payout_queued", "transaction_updated")
]  # fmt: skip


def _child(url, flow: str, step: str) -> None:
	db = MariaDB(url)
	FLOWS[flow](db, step)
	db.commit()
	os._exit(0)  # the step was never reached: the parent's exit-code check fails


@pytest.mark.parametrize(("flow", "step"), CASES)
def test_process_crash_mid_correction_leaves_nothing(db, db_url, flow, step):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", current_deposit_balance=500)
	make_driver(db, "D000002", None)
	outcome = c2b.process_confirmation(
		db, c2b_body("NOWHERE", 300, "TSTSTRAY01"), settings=load_settings(db), now=NOW
	)
	assert outcome.status == LogStatus.UNALLOCATED
	db.commit()
	before = snapshot(db)
	process = multiprocessing.get_context("fork").Process(target=_child, args=(db_url, flow, step))
	process.start()
	process.join(30)
	assert process.exitcode == CRASH_EXIT
	db.rollback()  # a fresh snapshot
	assert snapshot(db) == before
	assert_books_clean(db)
