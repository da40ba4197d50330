"""Bench commands for upgrading a site from the original app and re-registering its URLs."""

from __future__ import annotations

import json
import sys

import click

from frappe.commands import get_site, pass_context

C2B_METHODS = {
	"ConfirmationURL": "tuktuk_management.api.c2b.confirmation",
	"ValidationURL": "tuktuk_management.api.c2b.validation",
}


@click.command("tuktuk-upgrade-check")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the plan as JSON.")
@pass_context
def tuktuk_upgrade_check(context, as_json: bool = False):
	"""List what upgrading this site from the original app will do and what blocks it.

	Read-only; run it before `bench migrate`. Exit codes: 0 ready (or nothing to upgrade),
	1 blockers found, 2 error.
	"""
	import frappe

	from tuktuk_management.legacy.plan import read_plan
	from tuktuk_management.legacy.report import format_plan

	code = 2
	try:
		frappe.init(site=get_site(context))
		frappe.connect()
		plan = read_plan(frappe.db)
		frappe.db.rollback()
		click.echo(json.dumps(plan.as_dict(), indent=1, default=str) if as_json else format_plan(plan))
		code = 1 if plan.blockers else 0
	except Exception as exc:
		click.secho(f"tuktuk-upgrade-check failed: {type(exc).__name__}: {exc}", fg="red", err=True)
	finally:
		frappe.destroy()
	sys.exit(code)


@click.command("tuktuk-register-urls")
@click.option("--dry-run", is_flag=True, default=False, help="Print the request instead of sending it.")
@click.option("--site-url", default=None, help="Public https URL of the site (default: the site's URL).")
@click.option(
	"--response-type",
	type=click.Choice(["Completed", "Cancelled"]),
	default="Completed",
	help="What M-Pesa does when the validation URL cannot be reached.",
)
@pass_context
def tuktuk_register_urls(
	context, dry_run: bool = False, site_url: str | None = None, response_type: str = "Completed"
):
	"""Register the tokenised C2B confirmation and validation URLs for the paybill with Daraja
	(C2B Register URL API). Exit codes: 0 registered (or dry run), 1 refused by Daraja, 2 error."""
	import frappe

	code = 2
	try:
		frappe.init(site=get_site(context))
		frappe.connect()
		request = registration_request(site_url, response_type)
		shown = {**request, **{key: _masked(request[key]) for key in C2B_METHODS}}
		if dry_run:
			click.echo("Dry run: this would be sent to Daraja's C2B Register URL API:")
			click.echo(json.dumps(shown, indent=1))
			code = 0
		else:
			code = _register(request, shown)
	except Exception as exc:
		click.secho(f"tuktuk-register-urls failed: {type(exc).__name__}: {exc}", fg="red", err=True)
	finally:
		frappe.destroy()
	sys.exit(code)


def registration_request(site_url: str | None, response_type: str) -> dict:
	"""``{ShortCode, ResponseType, ConfirmationURL, ValidationURL}`` from TukTuk Settings."""
	from urllib.parse import quote

	import frappe
	from frappe.utils import get_url

	settings = frappe.get_single("TukTuk Settings")
	token = settings.get_password("callback_token", raise_exception=False)
	if not token:
		raise ValueError("TukTuk Settings has no callback_token")
	if not settings.mpesa_paybill:
		raise ValueError("TukTuk Settings has no mpesa_paybill")
	base = (site_url or get_url()).rstrip("/")
	urls = {
		key: f"{base}/api/method/{method}?token={quote(token, safe='')}"
		for key, method in C2B_METHODS.items()
	}
	return {"ShortCode": settings.mpesa_paybill, "ResponseType": response_type, **urls}


def _register(request: dict, shown: dict) -> int:
	import frappe

	from tuktuk_management.daraja.client import DarajaClient, DarajaConfig, DarajaRejected

	settings = frappe.get_single("TukTuk Settings")
	key = settings.get_password("daraja_consumer_key", raise_exception=False)
	secret = settings.get_password("daraja_consumer_secret", raise_exception=False)
	if not key or not secret:
		raise ValueError("TukTuk Settings has no Daraja consumer key/secret")
	client = DarajaClient(
		DarajaConfig(
			consumer_key=key,
			consumer_secret=secret,
			environment=settings.daraja_environment or "Sandbox",
			base_url=frappe.conf.get("tuktuk_daraja_base_url") or "",
		)
	)
	click.echo(json.dumps(shown, indent=1))
	try:
		reply = client.register_c2b_urls(
			shortcode=request["ShortCode"],
			confirmation_url=request["ConfirmationURL"],
			validation_url=request["ValidationURL"],
			response_type=request["ResponseType"],
		)
	except DarajaRejected as exc:
		click.secho(f"Daraja refused the registration: {exc}", fg="red", err=True)
		return 1
	click.echo(f"Registered: {json.dumps(reply)}")
	return 0


def _masked(url: str) -> str:
	"""The URL with its token shortened to its last four characters."""
	head, _, token = url.partition("?token=")
	return f"{head}?token=...{token[-4:]}" if token else url
