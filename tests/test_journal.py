"""Manual journals: parse/limits, dry run, atomic posting, idempotency key, revert once,
overdraft rule, failure at each step, and processes posting in opposite driver order."""

from __future__ import annotations

import itertools
import multiprocessing
from datetime import datetime

import pytest

from tests.corrections_helpers import Injected, assert_books_clean, balances, fail_at, snapshot
from tests.factories import make_driver, set_settings
from tuktuk_management.ledger import journal
from tuktuk_management.ledger.postings import CorrectionRefused, NotFound
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import MariaDB

_keys = itertools.count(1)
LATER = datetime(2026, 11, 22, 9, 0, 0)


def new_key() -> str:
	return f"key-{next(_keys)}"


def body(db, lines, key=None, remarks="test") -> journal.JournalBody:
	return journal.parse_journal(key or new_key(), lines, remarks, settings=load_settings(db))


def post(db, parsed, **kwargs) -> journal.JournalResult:
	return journal.post_journal(
		db, parsed, settings=load_settings(db), now=kwargs.pop("now", None) or _now(), **kwargs
	)


def revert(db, name, **kwargs) -> journal.JournalResult:
	return journal.revert_journal(db, name, settings=load_settings(db), now=LATER, **kwargs)


def _now() -> datetime:
	return datetime(2026, 11, 21, 12, 0, 0)


def move(driver_from: str, driver_to: str, amount_kes: int, account: str = "deposit", **flags) -> list[dict]:
	return [
		{"account": account, "driver": driver_from, "debit": amount_kes, **flags},
		{"account": account, "driver": driver_to, "credit": amount_kes},
	]


@pytest.fixture
def fleet(db):
	make_driver(db, "D000001", None, current_deposit_balance=1000, payout_pending=200)
	make_driver(db, "D000002", None, current_deposit_balance=500)
	db.commit()


def test_parse_refuses_bad_bodies_with_reasons(db, fleet):
	set_settings(db, journal_max_lines=4, journal_max_line_amount_kes=5000)
	db.commit()
	cases = {
		"idempotency key is required": ("", move("D000001", "D000002", 10)),
		"at least two lines": (new_key(), move("D000001", "D000002", 10)[:1]),
		"not balanced": (
			new_key(),
			[{"account": "revenue", "debit": 10}, {"account": "paybill", "credit": 9}],
		),
		"at most 4 lines": (new_key(), move("D000001", "D000002", 1) * 3),
		"more than the 5000 KES": (new_key(), move("D000001", "D000002", 5001)),
		"needs a driver": (
			new_key(),
			[{"account": "deposit", "debit": 5}, {"account": "revenue", "credit": 5}],
		),
		"takes no driver": (new_key(), [{"account": "revenue", "driver": "D000001", "debit": 5}] * 2),
		"account must be one of": (
			new_key(),
			[{"account": "opening", "debit": 5}, {"account": "revenue", "credit": 5}],
		),
		"either a debit or a credit": (new_key(), [{"account": "revenue", "debit": 5, "credit": 5}] * 2),
		"whole numbers of shillings": (new_key(), [{"account": "revenue", "debit": "5.5"}] * 2),
		"allow_overdraft must be true or false": (
			new_key(),
			move("D000001", "D000002", 5, allow_overdraft="maybe"),
		),
		"unknown fields": (new_key(), [{"account": "revenue", "debit": 5, "party": "x"}] * 2),
		"JSON list": (new_key(), "{not json"),
	}
	for reason, (key, lines) in cases.items():
		with pytest.raises(journal.InvalidJournal, match=reason):
			journal.parse_journal(key, lines, settings=load_settings(db))


@pytest.mark.parametrize(
	("value", "expected"),
	[(True, True), (False, False), (0, False), (1, True), ("false", False), ("False", False), ("0", False),
	 ("true", True), ("1", True), ("yes", True), (None, False)],
)  # fmt: skip
def test_allow_overdraft_is_parsed_strictly(value, expected):
	assert journal.parse_flag(value, "flag") is expected


