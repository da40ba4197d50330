# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class TukTukReconciliationDiscrepancy(Document):
	"""A cached balance that differed from its ledger sum (child of TukTuk Reconciliation Run)."""
