# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class TukTukJournalLine(Document):
	"""One line of a TukTuk Journal (child table), written with its parent by the ledger core."""
