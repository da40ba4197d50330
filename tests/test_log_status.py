"""The callback-log status words in code are exactly the DocType's Select options."""

from __future__ import annotations

import json
from pathlib import Path

from tuktuk_management.ledger.status import LogStatus

DOCTYPE_JSON = (
	Path(__file__).resolve().parents[1]
	/ "tuktuk_management/tuktuk_management/doctype/tuktuk_callback_log/tuktuk_callback_log.json"
)


def test_log_status_matches_the_doctype_options():
	fields = {field["fieldname"]: field for field in json.loads(DOCTYPE_JSON.read_text())["fields"]}
	assert tuple(fields["status"]["options"].split("\n")) == LogStatus.ALL
	assert set(LogStatus.WAITING) <= set(LogStatus.ALL)
