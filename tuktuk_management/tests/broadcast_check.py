"""Fixtures for the desk broadcast check in a real browser (scripts/http_broadcast_check.sh).

    bench --site SITE execute tuktuk_management.tests.broadcast_check.setup --kwargs '{"gateway_url": URL}'
    ... a manager sends a broadcast from the TukTuk Message list (scripts/broadcast_check.mjs) ...
    bench --site SITE execute tuktuk_management.tests.broadcast_check.verify
    bench --site SITE execute tuktuk_management.tests.broadcast_check.teardown

``setup`` marks the site's setup wizard done (a test site made by ``bench new-site`` has not run
it, and until then the desk shows non-Administrator users nothing but the wizard), points
Frappe's SMS Settings at the stand-in gateway (Africa's Talking's shape: POST,
``to`` / ``message``, static ``username``, header ``apiKey``), switches SMS on with no quiet hours
and no daily cap, and creates a manager and seven drivers, each with its own phone number: four
Active (two with a vehicle, one without, one with a vehicle but opted out of SMS) and one each
Inactive, Suspended and Terminated. It prints one JSON line: the manager's login, the driver IDs
the dialog lists (all seven), the ones the broadcast must reach (Active, not opted out: three) and
each driver's phone as the gateway receives it. ``teardown`` removes the rows and puts back the
settings setup changed (kept in the site's global defaults meanwhile). ``verify`` prints the fixture drivers' broadcast
messages (driver, status, phone) as JSON.
"""

from __future__ import annotations

import json

import frappe

from tuktuk_management import roles
from tuktuk_management.ledger import messages
from tuktuk_management.tests.factories import make_driver, make_vehicle

PASSWORD = "Tuktuk-Broadcast-Check-1"
MARK = "BROADCAST-CHECK"
MANAGER = "broadcast-manager@example.com"
API_KEY = "standin-api-key"
# (key, status, with a vehicle, opted out)
SETTINGS_CHANGED = (
	"sms_enabled",
	"sms_quiet_hours_start",
	"sms_quiet_hours_end",
	"sms_daily_cap",
	"sms_phone_plus",
)
SMS_FIELDS = ("sms_gateway_url", "message_parameter", "receiver_parameter", "use_post")
SAVED_KEY = "tuktuk_broadcast_check_saved_settings"
DRIVERS = (
	("a", "Active", True, False),
	("b", "Active", True, False),
	("c", "Active", False, False),
	("optout", "Active", True, True),
	("inactive", "Inactive", True, False),
	("suspended", "Suspended", True, False),
	("terminated", "Terminated", True, False),
)


def keep_until_teardown(key: str, value: dict) -> None:
	"""Keep ``value`` until teardown, in the database (global defaults): setup's own steps clear
	Frappe's cache."""
	frappe.defaults.set_global_default(key, json.dumps(value, default=str))  # times: "22:30:00"


def kept_for_teardown(key: str) -> dict | None:
	value = frappe.db.get_value("DefaultValue", {"parent": "__default", "defkey": key}, "defvalue")
	return json.loads(value) if value else None


def _save_settings() -> None:
	"""What setup changes, kept until teardown puts it back."""
	sms = frappe.get_doc("SMS Settings")
	keep_until_teardown(
		SAVED_KEY,
		{
			"tuktuk": {
				field: frappe.db.get_single_value("TukTuk Settings", field) for field in SETTINGS_CHANGED
			},
			"sms": {field: sms.get(field) for field in SMS_FIELDS},
			"parameters": [
				{"parameter": row.parameter, "value": row.value, "header": row.header}
				for row in sms.get("parameters")
			],
		},
	)


def _restore_settings() -> None:
	saved = kept_for_teardown(SAVED_KEY)
	if not saved:
		return
	frappe.db.set_single_value("TukTuk Settings", saved["tuktuk"])
	sms = frappe.get_doc("SMS Settings")
	sms.update(saved["sms"])
	sms.set("parameters", saved["parameters"])
	sms.flags.ignore_mandatory = True  # a site that had no gateway URL gets none back
	sms.save(ignore_permissions=True)
	frappe.defaults.clear_default(SAVED_KEY)


