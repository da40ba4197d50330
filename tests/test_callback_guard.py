"""The callback guard: the caller's address from the trusted end of the proxy chain, the caller
check, and refused calls kept in bounded storage while genuine callbacks all apply."""

from __future__ import annotations

import ipaddress
import multiprocessing
import time
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.factories import c2b_body, driver_state, make_driver, make_vehicle, raw, set_settings
from tuktuk_management.cli import handle_confirmation
from tuktuk_management.ledger.callback_guard import (
	ALERT_WINDOW_MINUTES,
	REFUSED_ADDRESS,
	REFUSED_NO_TOKEN_SET,
	REFUSED_TOKEN,
	check_caller,
	client_address,
	rate_key,
	record_refusal,
)
from tuktuk_management.ledger.callback_log import C2B_CONFIRMATION
from tuktuk_management.ledger.status import LogStatus

REJECTED = LogStatus.REJECTED
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import MariaDB

TOKEN = "s3cret-token"
SAFARICOM = "196.201.214.200"
ALLOWLIST = "196.201.214.0/24"
ATTACKER = "203.0.113.7"
NGINX = "127.0.0.1"

ipv4 = st.builds(lambda n: str(ipaddress.IPv4Address(n)), st.integers(0, 2**32 - 1))
ipv6 = st.builds(lambda n: str(ipaddress.IPv6Address(n)), st.integers(0, 2**128 - 1))
addresses = st.one_of(ipv4, ipv6)
# Whatever a client may put in the header it sends: any printable text, commas included.
client_header = st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80))


def _append(header: str | None, address: str) -> str:
	"""What nginx's ``$proxy_add_x_forwarded_for`` (and most load balancers) send on."""
	return f"{header}, {address}" if header else address


@given(client_header, addresses, st.lists(addresses, max_size=5))
def test_the_nth_entry_from_the_end_is_the_address_the_first_trusted_proxy_saw(header, client, hops):
	# The client (at ``client``) sends ``header``; the first trusted proxy appends ``client``; each
	# further proxy appends the address of the proxy before it. N trusted proxies = 1 + len(hops).
	forwarded = _append(header, client)
	for hop in hops[:-1]:
		forwarded = _append(forwarded, hop)
	remote = hops[-1] if hops else "10.0.0.1"
	assert client_address(remote, forwarded, 1 + len(hops[:-1])) == client


@given(client_header, addresses, addresses)
def test_bench_nginx_overwrites_the_header_and_one_trusted_proxy_gives_the_client(header, client, nginx):
	# bench setup production: `proxy_set_header X-Forwarded-For $remote_addr` drops what the
	# client sent; the header is the client's address alone.
	assert client_address(nginx, client, 1) == client
	# The same request reaching the app with the client's own header kept in front.
	assert client_address(nginx, _append(header, client), 1) == client


@given(client_header, addresses)
def test_no_trusted_proxy_uses_the_connection_address_whatever_the_header(header, remote):
	assert client_address(remote, header, 0) == remote


@given(st.lists(addresses, max_size=4), st.integers(1, 6))
def test_a_chain_shorter_than_the_trusted_proxies_gives_no_address(entries, count):
	forwarded = ", ".join(entries)
	result = client_address("10.0.0.1", forwarded, count)
	if len(entries) < count:
		assert result == ""
	else:
		assert result == entries[-count]


def test_forged_first_entry_no_longer_passes_the_allowlist():
	# The probe's request: the client puts an allowed address first; nginx appends the real one.
	forwarded = _append(SAFARICOM, ATTACKER)
	address = client_address(NGINX, forwarded, 1)
	assert address == ATTACKER
	assert check_caller(TOKEN, TOKEN, address, ALLOWLIST) == REFUSED_ADDRESS
	# A genuine call through the same nginx still passes.
	assert check_caller(TOKEN, TOKEN, client_address(NGINX, SAFARICOM, 1), ALLOWLIST) == ""


def test_ports_and_brackets_are_stripped_and_junk_is_refused():
	assert client_address(NGINX, "1.2.3.4:5555", 1) == "1.2.3.4"
	assert client_address(NGINX, "[2001:db8::1]:443", 1) == "2001:db8::1"
	assert client_address(NGINX, "unknown", 1) == "unknown"
	assert check_caller(TOKEN, TOKEN, "unknown", ALLOWLIST) == REFUSED_ADDRESS
	assert check_caller(TOKEN, TOKEN, "", ALLOWLIST) == REFUSED_ADDRESS
	assert check_caller(TOKEN, TOKEN, "", "") == ""  # no allowlist: the token alone