def test_post_get_and_revert(db, fleet):
	before = snapshot(db)
	parsed = body(
		db,
		[
			*move("D000001", "D000002", 300),
			{"account": "payable", "driver": "D000001", "debit": 100},
			{"account": "revenue", "credit": 100},
		],
	)
	result = post(db, parsed)
	db.commit()
	assert (result.status, result.total_kes, result.lines, result.replayed) == ("Posted", 400, 4, False)
	assert balances(db, "D000001")["deposit"] == 700 and balances(db, "D000001")["payable"] == 100
	assert balances(db, "D000002")["deposit"] == 800
	fetched = journal.get_journal(db, parsed.idempotency_key)
	assert fetched["journal"] == result.name and fetched["status"] == "Posted"
	assert [line["debit"] for line in fetched["lines"]] == [300, 0, 100, 0]
	assert_books_clean(db)

	reverted = revert(db, result.name)
	db.commit()
	assert reverted.status == "Reverted" and reverted.reverted_at == LATER
	after = snapshot(db)
	assert after["drivers"] == before["drivers"]
	assert after["counts"]["TukTuk Ledger Entry"] == before["counts"]["TukTuk Ledger Entry"] + 8
	assert_books_clean(db)


def test_same_key_same_body_returns_the_first_result(db, fleet):
	parsed = body(db, move("D000001", "D000002", 100))
	first = post(db, parsed)
	db.commit()
	again = post(db, body(db, move("D000001", "D000002", 100), key=parsed.idempotency_key))
	db.commit()
	assert again.replayed and again.name == first.name
	assert balances(db, "D000001")["deposit"] == 900  # posted once
	assert db.sql("select count(*) from `tabTukTuk Journal`")[0][0] == 1


def test_same_key_different_body_is_a_conflict(db, fleet):
	parsed = body(db, move("D000001", "D000002", 100))
	post(db, parsed)
	db.commit()
	before = snapshot(db)
	with pytest.raises(journal.IdempotencyConflict, match="already used for a different journal"):
		post(db, body(db, move("D000001", "D000002", 101), key=parsed.idempotency_key))
	db.rollback()
	assert snapshot(db) == before
	dry = journal.validate_journal(db, body(db, move("D000001", "D000002", 101), key=parsed.idempotency_key))
	assert not dry["valid"] and "already used" in dry["errors"][0]


def test_double_revert_is_refused(db, fleet):
	result = post(db, body(db, move("D000001", "D000002", 100)))
	revert(db, result.name)
	db.commit()
	before = snapshot(db)
	with pytest.raises(journal.AlreadyReverted):
		revert(db, result.name)
	db.rollback()
	assert snapshot(db) == before
	with pytest.raises(NotFound):
		revert(db, "no-such-journal")


def test_balances_never_go_below_zero_without_the_overdraft_flag(db, fleet):
	before = snapshot(db)
	with pytest.raises(CorrectionRefused, match="below zero"):
		post(db, body(db, move("D000002", "D000001", 501)))
	with pytest.raises(CorrectionRefused, match="below zero"):
		post(
			db,
			body(
				db,
				[
					{"account": "payable", "driver": "D000001", "debit": 201},
					{"account": "b2c", "credit": 201},
				],
			),
		)
	db.rollback()
	assert snapshot(db) == before
	dry = journal.validate_journal(db, body(db, move("D000002", "D000001", 501)))
	assert not dry["valid"] and dry["balances_after"]["D000002"]["deposit"] == -1

	allowed = post(db, body(db, move("D000002", "D000001", 501, allow_overdraft="true")))
	db.commit()
	assert balances(db, "D000002")["deposit"] == -1
	assert_books_clean(db)
	# The reversal raises D000002 and lowers D000001 (which has enough): allowed.
	revert(db, allowed.name)
	db.commit()
	assert balances(db, "D000002")["deposit"] == 500


def test_unknown_driver_is_refused_and_dry_run_writes_nothing(db, fleet):
	before = snapshot(db)
	parsed = body(db, move("D000001", "D999999", 10))
	dry = journal.validate_journal(db, parsed)
	assert not dry["valid"] and "D999999 does not exist" in dry["errors"][0]
	with pytest.raises(CorrectionRefused, match="D999999 does not exist"):
		post(db, parsed)
	db.rollback()
	assert snapshot(db) == before
	good = journal.validate_journal(db, body(db, move("D000001", "D000002", 10)))
	assert good["valid"] and good["balances_after"]["D000001"]["deposit"] == 990
	assert snapshot(db) == before


def test_company_only_journal(db, fleet):
	result = post(db, body(db, [{"account": "suspense", "debit": 70}, {"account": "revenue", "credit": 70}]))
	revert(db, result.name)
	db.commit()
	assert_books_clean(db)


POST_STEPS = ["document_inserted", "ledger_lines_inserted", "caches_updated"]
REVERT_STEPS = ["ledger_lines_inserted", "caches_updated", "document_updated"]


