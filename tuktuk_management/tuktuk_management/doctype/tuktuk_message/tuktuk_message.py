# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument, add_composite_indexes


class TukTukMessage(CoreWrittenDocument):
	"""An SMS to a driver: an outbox row written with the event it reports, sent after commit."""

	written_by = "the payment, reminder, close, payout and broadcast flows"
	instead_of_delete = "Messages are the record of what drivers were told."


def on_doctype_update():
	add_composite_indexes("TukTuk Message")
