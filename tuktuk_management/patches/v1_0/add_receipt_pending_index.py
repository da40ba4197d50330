"""Add the ``(receipt_pending, creation)`` index of TukTuk Transaction on sites installed before
it: the SMS sender reads the payments whose receipt is waiting to be made into a TukTuk Message
(``ledger/receipts.py``) through it, not by scanning every payment."""

from tuktuk_management.controllers import add_composite_indexes


def execute():
	add_composite_indexes("TukTuk Transaction")
