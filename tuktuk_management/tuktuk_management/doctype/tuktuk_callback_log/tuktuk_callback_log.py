# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument, add_composite_indexes


class TukTukCallbackLog(CoreWrittenDocument):
	"""A callback body exactly as received, stored before processing, then marked with its outcome."""

	written_by = "the M-Pesa callback endpoints"
	instead_of_delete = "Callback logs are the raw record of what M-Pesa sent."


def on_doctype_update():
	add_composite_indexes("TukTuk Callback Log")
