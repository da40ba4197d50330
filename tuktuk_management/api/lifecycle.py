"""Onboarding and leaving, for managers: the driver form's Create User, Terminate and Reinstate.

    POST /api/method/tuktuk_management.api.lifecycle.create_driver_user   {"driver", "email"}
    POST /api/method/tuktuk_management.api.lifecycle.preview_termination  {"driver"}
    POST /api/method/tuktuk_management.api.lifecycle.terminate_driver     {"driver", "reason"}
    POST /api/method/tuktuk_management.api.lifecycle.reinstate_driver     {"driver"}

Roles: TukTuk Manager and System Manager (``roles.MONEY_MOVERS``). Each call is one transaction
(Frappe commits when it returns, rolls back on error). The money rules live in
``ledger/termination.py``; this layer disables or re-enables the driver's User in the same
transaction and enqueues the final payout's send job after commit.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.sessions import clear_sessions
from frappe.utils import now_datetime, validate_email_address

from tuktuk_management import roles
from tuktuk_management.alerts import outgoing_email_account
from tuktuk_management.ledger import doctypes, termination
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tasks import enqueue_payout_job

DRIVER_DOCTYPE = doctypes.DRIVER
# A linked User with one of these roles is a staff account: termination leaves it enabled.
STAFF_ROLES = (*roles.DESK_READERS, "Administrator")


@frappe.whitelist(methods=["POST"])
def create_driver_user(driver: str, email: str) -> dict:
	"""Create the driver's User (role TukTuk Driver, portal only), link it on the driver and send
	Frappe's welcome email (a link to set the password) through the Email Queue.

	Idempotent: a driver who already has a User gets ``{"created": False, "user", "message"}`` and
	nothing changes. Returns ``{"created": True, "user", "message"}``. Errors: unknown driver,
	an invalid email, an email that already belongs to a User.
	"""
	frappe.only_for(roles.MONEY_MOVERS)
	row = frappe.db.get_value(
		DRIVER_DOCTYPE, driver, ["name", "driver_name", "user"], as_dict=True, for_update=True
	)
	if not row:
		frappe.throw(_("Driver {0} does not exist.").format(driver), frappe.DoesNotExistError)
	if row.user:
		return {
			"created": False,
			"user": row.user,
			"message": _("Driver {0} already has a user: {1}.").format(row.name, row.user),
		}
	address = (email or "").strip().lower()
	if not address or not validate_email_address(address):
		frappe.throw(_("Enter a valid email address for the driver's login."), title=_("Invalid Email"))
	if frappe.db.exists("User", address):
		frappe.throw(
			_("A user with the email {0} already exists. Link it in the driver's User field instead.").format(
				address
			),
			title=_("User Exists"),
		)
	first_name, _space, last_name = (row.driver_name or row.name).partition(" ")
	user = frappe.get_doc(
		{
			"doctype": "User",
			"email": address,
			"first_name": first_name,
			"last_name": last_name,
			"send_welcome_email": 1,
			"roles": [{"role": roles.DRIVER}],
		}
	)
	user.insert(ignore_permissions=True)
	frappe.db.set_value(DRIVER_DOCTYPE, row.name, "user", user.name)
	if outgoing_email_account():
		message = _("User {0} created for driver {1}; the welcome email is on its way.")
	else:
		message = _(
			"User {0} created for driver {1}, but no welcome email was sent: set up an outgoing "
			"Email Account, then use Reset Password on the user."
		)
	return {"created": True, "user": user.name, "message": message.format(user.name, row.name)}


@frappe.whitelist(methods=["POST"])
def preview_termination(driver: str) -> dict:
	"""What Terminate would do now (nothing is written): the final close's outcome, the settlement
	(``deposit_kes``, ``payable_kes``, ``in_flight_kes``, ``refund_kes``, ``payout_kes``), the
	payouts it replaces, the vehicle to free, the user to disable and the deposit's history with
	its deductions (see ``ledger.termination.preview_termination``)."""
	frappe.only_for(roles.MONEY_MOVERS)
	reply = _call(
		lambda: termination.preview_termination(
			frappe.db, driver, settings=load_settings(frappe.db), now=now_datetime(), user=frappe.session.user
		)
	)
	reply["user_action"] = _user_action(reply.get("user"), enable=False)
	return reply


@frappe.whitelist(methods=["POST"])
def terminate_driver(driver: str, reason: str) -> dict:
	"""Terminate ``driver`` in one transaction (``ledger.termination.terminate_driver``), disable
	their User, and send the final payout after commit. A second call changes nothing and returns
	status ``Already Terminated``. Returns the result with ``user_action`` and ``message``."""
	frappe.only_for(roles.MONEY_MOVERS)
	return terminate(driver, reason)


@frappe.whitelist(methods=["POST"])
def reinstate_driver(driver: str) -> dict:
	"""Set a Terminated driver Inactive (activation then follows the deposit rules) and re-enable
	their User; the termination stays on record. Refused unless the driver is Terminated."""
	frappe.only_for(roles.MONEY_MOVERS)
	reply = _call(
		lambda: run_with_retry(
			lambda: termination.reinstate_driver(
				frappe.db, driver, now=now_datetime(), user=frappe.session.user
			),
			rollback=frappe.db.rollback,
		)
	)
	reply["user_action"] = _set_user_enabled(reply.get("user"), enable=True)
	reply["message"] = _("Driver {0} is Inactive again. {1}").format(driver, reply["user_action"])
	return reply


def terminate(driver: str, reason: str) -> dict:
	"""The work of :func:`terminate_driver` without the role check (console alias). No commit."""
	settings = load_settings(frappe.db)
	now, user = now_datetime(), frappe.session.user
	result = _call(
		lambda: run_with_retry(
			lambda: termination.terminate_driver(
				frappe.db, driver, reason=reason, settings=settings, now=now, user=user
			),
			rollback=frappe.db.rollback,
		)
	)
	reply = result.as_dict()
	if result.status == termination.ALREADY_TERMINATED:
		reply["user_action"] = ""
		reply["message"] = _("Driver {0} is already terminated ({1}); nothing changed.").format(
			driver, result.termination
		)
		return reply
	reply["user_action"] = _set_user_enabled(result.user, enable=False)
	if result.payout:
		enqueue_payout_job(
			result.payout, manual=True
		)  # a manager's action: sent even if instant payouts are off
	reply["message"] = _("Driver {0} is terminated. Final payout: {1} KES. {2}").format(
		driver, result.settlement.payout_kes if result.settlement else 0, reply["user_action"]
	)
	return reply


def _user_action(user: str | None, *, enable: bool) -> str:
	"""What :func:`_set_user_enabled` will do, in words (for the preview)."""
	if not user:
		return _("The driver has no user.")
	if not enable and _is_staff(user):
		return _("User {0} has staff roles and stays enabled.").format(user)
	return (_("User {0} will be enabled.") if enable else _("User {0} will be disabled.")).format(user)


def _set_user_enabled(user: str | None, *, enable: bool) -> str:
	"""Enable or disable the driver's User (a staff account is never disabled); the action in words.

	Disabling logs the user out of every session (Frappe's User controller) and refuses every
	later login ("User disabled or missing")."""
	if not user or not frappe.db.exists("User", user):
		return _("The driver has no user.")
	if not enable and _is_staff(user):
		return _("User {0} has staff roles and stays enabled.").format(user)
	doc = frappe.get_doc("User", user)
	if bool(doc.enabled) != enable:
		if frappe.db.exists("Notification Settings", user):
			# User.validate saves the user's Notification Settings to match ``enabled`` with the
			# caller's permissions, which a manager lacks; set it first, so that save is not needed.
			frappe.db.set_value("Notification Settings", user, "enabled", 1 if enable else 0)
		doc.enabled = 1 if enable else 0
		doc.save(ignore_permissions=True)
		if not enable:  # out of every session now (in a request, User.validate has done it already)
			clear_sessions(user=user, force=True)
	return (_("User {0} is enabled.") if enable else _("User {0} is disabled.")).format(user)


def _is_staff(user: str) -> bool:
	return user in ("Administrator", "Guest") or bool(set(frappe.get_roles(user)) & set(STAFF_ROLES))


def _call(function):
	try:
		return function()
	except termination.DriverNotFound as exc:
		frappe.throw(str(exc), exc=frappe.DoesNotExistError, title=_("Not found"))
	except termination.TerminationRefused as exc:
		frappe.throw(str(exc), title=_("Termination not possible"))
