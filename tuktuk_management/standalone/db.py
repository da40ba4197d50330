"""A thin mysqlclient connection that satisfies the core's :class:`Database` protocol."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import MySQLdb

_SAVEPOINT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class DatabaseURL:
	"""``mysql://USER[:PASSWORD]@HOST[:PORT]/DBNAME`` split into its parts."""

	user: str
	password: str
	host: str
	port: int
	database: str

	@classmethod
	def parse(cls, url: str) -> DatabaseURL:
		"""Raises ValueError for anything but ``mysql://`` (or ``mariadb://``) with a database name."""
		parsed = urlparse(url)
		if parsed.scheme not in ("mysql", "mariadb"):
			raise ValueError(f"database URL must start with mysql://, got {parsed.scheme or 'nothing'}")
		database = parsed.path.lstrip("/")
		if not re.match(r"^[A-Za-z0-9_]{1,64}$", database):
			raise ValueError(
				"database URL must name a database (letters, digits, _): mysql://user@host:3306/name"
			)
		return cls(
			user=unquote(parsed.username or "root"),
			password=unquote(parsed.password or ""),
			host=parsed.hostname or "127.0.0.1",
			port=parsed.port or 3306,
			database=database,
		)


class MariaDB:
	"""One MariaDB connection, autocommit off, REPEATABLE READ (as under Frappe).

	``sql`` mirrors ``frappe.db.sql``: tuples of tuples, or a list of dicts with ``as_dict``.
	"""

	def __init__(self, url: DatabaseURL, *, database: str | None = None, connect_timeout_s: int = 10):
		self.url = url
		self.connection = MySQLdb.connect(
			host=url.host,
			port=url.port,
			user=url.user,
			password=url.password,
			database=url.database if database is None else database,
			charset="utf8mb4",
			autocommit=False,
			connect_timeout=connect_timeout_s,
		)
		self.rowcount = -1  # rows the last statement changed (an UPDATE's affected rows)

	def sql(self, query: str, values: Sequence[Any] | dict | None = None, as_dict: bool = False) -> Any:
		cursor = self.connection.cursor(MySQLdb.cursors.DictCursor if as_dict else MySQLdb.cursors.Cursor)
		try:
			cursor.execute(query, values or None)
			self.rowcount = cursor.rowcount
			rows = cursor.fetchall()
		finally:
			cursor.close()
		if as_dict:
			return list(rows)
		return tuple(rows) if rows else ()

	def affected_rows(self) -> int:
		"""Rows changed by the last statement (:meth:`~tuktuk_management.ledger.database.Database.affected_rows`)."""
		return self.rowcount

	def savepoint(self, save_point: str) -> None:
		assert _SAVEPOINT_NAME.match(save_point), save_point
		self.sql(f"savepoint {save_point}")

	def release_savepoint(self, save_point: str) -> None:
		assert _SAVEPOINT_NAME.match(save_point), save_point
		self.sql(f"release savepoint {save_point}")

	def rollback(self, *, save_point: str | None = None) -> None:
		if save_point:
			assert _SAVEPOINT_NAME.match(save_point), save_point
			self.sql(f"rollback to savepoint {save_point}")
		else:
			self.connection.rollback()

	def commit(self) -> None:
		self.connection.commit()

	def close(self) -> None:
		self.connection.close()

	def __enter__(self) -> MariaDB:
		return self

	def __exit__(self, *exc_info: object) -> None:
		self.close()
