app_name = "tuktuk_management"
app_title = "TukTuk Management"
app_publisher = "tuktuk_management developers"
app_description = "M-Pesa ledger for a tuk-tuk fleet: C2B split, B2C payouts, daily targets, reconciliation"
app_email = "dev@example.com"
app_license = "mit"

# Installation
# ------------
# Roles and a random callback token: a fresh site needs them and install-app skips patches.
after_install = "tuktuk_management.install.after_install"

# Scheduled Tasks
# ---------------
# Cron strings run in the site time zone.
scheduler_events = {
	"cron": {
		"*/5 * * * *": [
			# Stored confirmations left Received (processing paused) or Failed (attempts left).
			"tuktuk_management.tasks.process_pending_callbacks",
			# B2C: results left behind, Queued payouts left behind, due retries, Unknown resolution.
			"tuktuk_management.tasks.process_payouts",
			# SMS: target reminders of the slot due now, day-end summaries, then the sender.
			"tuktuk_management.tasks.queue_due_messages",
		],
		# Daily close and reconciliation: each checks whether its time in TukTuk Settings has
		# passed (site time zone) and the day's work is not done yet, then enqueues chunked jobs.
		"* * * * *": [
			"tuktuk_management.tasks.run_due_daily_close",
			"tuktuk_management.tasks.run_due_reconciliation",
		],
		# Watchdog: keeps the site's scheduler active, alerts when a close or reconciliation is overdue.
		"*/15 * * * *": ["tuktuk_management.tasks.watch_scheduled_work"],
		# While instant payouts are off: once sweep_time has passed, pay accumulated balances
		# (one payout per driver per date, bounded batches; see docs/deposits-and-payouts.md).
		# Every 5 minutes, 2 minutes after the */5 jobs (its own key: appended, never merged).
		"2-59/5 * * * *": ["tuktuk_management.money_jobs.run_due_payout_sweep"],
	},
	# Payouts Sent/Unknown for over an hour: email + desk notification.
	"hourly": [
		"tuktuk_management.tasks.alert_stuck_payouts",
		# The books against M-Pesa: paybill balance query and Pull Transactions (settings switches).
		"tuktuk_management.tasks.run_statement_checks",
	],
}

# Fixtures
# --------
# The app's roles (tuktuk_management/fixtures/role.json), synced on install and migrate.
fixtures = [
	{"dt": "Role", "filters": [["name", "in", ["TukTuk Manager", "TukTuk Accountant", "TukTuk Driver"]]]},
]

# Permissions
# -----------
# A user with only the TukTuk Driver role sees only their own driver record, transactions,
# ledger lines and payouts (TukTuk Driver.user links the driver to the User).
permission_query_conditions = {
	"TukTuk Driver": "tuktuk_management.permissions.driver_query",
	"TukTuk Transaction": "tuktuk_management.permissions.transaction_query",
	"TukTuk Payout": "tuktuk_management.permissions.payout_query",
	"TukTuk Ledger Entry": "tuktuk_management.permissions.ledger_entry_query",
	"TukTuk Daily Close": "tuktuk_management.permissions.daily_close_query",
	"TukTuk Credit Note": "tuktuk_management.permissions.credit_note_query",
	"TukTuk Callback Log": "tuktuk_management.permissions.nothing_for_drivers_query",
	"TukTuk Journal": "tuktuk_management.permissions.nothing_for_drivers_query",
	"TukTuk Reconciliation Run": "tuktuk_management.permissions.nothing_for_drivers_query",
	"TukTuk Refused Call Summary": "tuktuk_management.permissions.nothing_for_drivers_query",
	"TukTuk Deposit Entry": "tuktuk_management.permissions.deposit_entry_query",
	"TukTuk Withdrawal Request": "tuktuk_management.permissions.withdrawal_request_query",
	"TukTuk Day Off": "tuktuk_management.permissions.day_off_query",
}
has_permission = {
	"TukTuk Driver": "tuktuk_management.permissions.has_permission",
	"TukTuk Transaction": "tuktuk_management.permissions.has_permission",
	"TukTuk Payout": "tuktuk_management.permissions.has_permission",
	"TukTuk Ledger Entry": "tuktuk_management.permissions.has_permission",
	"TukTuk Daily Close": "tuktuk_management.permissions.has_permission",
	"TukTuk Credit Note": "tuktuk_management.permissions.has_permission",
	"TukTuk Callback Log": "tuktuk_management.permissions.has_permission",
	"TukTuk Journal": "tuktuk_management.permissions.has_permission",
	"TukTuk Reconciliation Run": "tuktuk_management.permissions.has_permission",
	"TukTuk Refused Call Summary": "tuktuk_management.permissions.has_permission",
	"TukTuk Deposit Entry": "tuktuk_management.permissions.has_permission",
	"TukTuk Withdrawal Request": "tuktuk_management.permissions.has_permission",
	"TukTuk Day Off": "tuktuk_management.permissions.has_permission",
}

# Desk
# ----
# The desk's part of the driver form (target progress, balances, latest payments, statement).
# A list per DocType (Frappe loads each file in order): the form's overview, then Pay now and the
# deposit buttons (docs/deposits-and-payouts.md).
doctype_js = {"TukTuk Driver": ["public/js/tuktuk_driver_desk.js", "public/js/tuktuk_driver_money.js"]}

# Upgrade from the original app
# -----------------------------
# A desk warning for managers while the original's token-less callback URLs are accepted.
boot_session = "tuktuk_management.legacy_desk.boot_session"
app_include_js = ["/assets/tuktuk_management/js/legacy_callback_warning.js"]

# Frappe's generic reads that answer past the row rules above, replaced by versions that apply
# them (same names and parameters; see tuktuk_management/api/frappe_reads.py for each reason).
override_whitelisted_methods = {
	"frappe.client.get_count": "tuktuk_management.api.frappe_reads.get_count",
	"frappe.client.validate_link": "tuktuk_management.api.frappe_reads.validate_link",
	"frappe.desk.search.search_link": "tuktuk_management.api.frappe_reads.search_link",
	"frappe.desk.search.search_widget": "tuktuk_management.api.frappe_reads.search_widget",
	"frappe.desk.search.get_link_title": "tuktuk_management.api.frappe_reads.get_link_title",
	"frappe.desk.listview.get_group_by_count": "tuktuk_management.api.frappe_reads.get_group_by_count",
	"frappe.desk.doctype.dashboard_chart.dashboard_chart.get": (
		"tuktuk_management.api.frappe_reads.get_dashboard_chart"
	),
	"frappe.desk.form.linked_with.get_submitted_linked_docs": (
		"tuktuk_management.api.frappe_reads.get_submitted_linked_docs"
	),
	"frappe.client.get": "tuktuk_management.api.frappe_reads.get",
}

# Document Events
# ---------------
# A time zone change leaves the app's cron stamps in the old zone: bring them to the new present.
doc_events = {
	"System Settings": {"on_update": "tuktuk_management.health.on_system_settings_update"},
}
