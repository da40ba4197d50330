"""A deadlock inside ``in_savepoint`` stays a deadlock: MariaDB rolls the whole transaction back
(savepoints included), so the savepoint's rollback must not turn it into "SAVEPOINT does not
exist" (1305), which ``run_with_retry`` would not retry. Found by a termination racing payments
(tests/test_termination.py)."""

from __future__ import annotations

import threading

from tests.factories import make_driver
from tuktuk_management.ledger.database import (
	ER_LOCK_DEADLOCK,
	in_savepoint,
	is_retryable,
	mariadb_errno,
	run_with_retry,
)
from tuktuk_management.standalone.db import MariaDB

LOCK = "select name from `tabTukTuk Driver` where name = %s for update"


def test_a_deadlock_inside_a_savepoint_is_raised_as_a_retryable_deadlock(db, db_url):
	make_driver(db, "D000001")
	make_driver(db, "D000002")
	db.commit()
	barrier = threading.Barrier(2, timeout=30)
	errors: dict[str, BaseException] = {}

	def cross(name: str, first: str, second: str) -> None:
		connection = MariaDB(db_url)
		try:
			with in_savepoint(connection, f"crossing_{name}"):
				connection.sql(LOCK, (first,))
				barrier.wait()
				connection.sql(LOCK, (second,))
			connection.commit()
		except Exception as exc:
			errors[name] = exc
			connection.rollback()
		finally:
			connection.close()

	threads = [
		threading.Thread(target=cross, args=("a", "D000001", "D000002")),
		threading.Thread(target=cross, args=("b", "D000002", "D000001")),
	]
	for thread in threads:
		thread.start()
	for thread in threads:
		thread.join(60)
	assert len(errors) == 1, errors  # one victim; the other transaction went through
	(victim,) = errors.values()
	assert mariadb_errno(victim) == ER_LOCK_DEADLOCK and is_retryable(victim), repr(victim)


def test_run_with_retry_redoes_a_unit_whose_savepoint_was_lost_to_a_deadlock(db, db_url):
	make_driver(db, "D000001")
	make_driver(db, "D000002")
	db.commit()
	barrier = threading.Barrier(2, timeout=30)
	attempts = {"a": 0, "b": 0}
	errors: list[BaseException] = []

	def cross(name: str, first: str, second: str) -> None:
		connection = MariaDB(db_url)

		def unit() -> None:
			attempts[name] += 1
			with in_savepoint(connection, f"crossing_{name}"):
				connection.sql(LOCK, (first,))
				if attempts[name] == 1:
					barrier.wait()
				connection.sql(LOCK, (second,))

		try:
			run_with_retry(unit, rollback=connection.rollback, sleep=lambda _s: None)
			connection.commit()
		except Exception as exc:
			errors.append(exc)
		finally:
			connection.close()

	threads = [
		threading.Thread(target=cross, args=("a", "D000001", "D000002")),
		threading.Thread(target=cross, args=("b", "D000002", "D000001")),
	]
	for thread in threads:
		thread.start()
	for thread in threads:
		thread.join(60)
	assert errors == []
	assert sorted(attempts.values()) == [1, 2]  # the victim was retried once and went through
