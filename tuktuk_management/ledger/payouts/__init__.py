"""B2C payout lifecycle on TukTuk Payout (DESIGN §4): paid exactly once, failures recoverable.

The package is split by responsibility; every public name is importable from here
(``from tuktuk_management.ledger import payouts; payouts.send_payout(...)``):

- :mod:`.state`: the row, its statuses and timings, reading/writing it, queueing and cancelling;
- :mod:`.send`: claiming and sending B2C requests, resolving unknown outcomes, the scheduler pass;
- :mod:`.results`: applying B2C result, timeout and Transaction Status callbacks (Paid posting);
- :mod:`.queries`: read-only selections for the scheduler, the stuck alert and reconciliation.

States (``status``): Queued (written with the payment) → Unknown while a request is in flight
or its outcome is unknown → Sent (Daraja accepted it; ``conversation_id`` stored) → Paid (result
``ResultCode`` 0: voucher payable → b2c posted in the same transaction, receipt stored) or
Failed (code and description stored; the share stays payable; retried by policy unless the code
is final) ; Cancelled by a manager from Queued or Failed (the share stays payable for a later
payout or a manual settlement: payable is only debited when a payout is Paid).

Why a driver is never paid twice:

- The ``OriginatorConversationID`` is deterministic: ``TTK-<payout>`` for the first attempt,
  ``TTK-<payout>-<n>`` for attempt n. Daraja refuses a reused id as a duplicate, so any resend
  of a request whose outcome is unknown (crash, timeout) reuses the same id and cannot pay again.
  A new id is only taken after a *definite* failure for the previous one (a failure result, a
  failed Transaction Status, or a refusal of a brand-new id).
- The payout row is claimed (``FOR UPDATE``, status Unknown, committed) *before* the HTTP call,
  and no row lock is held during the call; the reply is recorded in a new transaction that
  re-checks the row. Every transition locks the payout row first.
- A result is applied under the payout row lock; the Paid posting happens once (a repeated
  result changes nothing), and an existing ledger voucher for the payout is asserted absent.

Unit-of-work boundaries: the send and resolve flows are three transactions each (claim; HTTP
call with no transaction open; record), so they take ``commit`` from the caller; every other
function runs inside the caller's transaction and never commits.
"""

from __future__ import annotations

from tuktuk_management.ledger.payouts.queries import (
	failed_due,
	in_flight_due,
	payout_ledger_mismatches,
	queued_left_behind,
	stuck_payouts,
)
from tuktuk_management.ledger.payouts.results import (
	B2C_RESULT,
	B2C_TIMEOUT,
	LOG_DOCTYPE,
	apply_result,
	mark_paid,
	pending_result_logs,
	process_logged_result,
)
from tuktuk_management.ledger.payouts.send import (
	Claim,
	PayoutClient,
	claim_for_send,
	record_reply,
	resolve_payout,
	run_due_payouts,
	send_payout,
)
from tuktuk_management.ledger.payouts.state import (
	ATTEMPTS_HARD_MAX,
	BACKOFF_CAP,
	BATCH_MAX,
	CANCELLED,
	ERROR_CHARS_MAX,
	FAILED,
	FINISHED,
	IN_FLIGHT,
	LOCAL_MSISDN_CODE,
	PAID,
	PAYOUT_DOCTYPE,
	QUEUED,
	QUEUED_LEFT_AFTER,
	RESOLVE_ATTEMPTS_MAX,
	SENT,
	SENT_QUERY_AFTER,
	STATUS_QUERY_INTERVAL,
	STUCK_AFTER,
	UNKNOWN,
	UNKNOWN_RESOLVE_AFTER,
	PayoutOutcome,
	PayoutRow,
	PayoutStateError,
	attempts_max,
	cancel_payout,
	current_attempt,
	failure_values,
	queue_payout,
	read_payout,
	retry_delay,
	update_payout,
)

__all__ = [
	"ATTEMPTS_HARD_MAX",
	"B2C_RESULT",
	"B2C_TIMEOUT",
	"BACKOFF_CAP",
	"BATCH_MAX",
	"CANCELLED",
	"ERROR_CHARS_MAX",
	"FAILED",
	"FINISHED",
	"IN_FLIGHT",
	"LOCAL_MSISDN_CODE",
	"LOG_DOCTYPE",
	"PAID",
	"PAYOUT_DOCTYPE",
	"QUEUED",
	"QUEUED_LEFT_AFTER",
	"RESOLVE_ATTEMPTS_MAX",
	"SENT",
	"SENT_QUERY_AFTER",
	"STATUS_QUERY_INTERVAL",
	"STUCK_AFTER",
	"UNKNOWN",
	"UNKNOWN_RESOLVE_AFTER",
	"Claim",
	"PayoutClient",
	"PayoutOutcome",
	"PayoutRow",
	"PayoutStateError",
	"apply_result",
	"attempts_max",
	"cancel_payout",
	"claim_for_send",
	"current_attempt",
	"failed_due",
	"failure_values",
	"in_flight_due",
	"mark_paid",
	"payout_ledger_mismatches",
	"pending_result_logs",
	"process_logged_result",
	"queue_payout",
	"queued_left_behind",
	"read_payout",
	"record_reply",
	"resolve_payout",
	"retry_delay",
	"run_due_payouts",
	"send_payout",
	"stuck_payouts",
	"update_payout",
]