def test_token_is_checked_first():
	assert check_caller("", TOKEN, SAFARICOM, ALLOWLIST) == REFUSED_TOKEN
	assert check_caller("wrong", TOKEN, SAFARICOM, ALLOWLIST) == REFUSED_TOKEN
	assert check_caller(TOKEN, "", SAFARICOM, ALLOWLIST) == REFUSED_NO_TOKEN_SET
	assert check_caller(TOKEN, None, SAFARICOM, "") == REFUSED_NO_TOKEN_SET


def test_rate_key_groups_ipv6_by_64():
	assert rate_key("2001:db8:1:2:aaaa::1") == rate_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
	assert rate_key("203.0.113.7") == "203.0.113.7"
	assert rate_key("") == "unknown"


def _refuse(db, now, address=ATTACKER, bound=3, forwarded=None):
	return record_refusal(
		db,
		endpoint=C2B_CONFIRMATION,
		address=address,
		remote_addr=NGINX,
		forwarded_for=forwarded if forwarded is not None else _append(SAFARICOM, address),
		raw_body='{"TransID": "FORGED"}',
		error=REFUSED_ADDRESS,
		now=now,
		stored_per_minute_max=bound,
	)


def test_refused_calls_beyond_the_bound_are_only_counted_and_alert_once(db, now):
	records = [_refuse(db, now + timedelta(seconds=i % 50)) for i in range(10)]
	db.commit()
	assert [r.refused_in_minute for r in records] == list(range(1, 11))
	assert [r.callback_log is not None for r in records] == [True] * 3 + [False] * 7
	assert [r.alert for r in records] == [False] * 3 + [True] + [False] * 6
	logs = db.sql(
		"select status, source_ip, remote_addr, forwarded_for from `tabTukTuk Callback Log`", as_dict=True
	)
	assert len(logs) == 3
	assert {(r["status"], r["source_ip"], r["remote_addr"], r["forwarded_for"]) for r in logs} == {
		(REJECTED, ATTACKER, NGINX, f"{SAFARICOM}, {ATTACKER}")
	}
	summary = db.sql(
		"select source_address, minute_start, refused_count, alerted from `tabTukTuk Refused Call Summary`"
	)
	assert summary == ((ATTACKER, now.replace(second=0), 10, 1),)

	# The next minute: stored again up to the bound, but no second alert within the window.
	later = [_refuse(db, now + timedelta(minutes=1)) for _ in range(5)]
	assert [r.callback_log is not None for r in later] == [True] * 3 + [False] * 2
	assert not any(r.alert for r in later)
	# Another source has its own bound and its own alert.
	other = [_refuse(db, now, address="198.51.100.9") for _ in range(4)]
	assert [r.alert for r in other] == [False] * 3 + [True]
	# After the window the same source alerts again.
	after = [_refuse(db, now + timedelta(minutes=ALERT_WINDOW_MINUTES + 1)) for _ in range(4)]
	assert after[-1].alert


def test_a_bound_of_zero_stores_nothing_and_alerts_on_the_first_call(db, now):
	records = [_refuse(db, now, bound=0) for _ in range(3)]
	assert [r.callback_log for r in records] == [None] * 3
	assert [r.alert for r in records] == [True, False, False]
	assert db.sql("select count(*) from `tabTukTuk Callback Log`")[0][0] == 0


def test_settings_default_to_bench_production_and_clamp(db):
	settings = load_settings(db)
	assert settings.trusted_proxy_count == 1
	assert settings.refused_calls_stored_per_minute == 20
	set_settings(db, trusted_proxy_count=0, refused_calls_stored_per_minute=0)
	assert (load_settings(db).trusted_proxy_count, load_settings(db).refused_calls_stored_per_minute) == (
		0,
		0,
	)
	set_settings(db, trusted_proxy_count=99, refused_calls_stored_per_minute=-5)
	assert (load_settings(db).trusted_proxy_count, load_settings(db).refused_calls_stored_per_minute) == (
		10,
		0,
	)


# --- A flood of forged calls while genuine callbacks arrive, several processes ----------------

FLOOD_CALLS = 10_000
FLOOD_WORKERS = 3
GENUINE_WORKERS = 2
BOUND = 20


def _caller_decision(supplied_token, remote_addr, forwarded_for, settings):
	"""What the endpoint does before anything else: the address from the trusted end, the check."""
	address = client_address(remote_addr, forwarded_for, settings.trusted_proxy_count)
	return address, check_caller(supplied_token, TOKEN, address, settings.allowed_callback_ips)


