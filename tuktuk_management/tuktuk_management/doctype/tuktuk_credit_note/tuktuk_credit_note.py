# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import now_datetime

from tuktuk_management.ledger import corrections
from tuktuk_management.ledger.postings import CorrectionRefused
from tuktuk_management.ledger.settings import load_settings


class TukTukCreditNote(Document):
	"""A correction of a driver's balances (DESIGN §2): posted on submit, reversed on cancel.

	The ledger core does the work inside the request's transaction (no commit here): a failure
	anywhere rolls back the submit with its postings. ``flags.on_step`` is a test hook passed to
	the core.
	"""

	def validate(self):
		self.set_driver_from_transaction()
		self.check_against_balances()

	def on_submit(self):
		self.call_core(corrections.post_credit_note, self.as_credit_note())
		self.reload()

	def on_cancel(self):
		self.call_core(corrections.reverse_credit_note, self.name)
		self.reload()

	def on_trash(self):
		if self.docstatus == 2:
			frappe.throw(
				_(
					"Credit note {0} has ledger postings (and their reversal); it is kept for the record."
				).format(self.name),
				title=_("Not Allowed"),
				exc=frappe.PermissionError,
			)

	def set_driver_from_transaction(self):
		if self.correction_type == corrections.PAYMENT_REVERSAL and self.transaction and not self.driver:
			self.driver = frappe.db.get_value("TukTuk Transaction", self.transaction, "driver")

	def check_against_balances(self):
		"""Amounts against current balances (under the driver's row lock); nothing is written."""
		note = self.as_credit_note()
		try:
			corrections.plan_credit_note(frappe.db, note, settings=load_settings(frappe.db))
		except CorrectionRefused as exc:
			frappe.throw(str(exc), title=_("Correction not possible"))

	def as_credit_note(self) -> corrections.CreditNote:
		try:
			return corrections.CreditNote.from_fields(self.name, self.as_dict())
		except CorrectionRefused as exc:
			frappe.throw(str(exc), title=_("Correction not possible"))

	def call_core(self, function, subject):
		try:
			function(
				frappe.db,
				subject,
				settings=load_settings(frappe.db),
				now=now_datetime(),
				user=frappe.session.user,
				on_step=self.flags.on_step,
			)
		except CorrectionRefused as exc:
			frappe.throw(str(exc), title=_("Correction not possible"))
