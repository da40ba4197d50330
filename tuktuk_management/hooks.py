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
	},
}

# Desk
# ----
# The desk's part of the driver form (target progress, balances, latest payments, statement).
doctype_js = {"TukTuk Driver": "public/js/tuktuk_driver_desk.js"}
