"""Fixtures for the framework-free suite: a throwaway MariaDB database per test run.

The server comes from ``TUKTUK_TEST_DB_URL`` (default ``mysql://root@127.0.0.1:3306``); the run
creates ``tuktuk_test_<pid>_<random>``, builds the app's tables from its DocType JSON and drops
the database at the end. Tables are emptied before every test that uses ``db``.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime

import pytest

from tests import factories
from tuktuk_management.standalone.db import DatabaseURL, MariaDB
from tuktuk_management.standalone.schema import create_schema, load_doctypes

SERVER_URL = os.environ.get("TUKTUK_TEST_DB_URL", "mysql://root@127.0.0.1:3306").rstrip("/")


@pytest.fixture(scope="session")
def db_url() -> DatabaseURL:
	name = f"tuktuk_test_{os.getpid()}_{secrets.token_hex(3)}"
	url = DatabaseURL.parse(f"{SERVER_URL}/{name}")
	server = MariaDB(url, database="")
	server.sql(f"create database `{name}` character set utf8mb4 collate utf8mb4_unicode_ci")
	with MariaDB(url) as db:
		create_schema(db)
		db.commit()
	yield url
	server.sql(f"drop database if exists `{name}`")
	server.close()


@pytest.fixture(scope="session")
def table_names() -> list[str]:
	return [f"tab{d['name']}" for d in load_doctypes() if not d.get("issingle")]


@pytest.fixture
def db(db_url: DatabaseURL, table_names: list[str]) -> MariaDB:
	connection = MariaDB(db_url)
	for table in [*table_names, "tabSingles"]:
		connection.sql(f"truncate table `{table}`")
	settings = next(d for d in load_doctypes() if d["name"] == "TukTuk Settings")
	for field in settings["fields"]:
		if field.get("default") is not None:
			connection.sql(
				"insert into `tabSingles` (doctype, field, value) values ('TukTuk Settings', %s, %s)",
				(field["fieldname"], field["default"]),
			)
	factories.set_settings(connection, mpesa_paybill=factories.PAYBILL)
	connection.commit()
	yield connection
	connection.rollback()
	connection.close()


@pytest.fixture
def now() -> datetime:
	return datetime(2026, 11, 21, 12, 0, 0)
