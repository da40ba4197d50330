# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from tuktuk_management.ledger.drivers import normalize_account


class TukTukVehicle(Document):
	def validate(self):
		self.normalize_mpesa_account()

	def normalize_mpesa_account(self):
		"""Store the account number as payments are matched: trimmed and upper-cased."""
		try:
			self.mpesa_account = normalize_account(self.mpesa_account)
		except ValueError as exc:
			frappe.throw(str(exc), title=_("Invalid M-Pesa Account Number"))