def _sms_settings(gateway_url: str) -> None:
	settings = frappe.get_doc("SMS Settings")
	settings.sms_gateway_url = gateway_url
	settings.message_parameter = "message"
	settings.receiver_parameter = "to"
	settings.use_post = 1
	settings.set(
		"parameters",
		[
			{"parameter": "username", "value": "sandbox", "header": 0},
			{"parameter": "apiKey", "value": API_KEY, "header": 1},
			{"parameter": "Accept", "value": "application/json", "header": 1},
		],
	)
	settings.save(ignore_permissions=True)


def setup(gateway_url: str) -> None:
	teardown()
	user = frappe.get_doc(
		{
			"doctype": "User",
			"email": MANAGER,
			"first_name": "broadcast-manager",
			"send_welcome_email": 0,
			"new_password": PASSWORD,
			"roles": [{"role": roles.MANAGER}],
		}
	)
	user.flags.ignore_password_policy = True
	user.insert(ignore_permissions=True)
	_save_settings()
	if not frappe.db.get_single_value("System Settings", "setup_complete"):
		frappe.db.set_single_value("System Settings", "setup_complete", 1)
	_sms_settings(gateway_url)
	frappe.db.set_single_value(
		"TukTuk Settings",
		{
			"sms_enabled": 1,
			"sms_quiet_hours_start": "00:00",
			"sms_quiet_hours_end": "00:00",  # equal: no quiet hours, whatever the time of the check
			"sms_daily_cap": 0,
			"sms_phone_plus": 1,
		},
	)
	drivers, phones, targeted = [], {}, []
	for number, (key, status, with_vehicle, opted_out) in enumerate(DRIVERS):
		vehicle = make_vehicle(tuktuk_id=f"{MARK}-{key}".upper()).name if with_vehicle else None
		phone = f"25471155{number:04d}"
		driver = make_driver(
			vehicle, driver_name=f"{MARK} {key}", mpesa_number=phone, sms_opt_out=int(opted_out)
		)
		if status != "Active":  # the lifecycle sets it; the check only needs the status
			frappe.db.set_value("TukTuk Driver", driver.name, "status", status)
		drivers.append(driver.name)
		phones[driver.name] = f"+{phone}"
		if status == "Active" and not opted_out:
			targeted.append(driver.name)
	frappe.db.commit()
	listed_reach = messages.broadcast_recipients(frappe.db, drivers=drivers)
	assert sorted(listed_reach) == sorted(targeted), (listed_reach, targeted)
	print(
		json.dumps(
			{
				"password": PASSWORD,
				"manager_user": MANAGER,
				"drivers": drivers,
				"targeted": sorted(targeted),
				"phones": phones,
				"api_key": API_KEY,
			}
		)
	)


def verify() -> None:
	drivers = frappe.get_all("TukTuk Driver", filters={"driver_name": ("like", f"{MARK}%")}, pluck="name")
	rows = frappe.get_all(
		"TukTuk Message",
		filters={"driver": ("in", drivers or ["-"]), "kind": "Broadcast"},
		fields=["driver", "status", "phone", "idempotency_key", "text", "attempts"],
		order_by="driver",
	)
	print(json.dumps([{key: str(value) for key, value in row.items()} for row in rows]))


def teardown() -> None:
	drivers = frappe.get_all("TukTuk Driver", filters={"driver_name": ("like", f"{MARK}%")}, pluck="name")
	if drivers:
		frappe.db.sql("delete from `tabTukTuk Message` where driver in %s", (drivers,))
		frappe.db.sql("delete from `tabTukTuk Ledger Entry` where party in %s", (drivers,))
		frappe.db.sql("delete from `tabTukTuk Driver` where name in %s", (drivers,))
	frappe.db.sql("delete from `tabTukTuk Vehicle` where name like %s", (f"{MARK}%",))
	if frappe.db.exists("User", MANAGER):
		frappe.delete_doc("User", MANAGER, ignore_permissions=True, force=True)
	_restore_settings()
	frappe.db.commit()
