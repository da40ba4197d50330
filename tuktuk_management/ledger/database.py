"""The database protocol the ledger core talks through, and bounded deadlock retry.

The standalone runner and the pytest suite use :class:`tuktuk_management.standalone.db.MariaDB`,
a thin mysqlclient connection that implements :class:`Database` fully. ``frappe.db`` is passed as
it is: it has every method but ``affected_rows``, which :func:`affected_rows` reads from its
cursor instead (the one place that knows how Frappe keeps it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

# MariaDB error numbers (server side).
ER_DUP_ENTRY = 1062
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213
RETRYABLE_ERRNOS = frozenset({ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK})

RETRY_ATTEMPTS_MAX = 5
RETRY_BACKOFF_BASE_S = 0.02
RETRY_BACKOFF_CAP_S = 0.5

T = TypeVar("T")


class Database(Protocol):
	"""What the core needs from a connection: the subset of ``frappe.db`` it uses."""

	def sql(self, query: str, values: Sequence[Any] | dict | None = ..., as_dict: bool = ...) -> Any: ...

	def savepoint(self, save_point: str) -> None: ...

	def rollback(self, *, save_point: str | None = None) -> None: ...

	def release_savepoint(self, save_point: str) -> None: ...

	def affected_rows(self) -> int:
		"""Rows changed by the last statement sent (an UPDATE's affected rows)."""
		...


@contextmanager
def in_savepoint(db: Database, name: str) -> Iterator[None]:
	"""Run the block inside savepoint ``name``: on any exception roll back to it and re-raise
	(the caller's earlier work in the transaction stays), else release it. Never commits.

	A deadlock (1213) is re-raised as it is: MariaDB has already rolled the whole transaction
	back, savepoints included, so rolling back to ``name`` would fail with "SAVEPOINT does not
	exist" (1305) and hide the deadlock from :func:`run_with_retry`, which redoes the whole unit.
	"""
	db.savepoint(name)
	try:
		yield
	except Exception as exc:
		if mariadb_errno(exc) != ER_LOCK_DEADLOCK:
			db.rollback(save_point=name)
		raise
	db.release_savepoint(name)


def mariadb_errno(exc: BaseException | None) -> int | None:
	"""The MariaDB error number behind ``exc``, or None.

	Walks the ``__cause__``/``__context__`` chain and wrapped arguments, because Frappe wraps
	driver errors (``raise frappe.QueryDeadlockError(e) from e``) while mysqlclient and PyMySQL
	raise them bare with ``args[0]`` the error number.
	"""
	seen: set[int] = set()
	while exc is not None and id(exc) not in seen:
		seen.add(id(exc))
		args = getattr(exc, "args", ())
		if args and isinstance(args[0], int):
			return args[0]
		if args and isinstance(args[0], BaseException):
			inner = mariadb_errno(args[0])
			if inner is not None:
				return inner
		exc = exc.__cause__ or exc.__context__
	return None


def is_duplicate_entry(exc: BaseException) -> bool:
	return mariadb_errno(exc) == ER_DUP_ENTRY


def affected_rows(db: Database) -> int:
	"""Rows changed by the last statement sent on ``db`` (an UPDATE's affected rows).

	Calls :meth:`Database.affected_rows`; ``frappe.db`` has no such method and keeps the cursor
	of its last statement as ``_cursor``, so for it the count is read there.
	"""
	method = getattr(db, "affected_rows", None)
	if method is not None:
		return int(method())
	return int(db._cursor.rowcount)  # frappe.db


def is_retryable(exc: BaseException) -> bool:
	"""True for a deadlock (1213) or a lock wait timeout (1205)."""
	return mariadb_errno(exc) in RETRYABLE_ERRNOS


def run_with_retry(
	unit_of_work: Callable[[], T],
	*,
	rollback: Callable[[], None],
	attempts_max: int = RETRY_ATTEMPTS_MAX,
	sleep: Callable[[float], None] = time.sleep,
) -> T:
	"""Run ``unit_of_work``; on deadlock/lock-wait timeout roll the whole transaction back and retry.

	A MariaDB deadlock discards the entire transaction, so the retry must redo the whole unit
	of work: ``unit_of_work`` must be the only thing in the transaction (the caller commits
	after it returns). Retries are bounded by ``attempts_max`` with jittered exponential
	backoff; the last error is re-raised unchanged.
	"""
	assert attempts_max >= 1
	for attempt in range(1, attempts_max + 1):
		try:
			return unit_of_work()
		except Exception as exc:
			if not is_retryable(exc) or attempt == attempts_max:
				raise
			rollback()
			delay_s = min(RETRY_BACKOFF_CAP_S, RETRY_BACKOFF_BASE_S * 2 ** (attempt - 1))
			sleep(random.uniform(delay_s / 2, delay_s))
	raise AssertionError("unreachable")
