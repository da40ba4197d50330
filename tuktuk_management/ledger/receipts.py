"""Payment receipts (SMS): written on the payment's own TukTuk Transaction row, made into TukTuk
Messages by the SMS sender after commit (DESIGN §9, docs/messaging.md).

The receipt's outbox entry is the payment row itself: :func:`receipt_text` gives the
``receipt_text`` the payment's INSERT writes with ``receipt_pending = 1`` (no statement of its own
on the payment path), and the correction under the driver's lock rewrites both in the UPDATE that
corrects the row. So a receipt exists if and only if its payment committed, once per TransID (the
row's primary key), and nothing about it is sent inside the payment's transaction.

:func:`materialize_receipts` is the SMS sender's first unit of work: it locks a bounded batch of
pending payment rows, each by its primary key (``FOR UPDATE SKIP LOCKED``: never a payment in
flight, never a gap a payment's INSERT would wait for), inserts their TukTuk Message rows (kind Receipt, key
``receipt:<TransID>``, Queued; an existing key is left as it is, so a re-run never duplicates) and
clears ``receipt_pending``. The caller commits. The sender's rules (quiet hours, opt-out, a driver
no longer Active, the daily cap, retries) then apply to these rows as to any message, at the
claim, as they did when the payment wrote the message row itself.
"""

from __future__ import annotations

from datetime import datetime

from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.messages import (
	DEFAULT_RECEIPT_TEMPLATE,
	MessageKind,
	NewMessage,
	TemplateInvalid,
	insert_messages,
	receipt_figures,
	render,
	row_values,
)
from tuktuk_management.ledger.rows import sql_datetime
from tuktuk_management.ledger.settings import LedgerSettings

TRANSACTION_DOCTYPE = "TukTuk Transaction"
MATERIALIZE_BATCH_MAX = 100  # one locking read and one UPDATE per receipt


def receipt_key(trans_id: str) -> str:
	"""The receipt message's idempotency key."""
	return f"receipt:{trans_id}"


def receipt_text(plan, trans_id: str, *, settings: LedgerSettings) -> str | None:
	"""The receipt of a payment planned as ``plan`` (the C2B plan: ``driver``, ``route.kind``,
	``split``, ``target_kes``), or None when there is none: receipts off, or the payment pays no
	driver (suspense, a driver not Active). A template that fails to render falls back to the
	default template: a bad template never stops a payment."""
	if not settings.sms_receipts_enabled or not plan.driver or plan.split is None:
		return None
	figures = receipt_figures(trans_id, plan.route.kind, plan.split, plan.target_kes)
	try:
		return render(settings.sms_receipt_template or DEFAULT_RECEIPT_TEMPLATE, figures)
	except TemplateInvalid:
		return render(DEFAULT_RECEIPT_TEMPLATE, figures)


def materialize_receipts(
	db: Database, *, now: datetime, user: str = "Administrator", batch_max: int = MATERIALIZE_BATCH_MAX
) -> int:
	"""Make the TukTuk Message rows of up to ``batch_max`` pending receipts, oldest payment first,
	and clear their ``receipt_pending``; returns how many. Never commits.

	Candidates are read without locks, then each is locked by its primary key alone (``FOR UPDATE
	SKIP LOCKED``, one row per statement): a row another sender holds is left to it, and no gap is
	locked, so a payment's INSERT never waits for the sender (a ``name in (...)`` read or UPDATE
	may scan a small table and lock every row and gap it passes). The message's ``queued_at`` is
	the payment's creation.
	"""
	candidates = db.sql(
		f"""select name from `tab{TRANSACTION_DOCTYPE}` where receipt_pending = 1
		order by receipt_pending, creation limit %s""",
		(batch_max,),
	)
	locked = []
	for (name,) in candidates:
		locked += db.sql(
			f"""select name, driver, receipt_text, creation from `tab{TRANSACTION_DOCTYPE}`
			where name = %s and receipt_pending = 1 for update skip locked""",
			(name,),
		)
	if not locked:
		return 0
	at, values = sql_datetime(now), []
	for name, driver, text, created in locked:
		message = NewMessage(driver, MessageKind.RECEIPT, receipt_key(name), text or "", name)
		values += row_values(message, at, user, queued_at=sql_datetime(created))
	db.sql(insert_messages(len(locked)), tuple(values))
	for name, *_rest in locked:
		db.sql(f"update `tab{TRANSACTION_DOCTYPE}` set receipt_pending = 0 where name = %s", (name,))
	return len(locked)
