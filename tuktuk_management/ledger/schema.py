"""Composite indexes the core's queries rely on.

Frappe adds them in each DocType's ``on_doctype_update``; the standalone schema builder adds
the same ones, so both sides run the same queries on the same indexes.
"""

from __future__ import annotations

COMPOSITE_INDEXES: dict[str, list[tuple[str, ...]]] = {
	# (party, posting_datetime): the driver statement's opening sum and its lines (ledger/statement.py).
	"TukTuk Ledger Entry": [
		("party", "account"),
		("voucher_type", "voucher_no"),
		("party", "posting_datetime"),
	],
	# Collections per day and the suspense list (ledger/figures.py).
	"TukTuk Transaction": [("timestamp",), ("payment_status", "timestamp")],
	"TukTuk Callback Log": [("endpoint", "status", "received_at")],
}


def index_name(columns: tuple[str, ...]) -> str:
	"""Frappe's ``add_index`` default name: the columns joined by ``_`` with ``_index``."""
	return "_".join(columns) + "_index"
