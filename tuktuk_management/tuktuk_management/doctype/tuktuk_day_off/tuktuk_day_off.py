# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt
"""TukTuk Day Off: a driver's day off, Requested then Approved or Rejected by a manager.

Only an Approved day off changes the daily close: the driver is not judged that day
(``ledger/judged.py``). Requests, decisions and cancellations go through
``tuktuk_management.api.days_off`` (which sets ``flags.day_off_decision``); a status change made
any other way (a form save, the REST API) is refused. The rules of a request (not a past date,
not a closed date, one open request per driver and date) live in ``ledger/days_off.py``.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import getdate, today

from tuktuk_management.ledger.days_off import DayOffError, DayOffStatus, check_request, open_request_key


class TukTukDayOff(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		approved_by: DF.Link | None
		approved_on: DF.Datetime | None
		day_off_date: DF.Date
		driver: DF.Link
		driver_name: DF.Data | None
		open_request_key: DF.Data | None
		reason: DF.SmallText | None
		rejection_reason: DF.SmallText | None
		status: DF.Literal["Requested", "Approved", "Rejected", "Cancelled"]
	# end: auto-generated types

	def validate(self) -> None:
		self.validate_status_change()
		self.validate_request()
		self.open_request_key = open_request_key(self.driver, self.day_off_date, self.status)

	def validate_status_change(self) -> None:
		"""A new row starts Requested (or as decided by the API); afterwards only the API's
		approve / reject / cancel change the status."""
		if self.flags.get("day_off_decision"):
			return
		before = self.get_doc_before_save()
		if self.is_new():
			if self.status != DayOffStatus.REQUESTED:
				frappe.throw(_("A new day off starts as Requested; approve it with the Approve button."))
		elif before and before.status != self.status:
			frappe.throw(_("Use the Approve, Reject or Cancel Request buttons to change a day off's status."))

	def validate_request(self) -> None:
		"""New rows, and Requested rows whose driver or date changed, pass the request checks;
		a decided row's driver and date cannot change."""
		before = self.get_doc_before_save()
		changed = before is not None and (
			before.driver != self.driver or str(before.day_off_date) != str(self.day_off_date)
		)
		if changed and before.status != DayOffStatus.REQUESTED:
			frappe.throw(_("A decided day off cannot be moved; reject it and request a new one."))
		if self.is_new() or changed:
			try:
				check_request(
					frappe.db,
					self.driver,
					getdate(self.day_off_date),
					today=getdate(today()),
					name=self.name or "",
				)
			except DayOffError as exc:
				frappe.throw(_(str(exc)))
