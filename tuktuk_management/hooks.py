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
		# Stored confirmations left Received (processing paused) or Failed (attempts left).
		"*/5 * * * *": ["tuktuk_management.tasks.process_pending_callbacks"],
		# Daily close and reconciliation: each checks whether its time in TukTuk Settings has
		# passed (site time zone) and the day's work is not done yet, then enqueues chunked jobs.
		"* * * * *": [
			"tuktuk_management.tasks.run_due_daily_close",
			"tuktuk_management.tasks.run_due_reconciliation",
		],
	},
}