def _flood(url, calls, results):
	db = MariaDB(url)
	settings = load_settings(db)
	alerts = stored = 0
	for i in range(calls):
		# The right token and an allowed address forged in front; nginx appends the real one.
		forwarded = _append(SAFARICOM, ATTACKER)
		address, refusal = _caller_decision(TOKEN, NGINX, forwarded, settings)
		assert refusal == REFUSED_ADDRESS
		record = record_refusal(
			db,
			endpoint=C2B_CONFIRMATION,
			address=address,
			remote_addr=NGINX,
			forwarded_for=forwarded,
			raw_body=raw(c2b_body("TT001", 100, trans_id=f"FORGED{i}")),
			error=refusal,
			now=datetime.now().replace(microsecond=0),
			stored_per_minute_max=settings.refused_calls_stored_per_minute,
		)
		db.commit()
		alerts += record.alert
		stored += record.callback_log is not None
	db.close()
	results.put(("flood", alerts, stored))


def _genuine(url, bodies, results):
	db = MariaDB(url)
	settings = load_settings(db)
	statuses = []
	for body in bodies:
		# Daraja through bench's nginx: the header is Safaricom's address alone.
		address, refusal = _caller_decision(TOKEN, NGINX, SAFARICOM, settings)
		assert refusal == ""
		statuses.append(handle_confirmation(db, body, source_ip=address))
	db.close()
	results.put(("genuine", statuses))


def test_flood_of_forged_calls_is_bounded_and_genuine_callbacks_all_apply(db, db_url):
	set_settings(db, allowed_callback_ips=ALLOWLIST, refused_calls_stored_per_minute=BOUND)
	for number in (1, 2):
		make_vehicle(db, f"TT00{number}")
		make_driver(db, f"D00000{number}", f"TT00{number}")
	db.commit()
	bodies = [raw(c2b_body(f"TT00{1 + i % 2}", 50 + i % 7 * 10)) for i in range(300)]
	amounts = sum(50 + i % 7 * 10 for i in range(300))

	context = multiprocessing.get_context("fork")
	results = context.Queue()
	processes = [
		context.Process(
			target=_flood,
			args=(db_url, FLOOD_CALLS // FLOOD_WORKERS + (w == 0) * (FLOOD_CALLS % FLOOD_WORKERS), results),
		)
		for w in range(FLOOD_WORKERS)
	]
	processes += [
		context.Process(target=_genuine, args=(db_url, bodies[w::GENUINE_WORKERS], results))
		for w in range(GENUINE_WORKERS)
	]
	started = datetime.now()
	clock = time.monotonic()
	for process in processes:
		process.start()
	outcomes = [results.get(timeout=900) for _ in processes]
	for process in processes:
		process.join(60)
		assert process.exitcode == 0
	finished = datetime.now()
	print(f"\n{FLOOD_CALLS} forged + {len(bodies)} genuine calls in {time.monotonic() - clock:.1f} s")

	db.rollback()
	minutes = (
		int(
			(
				finished.replace(second=0, microsecond=0) - started.replace(second=0, microsecond=0)
			).total_seconds()
			// 60
		)
		+ 1
	)
	floods = [o for o in outcomes if o[0] == "flood"]
	genuine = [status for o in outcomes if o[0] == "genuine" for status in o[1]]
	# Every genuine callback applied, the books balance.
	assert genuine == ["Processed"] * len(bodies)
	assert db.sql("select count(*) from `tabTukTuk Transaction`")[0][0] == len(bodies)
	held = [driver_state(db, driver) for driver in ("D000001", "D000002")]
	assert (
		sum(s["current_balance"] + s["current_deposit_balance"] + s["payout_pending"] for s in held)
		== amounts
	)
	assert check_books(db).clean
	# The flood: every call counted, at most BOUND stored per minute it lasted, one alert.
	assert db.sql("select sum(refused_count) from `tabTukTuk Refused Call Summary`")[0][0] == FLOOD_CALLS
	summary_rows = db.sql("select count(*) from `tabTukTuk Refused Call Summary`")[0][0]
	rejected_rows = db.sql("select count(*) from `tabTukTuk Callback Log` where status = %s", (REJECTED,))[0][
		0
	]
	print(f"minutes spanned {minutes}: {summary_rows} summary rows, {rejected_rows} rejected logs")
	assert summary_rows <= minutes
	assert rejected_rows == sum(o[2] for o in floods) <= BOUND * minutes
	assert sum(o[1] for o in floods) == 1
	assert db.sql("select count(*) from `tabTukTuk Refused Call Summary` where alerted = 1")[0][0] == 1
