"""Composite indexes the core's queries rely on.

Frappe adds them in each DocType's ``on_doctype_update``; the standalone schema builder adds
the same ones, so both sides run the same queries on the same indexes.
"""

from __future__ import annotations

COMPOSITE_INDEXES: dict[str, list[tuple[str, ...]]] = {
	# (party, account, party_type, debit, credit) and (voucher_type, voucher_no, debit, credit) cover
	# reconciliation's sums per driver and per voucher (ledger/reconcile.py), so those read the
	# index alone, never the table; their prefixes serve the per-driver and per-voucher look-ups.
	# (party, posting_datetime): the driver statement's opening sum and its lines (ledger/statement.py).
	"TukTuk Ledger Entry": [
		("party", "account", "party_type", "debit", "credit"),
		("voucher_type", "voucher_no", "debit", "credit"),
		("party", "posting_datetime"),
	],
	# Collections per day and the suspense list (ledger/figures.py); a driver's latest payments
	# (the driver form and the driver portal) without sorting all of the driver's payments.
	# (receipt_pending, creation): the SMS sender finds the receipts waiting to be made into TukTuk
	# Messages, oldest first, without reading every payment (ledger/receipts.py).
	"TukTuk Transaction": [
		("timestamp",),
		("payment_status", "timestamp"),
		("driver", "timestamp"),
		("receipt_pending", "creation"),
	],
	# A driver's latest payouts (the driver portal, ledger/portal.py).
	# (driver, status): what of a driver's payable is free (ledger/owed/available.py), a locking
	# read of the driver's open payouts only, not of every payout they ever had.
	"TukTuk Payout": [("driver", "creation"), ("driver", "status")],
	# A driver's waiting requests, their limits per day and the statement (ledger/owed/).
	"TukTuk Withdrawal Request": [("driver", "status"), ("driver", "requested_at")],
	"TukTuk Callback Log": [("endpoint", "status", "received_at")],
	# The alert's look-up: has this source alerted in the last hour (ledger/callback_guard.py).
	"TukTuk Refused Call Summary": [("source_address", "minute_start")],
	# The SMS sender's claim reads Queued messages oldest first, locking only the batch it takes
	# (ledger/sms.py); without it the sort would lock every Queued row.
	"TukTuk Message": [("status", "queued_at")],
}

# Indexes an earlier version created, replaced by the covering ones above (patch
# ``v1_0.cover_ledger_sums`` drops them on existing sites).
SUPERSEDED_INDEXES: dict[str, list[tuple[str, ...]]] = {
	"TukTuk Ledger Entry": [("party", "account"), ("voucher_type", "voucher_no")],
}


def index_name(columns: tuple[str, ...]) -> str:
	"""Frappe's ``add_index`` default name: the columns joined by ``_`` with ``_index``."""
	return "_".join(columns) + "_index"
