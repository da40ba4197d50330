"""The desk's read-only figures and the driver statement on MariaDB: the sample fleet and its day
of callbacks replayed through the webhook's own flow, then every figure checked against the
books (ledger sums, cached balances, raw table totals)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.factories import c2b_body, ledger_sum, make_driver, make_vehicle, next_trans_id, set_settings
from tuktuk_management.cli import handle_confirmation, site_now
from tuktuk_management.ledger import c2b, figures
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.settings import at_miss_limit, load_settings
from tuktuk_management.ledger.statement import (
	StatementTooLong,
	cached_balances_kes,
	driver_statement,
)
from tuktuk_management.standalone.fleet import load_fixtures

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_DAY = date(2026, 11, 21)


@pytest.fixture
def sample_day(db):
	"""The sample fleet loaded and its day of callbacks replayed (redeliveries, conflict, suspense)."""
	documents = json.loads((SAMPLES / "fleet.json").read_text())
	load_fixtures(db, documents, now=site_now(load_settings(db).site_timezone))
	db.commit()
	statuses = [
		handle_confirmation(db, line.strip())
		for line in (SAMPLES / "callbacks.jsonl").read_text().splitlines()
		if line.strip()
	]
	assert statuses.count("Processed") > 100 and "Unallocated" in statuses
	return db


def drivers(db) -> list[str]:
	return [row[0] for row in db.sql("select name from `tabTukTuk Driver` order by name")]


def test_statement_closing_balances_equal_cached_balances_for_every_driver(sample_day):
	db = sample_day
	today = site_now(load_settings(db).site_timezone).date()
	for driver in drivers(db):
		statement = driver_statement(db, driver, today - timedelta(days=30), today)
		assert statement.opening_kes == {"target": 0, "deposit": 0, "payable": 0}
		assert statement.closing_kes == cached_balances_kes(db, driver), driver
		for account in ("target", "deposit", "payable"):
			assert statement.closing_kes[account] == ledger_sum(db, driver, account)


def test_statement_running_balance_moves_by_each_line_and_opening_carries_earlier_lines(db, now):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", current_deposit_balance=500)  # opening voucher, posted earlier
	settings = load_settings(db)
	for day, amount in ((now, 1000), (now + timedelta(days=1), 400)):
		c2b.process_confirmation(db, c2b_body("TT001", amount), settings=settings, now=day)
	db.commit()

	whole = driver_statement(db, "D000001", date(2026, 11, 1), date(2026, 11, 30))
	assert whole.opening_kes == {"target": 0, "deposit": 0, "payable": 0}
	previous = dict(whole.opening_kes)
	for line in whole.lines:
		moved = {account: line.balances_kes_after[account] - previous[account] for account in previous}
		assert moved == {
			account: (line.credit_kes - line.debit_kes if account == line.account else 0)
			for account in previous
		}
		previous = line.balances_kes_after
	assert (
		whole.closing_kes
		== cached_balances_kes(db, "D000001")
		== {
			"target": 700,
			"deposit": 500,
			"payable": 700,
		}
	)

	second_day = driver_statement(db, "D000001", date(2026, 11, 22), date(2026, 11, 22))
	assert second_day.opening_kes == {"target": 500, "deposit": 500, "payable": 500}
	assert sorted(line.account for line in second_day.lines) == ["payable", "target"]
	assert second_day.closing_kes == whole.closing_kes
	empty = driver_statement(db, "D000001", date(2026, 12, 1), date(2026, 12, 31))
	assert empty.lines == [] and empty.closing_kes == whole.closing_kes


def test_statement_refuses_reversed_and_too_long_ranges(db, now):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001")
	for _ in range(3):
		c2b.process_confirmation(db, c2b_body("TT001", 100), settings=load_settings(db), now=now)
	with pytest.raises(ValueError, match="before its start"):
		driver_statement(db, "D000001", date(2026, 11, 2), date(2026, 11, 1))
	with pytest.raises(StatementTooLong, match="shorter range"):
		driver_statement(db, "D000001", date(2026, 11, 1), date(2026, 11, 30), lines_max=5)
	assert len(driver_statement(db, "D000001", date(2026, 11, 1), date(2026, 11, 30), lines_max=6).lines) == 6


def test_fleet_today_matches_the_raw_tables(sample_day):
	db = sample_day
	settings = load_settings(db)
	today = figures.fleet_today(db, settings, SAMPLE_DAY)
	amount, count = db.sql(
		"select sum(amount), count(*) from `tabTukTuk Transaction` where date(timestamp) = %s", (SAMPLE_DAY,)
	)[0]
	assert (today.collections_kes, today.payments_count) == (to_kes(amount), count) and count > 100
	active = db.sql(
		"select name, daily_target, current_balance, consecutive_misses from `tabTukTuk Driver` where status = 'Active'"
	)
	targets = {name: to_kes(target) or settings.global_daily_target_kes for name, target, _, _ in active}
	balances = {name: to_kes(balance) for name, _, balance, _ in active}
	assert today.drivers_active == len(active)
	assert today.drivers_on_target == sum(balances[n] >= targets[n] for n in targets) > 0
	assert today.drivers_behind == today.drivers_active - today.drivers_on_target > 0
	assert today.target_due_kes == sum(targets.values())
	assert today.target_collected_kes == sum(min(balances[n], targets[n]) for n in targets)
	assert today.drivers_at_miss_limit == 0
	suspense = db.sql(
		"select count(*), sum(amount) from `tabTukTuk Transaction` where payment_status = 'Unallocated'"
	)[0]
	assert (today.unallocated_count, today.unallocated_kes) == (suspense[0], to_kes(suspense[1]))
	suspense_ledger = db.sql(
		"select sum(credit - debit) from `tabTukTuk Ledger Entry` where account = 'suspense'"
	)
	assert today.unallocated_kes == to_kes(suspense_ledger[0][0]) > 0
	nothing = figures.fleet_today(db, settings, SAMPLE_DAY + timedelta(days=1))
	assert (nothing.collections_kes, nothing.payments_count) == (0, 0)


def test_miss_limit_counts_consecutive_misses(db, now):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001")
	make_driver(db, "D000002", None)
	db.sql("update `tabTukTuk Driver` set consecutive_misses = 3 where name = 'D000001'")
	today = figures.fleet_today(db, load_settings(db), now.date(), miss_limit=3)
	assert today.drivers_at_miss_limit == 1
	assert figures.fleet_today(db, load_settings(db), now.date(), miss_limit=4).drivers_at_miss_limit == 0


def test_a_miss_limit_of_0_means_no_alert_on_the_desk_as_in_the_close(db, now):
	"""One rule (settings.at_miss_limit): 0 turns the alert off, for the desk figures too (they
	once counted every Active driver as at the limit, and the desk read 0 as 3)."""
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001")
	make_driver(db, "D000002", None)
	db.sql("update `tabTukTuk Driver` set consecutive_misses = 5 where name = 'D000001'")
	assert figures.fleet_today(db, load_settings(db), now.date(), miss_limit=0).drivers_at_miss_limit == 0
	assert not at_miss_limit(5, 0) and at_miss_limit(3, 3) and not at_miss_limit(2, 3)
	set_settings(db, miss_limit=0)
	assert load_settings(db).miss_limit == 0


def test_collections_by_day_and_by_driver_add_up(sample_day):
	db = sample_day
	days = figures.collections_by_day(db, SAMPLE_DAY - timedelta(days=29), SAMPLE_DAY)
	assert len(days) == 30 and [d.business_date for d in days][-1] == SAMPLE_DAY
	assert all(d.amount_kes == 0 for d in days[:-1])
	day = days[-1]
	assert day.amount_kes == (
		day.target_contribution_kes
		+ day.driver_share_kes
		+ day.deposit_contribution_kes
		+ day.unallocated_kes
	)
	assert day.amount_kes == figures.fleet_today(db, load_settings(db), SAMPLE_DAY).collections_kes
	rows = figures.collections_by_day_and_driver(db, SAMPLE_DAY, SAMPLE_DAY)
	assert sum(r["amount_kes"] for r in rows) == day.amount_kes
	assert sum(r["payments_count"] for r in rows) == day.payments_count
	for row in rows:
		if row["driver"]:
			paid = db.sql(
				"""select sum(amount) from `tabTukTuk Transaction` where driver = %s
				and date(timestamp) = %s and coalesce(tuktuk, '') = coalesce(%s, '')""",
				(row["driver"], SAMPLE_DAY, row["tuktuk"]),
			)[0][0]
			assert row["amount_kes"] == to_kes(paid)
	with pytest.raises(ValueError, match="at most"):
		figures.collections_by_day(db, date(2025, 1, 1), date(2026, 12, 31))


def test_target_attainment_derives_past_days_and_reads_today_live(db, now):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", daily_target=100)
	make_vehicle(db, "TT002")
	make_driver(db, "D000002", "TT002", daily_target=1000)
	settings = load_settings(db)
	c2b.process_confirmation(db, c2b_body("TT001", 400), settings=settings, now=now)
	c2b.process_confirmation(db, c2b_body("TT002", 400), settings=settings, now=now)
	day = now.date()
	past = figures.target_attainment(db, settings, day, day, today=day + timedelta(days=1))
	assert [(d.drivers_met, d.drivers_counted, d.rate_percent) for d in past] == [(1, 2, 50)]
	live = figures.target_attainment(db, settings, day - timedelta(days=1), day, today=day)
	assert [(d.drivers_met, d.drivers_counted) for d in live] == [(0, 0), (1, 2)]
	assert live[0].rate_percent == 0


def test_target_attainment_reads_daily_close_rows_when_that_doctype_exists(db, now):
	"""Closed days come from ``TukTuk Daily Close`` (contract columns business_date, target_met);
	the table is made here only if the daily-close DocType is not installed."""
	created = not figures.table_columns(db, "TukTuk Daily Close")
	if created:
		db.sql("create table `tabTukTuk Daily Close` (name varchar(140), business_date date, target_met int)")
	try:
		db.sql(
			"insert into `tabTukTuk Daily Close` (name, business_date, target_met) values ('a', '2026-11-20', 1), "
			"('b', '2026-11-20', 0), ('c', '2026-11-20', 1), ('d', '2026-11-19', 0)"
		)
		make_vehicle(db, "TT001")
		make_driver(db, "D000001", "TT001", daily_target=100)
		c2b.process_confirmation(db, c2b_body("TT001", 400), settings=load_settings(db), now=now)
		days = figures.target_attainment(
			db, load_settings(db), date(2026, 11, 19), date(2026, 11, 21), today=date(2026, 11, 22)
		)
		assert [(d.drivers_met, d.drivers_counted, str(d.rate_percent)) for d in days] == [
			(0, 1, "0.0"),
			(2, 3, "66.7"),
			(1, 1, "100.0"),  # no close rows that day: derived from the payments
		]
	finally:
		if created:
			db.sql("drop table `tabTukTuk Daily Close`")
		else:
			db.sql("delete from `tabTukTuk Daily Close` where name in ('a', 'b', 'c', 'd')")


def test_effective_target_includes_rollover_once_the_column_exists(db, now):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", daily_target=1000)
	settings = load_settings(db)
	assert figures.fleet_today(db, settings, now.date()).target_due_kes == 1000
	created = "target_rollover" not in figures.table_columns(db, "TukTuk Driver")
	if created:
		db.sql("alter table `tabTukTuk Driver` add column target_rollover decimal(21,9) not null default 0")
	try:
		db.sql("update `tabTukTuk Driver` set target_rollover = 250")
		assert figures.fleet_today(db, settings, now.date()).target_due_kes == 1250
	finally:
		if created:
			db.sql("alter table `tabTukTuk Driver` drop column target_rollover")


def insert_payout(db, name, status, queued_at, amount=100):
	db.sql(
		"""insert into `tabTukTuk Payout` (name, creation, modified, owner, modified_by, driver, amount,
		status, originator_conversation_id, queued_at, attempts)
		values (%s, %s, %s, 'Administrator', 'Administrator', 'D000001', %s, %s, %s, %s, 1)""",
		(name, queued_at, queued_at, amount, status, f"oc-{name}", queued_at),
	)


def test_payouts_needing_attention_and_the_monitor(db, now):
	insert_payout(db, "p-paid", "Paid", now - timedelta(hours=2))
	insert_payout(db, "p-failed", "Failed", now - timedelta(minutes=5), 200)
	insert_payout(db, "p-unknown", "Unknown", now - timedelta(minutes=5), 300)
	insert_payout(db, "p-fresh", "Queued", now - timedelta(minutes=5))
	insert_payout(db, "p-stuck", "Sent", now - timedelta(minutes=31), 400)
	attention = figures.payouts_needing_attention(db, now=now)
	assert (attention.failed, attention.unknown, attention.stuck, attention.total) == (1, 1, 1, 3)
	assert attention.amount_kes == 900
	rows = figures.payout_monitor(db, now=now)
	assert {r["payout"] for r in rows} == {"p-failed", "p-unknown", "p-stuck"}
	stuck = next(r for r in rows if r["payout"] == "p-stuck")
	assert stuck["stuck"] and stuck["age_minutes"] == 31
	queued = figures.payout_monitor(db, now=now, statuses=("Queued", "Paid"))
	assert {r["payout"]: r["stuck"] for r in queued} == {"p-fresh": False, "p-paid": False}
	with pytest.raises(ValueError, match="unknown payout status"):
		figures.payout_monitor(db, now=now, statuses=("Lost",))


def test_unallocated_payments_and_latest_payments(sample_day):
	db = sample_day
	rows = figures.unallocated_payments(db)
	assert rows and all(r["reason"] for r in rows)
	assert (
		len(rows)
		== db.sql("select count(*) from `tabTukTuk Transaction` where payment_status = 'Unallocated'")[0][0]
	)
	assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
	assert len(figures.unallocated_payments(db, limit=1)) == 1
	driver = db.sql("select driver from `tabTukTuk Transaction` where driver is not null limit 1")[0][0]
	latest = figures.latest_payments(db, driver, limit=3)
	assert 1 <= len(latest) <= 3
	assert [r["timestamp"] for r in latest] == sorted((r["timestamp"] for r in latest), reverse=True)
	for row in latest:
		assert row["amount_kes"] == (
			row["target_contribution_kes"] + row["driver_share_kes"] + row["deposit_contribution_kes"]
		)


def test_figures_queries_can_use_their_indexes(sample_day):
	"""The range queries have the composite indexes of ledger/schema.py to use."""
	db = sample_day
	plan = db.sql(
		"""explain select count(*), sum(amount) from `tabTukTuk Transaction`
		where timestamp >= %s and timestamp < %s""",
		(datetime(2026, 11, 21), datetime(2026, 11, 22)),
		as_dict=True,
	)[0]
	assert "timestamp_index" in (plan["possible_keys"] or ""), plan
	plan = db.sql(
		"""explain select account, sum(credit) - sum(debit) from `tabTukTuk Ledger Entry`
		where party = 'D000001' and party_type = 'TukTuk Driver' and posting_datetime < %s group by account""",
		(datetime(2026, 11, 21),),
		as_dict=True,
	)[0]
	assert "party_posting_datetime_index" in (plan["possible_keys"] or ""), plan
