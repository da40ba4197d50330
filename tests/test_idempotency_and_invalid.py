"""Redelivery, conflicts and malformed bodies: nothing double-counted, nothing crashes (DESIGN §3)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import c2b_body, counts, driver_state, make_driver, make_vehicle, raw, set_settings
from tuktuk_management.cli import handle_confirmation
from tuktuk_management.ledger import c2b
from tuktuk_management.ledger.callback_log import pending_confirmations, process_logged_confirmation
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.status import LogStatus


@pytest.fixture
def fleet(db):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001")
	make_vehicle(db, "TT002")
	make_driver(db, "D000002", "TT002")
	db.commit()


def log_rows(db):
	return db.sql(
		"select status, trans_id, error from `tabTukTuk Callback Log` order by received_at, name",
		as_dict=True,
	)


def test_redelivery_changes_nothing_and_is_acknowledged(db, fleet):
	body = raw(c2b_body("TT001", 300, "RKL51ZDR4F"))
	assert handle_confirmation(db, body) == LogStatus.PROCESSED
	state, before = driver_state(db, "D000001"), counts(db)
	for _ in range(3):
		assert handle_confirmation(db, body) == LogStatus.DUPLICATE
	assert driver_state(db, "D000001") == state
	assert counts(db) == before
	assert [row["status"] for row in log_rows(db)] == ["Processed"] + ["Duplicate"] * 3
	assert check_books(db).clean


def test_redelivery_with_other_whitespace_or_case_is_still_a_duplicate(db, fleet):
	assert handle_confirmation(db, raw(c2b_body("TT001", 300, "ABC1234567"))) == LogStatus.PROCESSED
	assert handle_confirmation(db, raw(c2b_body(" tt001 ", "300", "abc1234567"))) == LogStatus.DUPLICATE


@pytest.mark.parametrize(
	("changes", "what"),
	[({"TransAmount": "301.00"}, "amount"), ({"BillRefNumber": "TT002"}, "account number")],
)
def test_same_trans_id_with_different_body_is_a_conflict_not_applied(db, fleet, changes, what):
	first = c2b_body("TT001", 300, "QWE1234567")
	assert handle_confirmation(db, raw(first)) == LogStatus.PROCESSED
	states, before = {d: driver_state(db, d) for d in ("D000001", "D000002")}, counts(db)
	assert handle_confirmation(db, raw({**first, **changes})) == LogStatus.CONFLICT
	assert {d: driver_state(db, d) for d in states} == states
	assert counts(db) == before
	last = log_rows(db)[-1]
	assert last["status"] == "Conflict" and what in last["error"] and last["trans_id"] == "QWE1234567"


@pytest.mark.parametrize(
	"body",
	[
		"",
		"not json",
		"[]",
		'"a string"',
		"{}",
		'{"TransID": null}',
		raw(c2b_body("TT001", "99.50")),
		raw(c2b_body("TT001", "0")),
		raw(c2b_body("TT001", "-100")),
		raw(c2b_body("TT001", "1e3")),
		raw(c2b_body("TT001", "NaN")),
		raw(c2b_body("TT001", "Infinity")),
		raw(c2b_body("TT001", 100, TransID="")),
		raw(c2b_body("TT001", 100, TransID="ab;drop")),
		raw(c2b_body("TT001", 100, TransTime="2026-11-21")),
		raw(c2b_body("TT001", 100, BusinessShortCode="174379")),
		raw({k: v for k, v in c2b_body("TT001", 100).items() if k != "TransAmount"}),
		"{" * 50_000,
	],
)
def test_malformed_bodies_are_stored_flagged_and_touch_no_balance(db, fleet, body):
	before, state = counts(db), driver_state(db, "D000001")
	assert handle_confirmation(db, body) == LogStatus.INVALID
	assert counts(db) == before and driver_state(db, "D000001") == state
	rows = log_rows(db)
	assert len(rows) == 1 and rows[0]["status"] == "Invalid" and rows[0]["error"]
	stored = db.sql("select raw_body from `tabTukTuk Callback Log`")[0][0]
	assert stored == body[: len(stored)]


json_values = st.recursive(
	st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
	lambda children: (
		st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
	),
	max_leaves=20,
)
field_values = st.none() | st.integers(-(10**6), 10**6) | st.text(max_size=25) | st.floats() | st.booleans()


@st.composite
def mutated_bodies(draw):
	"""A valid body with some fields removed or replaced by junk, or arbitrary JSON."""
	if draw(st.booleans()):
		return json.dumps(draw(json_values))
	body = c2b_body("TT001", 100)
	for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=4, unique=True)):
		if draw(st.booleans()):
			del body[key]
		else:
			body[key] = draw(field_values)
	return json.dumps(body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(mutated_bodies(), min_size=1, max_size=5))
def test_fuzzed_bodies_never_raise_and_never_break_the_books(db, fleet, bodies):
	for body in bodies:
		status = handle_confirmation(db, body)
		assert status in {
			LogStatus.PROCESSED,
			LogStatus.DUPLICATE,
			LogStatus.CONFLICT,
			LogStatus.UNALLOCATED,
			LogStatus.INVALID,
		}
	assert check_books(db).clean
	# whatever was applied was a well-formed payment: every transaction amount is a positive integer
	amounts = [int(a) for (a,) in db.sql("select amount from `tabTukTuk Transaction`")]
	assert all(0 < amount <= 250_000 for amount in amounts)


def test_processing_paused_stores_and_waits(db, fleet):
	set_settings(db, processing_paused=1)
	db.commit()
	body = raw(c2b_body("TT001", 100))
	assert handle_confirmation(db, body) == "Received"
	assert counts(db)["TukTuk Transaction"] == 0
	set_settings(db, processing_paused=0)
	db.commit()
	pending = pending_confirmations(db, limit=10)
	assert len(pending) == 1
	name, raw_body = pending[0]
	outcome = process_logged_confirmation(
		db, name, raw_body, settings=load_settings(db), now=datetime(2026, 11, 21, 13)
	)
	db.commit()
	assert outcome.status == LogStatus.PROCESSED
	assert pending_confirmations(db, limit=10) == []
	assert driver_state(db, "D000001")["current_balance"] == 50


REQUIRED = ["TransID", "TransTime", "TransAmount", "BusinessShortCode"]
non_scalars = (
	st.none()
	| st.lists(st.integers(), max_size=2)
	| st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@st.composite
def malformed_bodies(draw):
	"""Bodies that are certainly malformed: not an object, or a required field missing or not a scalar."""
	kind = draw(st.sampled_from(["not_object", "missing", "non_scalar"]))
	if kind == "not_object":
		value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
		return json.dumps(value)
	body = c2b_body(draw(st.sampled_from(["TT001", "TT002", "D000001", "ZZZ"])), draw(st.integers(1, 5000)))
	for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=3, unique=True)):
		body[key] = draw(field_values)  # more junk anywhere
	broken = draw(st.sampled_from(REQUIRED))
	if kind == "missing":
		body.pop(broken, None)
	else:
		body[broken] = draw(non_scalars)
	return json.dumps(body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(malformed_bodies(), min_size=1, max_size=6))
def test_fuzzed_malformed_batch_changes_no_balance(db, fleet, bodies):
	before = counts(db), driver_state(db, "D000001"), driver_state(db, "D000002")
	for body in bodies:
		assert handle_confirmation(db, body) == LogStatus.INVALID
	assert (counts(db), driver_state(db, "D000001"), driver_state(db, "D000002")) == before


def test_a_log_already_applied_is_never_applied_or_re_marked_again(db, fleet):
	body = raw(c2b_body("TT001", 100))
	assert handle_confirmation(db, body) == LogStatus.PROCESSED
	(name,) = db.sql("select name from `tabTukTuk Callback Log`")[0]
	before, state = counts(db), driver_state(db, "D000001")
	outcome = process_logged_confirmation(
		db, name, body, settings=load_settings(db), now=datetime(2026, 11, 21)
	)
	db.commit()
	assert outcome.already_handled and outcome.status == LogStatus.PROCESSED and outcome.transaction
	assert counts(db) == before and driver_state(db, "D000001") == state
	assert db.sql("select status, attempts from `tabTukTuk Callback Log`") == (("Processed", 1),)


@pytest.mark.parametrize("account", ["D123456", " d000001 "])
def test_vehicle_accounts_shaped_like_sunny_ids_are_refused(account):
	from tuktuk_management.ledger.drivers import normalize_account

	with pytest.raises(ValueError, match="Sunny ID"):
		normalize_account(account)


def _claim_child(url, name, body, results):
	from tuktuk_management.standalone.db import MariaDB

	with MariaDB(url) as other:
		outcome = process_logged_confirmation(
			other, name, body, settings=load_settings(other), now=datetime(2026, 11, 21)
		)
		other.commit()
		results.put((outcome.status, outcome.already_handled, outcome.transaction))


def test_a_log_claimed_by_another_process_is_left_to_it(db, db_url, fleet):
	"""The scheduled job and the webhook on one log at once: the second waits on the first's claim
	(the log's conditional UPDATE), then finds it handled and writes nothing."""
	import multiprocessing
	import time

	from tuktuk_management.ledger.callback_log import C2B_CONFIRMATION, store_callback

	body = raw(c2b_body("TT001", 100))
	name = store_callback(db, endpoint=C2B_CONFIRMATION, raw_body=body, received_at=datetime(2026, 11, 21))
	db.commit()
	first = process_logged_confirmation(
		db, name, body, settings=load_settings(db), now=datetime(2026, 11, 21)
	)
	assert first.status == LogStatus.PROCESSED and not first.already_handled  # claimed, not committed yet
	context = multiprocessing.get_context("fork")
	results = context.Queue()
	child = context.Process(target=_claim_child, args=(db_url, name, body, results))
	child.start()
	time.sleep(0.5)  # the child now waits on the log row
	assert child.is_alive()
	db.commit()
	child.join(30)
	assert child.exitcode == 0
	assert results.get(timeout=5) == (LogStatus.PROCESSED, True, first.transaction)
	assert counts(db)["TukTuk Transaction"] == 1
	assert db.sql("select status, attempts from `tabTukTuk Callback Log`") == (("Processed", 1),)
	assert driver_state(db, "D000001")["current_balance"] == first.split.target_contribution_kes
	assert check_books(db).clean
