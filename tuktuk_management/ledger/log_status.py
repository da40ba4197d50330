"""The status words of TukTuk Callback Log, defined once.

Plain ``str`` constants (they go into SQL parameters, JSON and ``==`` comparisons with stored
values unchanged), matching the DocType's Select options exactly. A C2B confirmation's outcome
and a B2C result's outcome are stored as the log's status, so ``ledger.c2b`` and
``ledger.payouts`` name their outcomes with these words.
"""

from __future__ import annotations


class LogStatus:
	"""TukTuk Callback Log ``status``: what became of one stored callback."""

	RECEIVED = "Received"  # stored, not applied yet (or processing is paused)
	PROCESSED = "Processed"
	DUPLICATE = "Duplicate"
	CONFLICT = "Conflict"
	UNALLOCATED = "Unallocated"
	INVALID = "Invalid"
	FAILED = "Failed"  # an unexpected error; the scheduled job retries it
	REJECTED = "Rejected"  # refused caller (token or IP), or a validation call that was refused
	ALL = (RECEIVED, PROCESSED, DUPLICATE, CONFLICT, UNALLOCATED, INVALID, FAILED, REJECTED)
	WAITING = (RECEIVED, FAILED)  # still to apply: the only statuses a claim takes
