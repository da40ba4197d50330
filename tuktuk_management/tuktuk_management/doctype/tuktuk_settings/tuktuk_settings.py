# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import frappe
from frappe import _
from frappe.model.document import Document

from tuktuk_management.ledger.drivers import refresh_left_to_target
from tuktuk_management.ledger.money import is_non_negative_kes
from tuktuk_management.ledger.settings import (
	DEFAULT_JOURNAL_MAX_LINE_AMOUNT_KES,
	DEFAULT_JOURNAL_MAX_LINES,
	DEFAULT_TIMEZONE,
	JOURNAL_MAX_LINES_CAP,
	load_settings,
	parse_ip_allowlist,
)

PERCENT_MAX = 100


class TukTukSettings(Document):
	def validate(self):
		self.validate_global_daily_target()
		self.validate_global_fare_percentage()
		self.validate_paybill()
		self.validate_operating_timezone()
		self.validate_allowed_callback_ips()
		self.validate_journal_limits()
		self.validate_messaging()

	def on_update(self):
		self.refresh_drivers_left_to_target()

	def validate_global_daily_target(self):
		if not is_non_negative_kes(self.global_daily_target):
			frappe.throw(
				_("Global Daily Target must be a whole number of shillings, 0 or more."),
				title=_("Invalid Global Daily Target"),
			)

	def validate_global_fare_percentage(self):
		if not 0 <= (self.global_fare_percentage or 0) <= PERCENT_MAX:
			frappe.throw(
				_("Global Fare Percentage must be between 0 and 100."), title=_("Invalid Fare Percentage")
			)

	def validate_paybill(self):
		"""The paybill is compared with each callback's BusinessShortCode: digits only, if set."""
		self.mpesa_paybill = (self.mpesa_paybill or "").strip()
		if self.mpesa_paybill and not self.mpesa_paybill.isdigit():
			frappe.throw(
				_("Paybill (BusinessShortCode) must contain digits only, for example 600966."),
				title=_("Invalid Paybill"),
			)

	def validate_operating_timezone(self):
		self.operating_timezone = (self.operating_timezone or "").strip() or DEFAULT_TIMEZONE
		try:
			ZoneInfo(self.operating_timezone)
		except (ZoneInfoNotFoundError, ValueError):
			frappe.throw(
				_(
					"Operating Timezone {0} is not a known IANA time zone (for example Africa/Nairobi)."
				).format(frappe.bold(self.operating_timezone)),
				title=_("Invalid Timezone"),
			)

	def validate_allowed_callback_ips(self):
		try:
			parse_ip_allowlist(self.allowed_callback_ips or "")
		except ValueError as exc:
			frappe.throw(
				_("Allowed Callback IPs: {0}. Give one IP address or CIDR range per line.").format(exc),
				title=_("Invalid Allowed Callback IPs"),
			)

	def validate_journal_limits(self):
		# A site upgraded from before these fields existed has them empty: take the defaults.
		self.journal_max_lines = self.journal_max_lines or DEFAULT_JOURNAL_MAX_LINES
		self.journal_max_line_amount_kes = (
			self.journal_max_line_amount_kes or DEFAULT_JOURNAL_MAX_LINE_AMOUNT_KES
		)
		if not 2 <= (self.journal_max_lines or 0) <= JOURNAL_MAX_LINES_CAP:
			frappe.throw(
				_("Journal Max Lines must be between 2 and {0}.").format(JOURNAL_MAX_LINES_CAP),
				title=_("Invalid Journal Limit"),
			)
		if self.journal_max_line_amount_kes <= 0:
			frappe.throw(
				_("Journal Max Line Amount must be a whole number of shillings above 0."),
				title=_("Invalid Journal Limit"),
			)

	def refresh_drivers_left_to_target(self):
		"""A new global target changes every driver's left_to_target that uses it."""
		if self.has_value_changed("global_daily_target"):
			refresh_left_to_target(frappe.db, load_settings(frappe.db))

	def validate_messaging(self):
		"""Reminder times readable, templates that render with sample figures (names they know)."""
		from tuktuk_management.ledger import messages

		try:
			messages.parse_times(self.get("sms_reminder_times") or "")
		except ValueError as exc:
			frappe.throw(_("Reminder Times: {0}.").format(exc), title=_("Invalid Reminder Times"))
		for field, sample in (
			("sms_receipt_template", "receipt"),
			("sms_reminder_template", "reminder"),
			("sms_summary_template", "summary"),
			("sms_payout_template", "payout"),
		):
			if self.get(field):
				try:
					messages.check_template(self.get(field), messages.SAMPLE_FIGURES[sample])
				except messages.TemplateInvalid as exc:
					frappe.throw(
						_("{0}: {1}").format(_(self.meta.get_label(field)), exc), title=_("Invalid Template")
					)