@pytest.mark.parametrize("step", POST_STEPS)
def test_failure_at_each_post_step_persists_nothing(db, fleet, step):
	before = snapshot(db)
	parsed = body(db, move("D000001", "D000002", 100))
	reached: list[str] = []
	with pytest.raises(Injected):
		post(db, parsed, on_step=fail_at(step, reached))
	assert reached[-1] == step
	assert snapshot(db) == before
	db.rollback()
	assert snapshot(db) == before
	post(db, parsed)  # the same key posts normally afterwards: nothing of the failed try remains
	db.commit()
	assert_books_clean(db)


@pytest.mark.parametrize("step", REVERT_STEPS)
def test_failure_at_each_revert_step_persists_nothing(db, fleet, step):
	result = post(db, body(db, move("D000001", "D000002", 100)))
	db.commit()
	before = snapshot(db)
	with pytest.raises(Injected):
		revert(db, result.name, on_step=fail_at(step, []))
	db.rollback()
	assert snapshot(db) == before
	revert(db, result.name)
	db.commit()
	assert_books_clean(db)


ROUNDS = 25
WORKERS = 4


def _post_opposite_orders(url, worker: int, results) -> None:
	"""Post ROUNDS journals touching D000001 and D000002, lines in an order that flips each round."""
	db = MariaDB(url)
	settings = load_settings(db)
	posted = 0
	for round_number in range(ROUNDS):
		amount_kes = 1 + (worker + round_number) % 3
		lines = (
			move("D000001", "D000002", amount_kes)
			if (worker + round_number) % 2
			else move("D000002", "D000001", amount_kes)[::-1]
		)
		lines = lines if round_number % 2 else lines[::-1]
		parsed = journal.parse_journal(f"w{worker}-r{round_number}", lines, settings=settings)
		# No retry wrapper: the sorted lock order alone must keep these from deadlocking.
		journal.post_journal(db, parsed, settings=settings, now=_now())
		db.commit()
		posted += 1
	db.close()
	results.put((worker, posted))


def test_processes_posting_in_opposite_order_never_deadlock_and_totals_are_exact(db, db_url, fleet):
	context = multiprocessing.get_context("fork")
	results = context.Queue()
	processes = [
		context.Process(target=_post_opposite_orders, args=(db_url, w, results)) for w in range(WORKERS)
	]
	for process in processes:
		process.start()
	outcomes = dict(results.get(timeout=120) for _ in processes)
	for process in processes:
		process.join(30)
		assert process.exitcode == 0
	assert outcomes == dict.fromkeys(range(WORKERS), ROUNDS)
	expected_kes = {"D000001": 1000, "D000002": 500}
	for worker in range(WORKERS):
		for round_number in range(ROUNDS):
			amount_kes = 1 + (worker + round_number) % 3
			if (worker + round_number) % 2:
				expected_kes["D000001"] -= amount_kes
				expected_kes["D000002"] += amount_kes
			else:
				expected_kes["D000002"] -= amount_kes
				expected_kes["D000001"] += amount_kes
	db.rollback()
	assert {d: balances(db, d)["deposit"] for d in expected_kes} == expected_kes
	assert db.sql("select count(*) from `tabTukTuk Journal`")[0][0] == WORKERS * ROUNDS
	assert_books_clean(db)


def _post_same_key(url, start, results) -> None:
	db = MariaDB(url)
	settings = load_settings(db)
	parsed = journal.parse_journal("same-key", move("D000001", "D000002", 40), settings=settings)
	start.wait(30)
	result = journal.post_journal(db, parsed, settings=settings, now=_now())
	db.commit()
	db.close()
	results.put((result.name, result.replayed))


def test_concurrent_double_submit_posts_once_and_both_get_the_same_journal(db, db_url, fleet):
	context = multiprocessing.get_context("fork")
	results, start = context.Queue(), context.Event()
	processes = [
		context.Process(target=_post_same_key, args=(db_url, start, results)) for _ in range(WORKERS)
	]
	for process in processes:
		process.start()
	start.set()
	outcomes = [results.get(timeout=60) for _ in processes]
	for process in processes:
		process.join(30)
		assert process.exitcode == 0
	assert len({name for name, _ in outcomes}) == 1
	assert sorted(replayed for _, replayed in outcomes) == [False] + [True] * (WORKERS - 1)
	db.rollback()
	assert balances(db, "D000001")["deposit"] == 960 and balances(db, "D000002")["deposit"] == 540
	assert_books_clean(db)
