"""Probe a running bench over HTTP as driver A for driver B's rows (see scripts/http_row_probe.sh).

Every method Frappe whitelists (listed by ``tuktuk_management.tests.http_probe.read_methods``)
that reads, plus the REST routes, is called as driver A with driver B's DocTypes, names and
filters. An answer leaks when it holds one of B's markers (a name, TransID or amount only B's
rows have) that the request did not carry, or when it changes after B gets more rows while two
identical calls before gave the same answer (counts, sums, anything derived). Writes nothing but
``--out`` (a JSON report) and a table on stdout; exits 1 if any call leaked.

    python http_row_probe.py --base http://127.0.0.1:8016 --host SITE --setup setup.json \
        --methods methods.json --grow-command "bench --site SITE execute ...grow" --out report.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter

import requests

PASSWORD = "Tuktuk-Http-Check-1"
DRIVER_A = "http-driver@example.com"
DRIVER_B = "http-driver2@example.com"
DOCTYPES = (
	"TukTuk Driver",
	"TukTuk Transaction",
	"TukTuk Payout",
	"TukTuk Ledger Entry",
	"TukTuk Daily Close",
	"TukTuk Credit Note",
	"TukTuk Journal",
	"TukTuk Journal Line",
	"TukTuk Callback Log",
	"TukTuk Reconciliation Run",
	"TukTuk Reconciliation Discrepancy",
	"TukTuk Refused Call Summary",
)
DRIVER_FIELD = {"TukTuk Driver": "name", "TukTuk Ledger Entry": "party"}
PARENT = {
	"TukTuk Journal Line": "TukTuk Journal",
	"TukTuk Reconciliation Discrepancy": "TukTuk Reconciliation Run",
}
REPORTS = (
	"Driver Statement",
	"Daily Collections",
	"Payout Monitor",
	"Unallocated Payments",
	"Balance Reconciliation",
)
CHARTS = ("TukTuk Daily Collections", "TukTuk Payouts by Status", "TukTuk Target Attainment")
NUMBER_CARDS = ("TukTuk Unallocated Payments", "TukTuk Collections Today", "TukTuk Drivers on Target")
DOCTYPE_PARAMS = {
	"doctype",
	"dt",
	"ref_doctype",
	"reference_doctype",
	"document_type",
	"parenttype",
	"parent_doctype",
	"doctype_name",
	"link_doctype",
}
NAME_PARAMS = {"name", "docname", "dn", "reference_name", "doc_name", "document_name", "docnames", "names"}
# Names of functions that change something: not called (a refused write is not a read leak, and
# a write that is not refused would alter the site). The app's own write methods are checked by
# scripts/http_role_check.sh.
WRITE_WORDS = re.compile(
	r"^(set|save|insert|delete|cancel|submit|rename|update|create|add|remove|clear|make|reset|bulk|attach|"
	r"upload|send|import|assign|follow|unfollow|like|toggle|mark|apply|post|enqueue|execute|logout|login|"
	r"sign|switch|install|uninstall|setup|sync|deactivate|activate|approve|reject|discard|restore|revert|"
	r"retry|allocate|close|reconcile|fix|new|amend|move|copy|duplicate|merge|edit|write|publish|"
	r"unpublish|subscribe|unsubscribe|accept|drop|start|stop|pause|resume|trigger|run_doc_method|savedocs|"
	r"email|dismiss|hide|unhide|pin|unpin|block|unblock|change|store|handle|process|backup|verify|"
	r"generate|schedule|cancel_|complete|authorize|approve|confirm|register|deregister|renew|reload|"
	r"rebuild|build|migrate|notify|invite|share|unshare|extend|take|claim|release|lock|unlock|"
	r"submit_|validate_password|update_password|upload_file|remove_|delete_|capture|callback|webhook|"
	r"mpesa_|fix_|retry_|cancel_payout|timeout|result|confirmation|validation)",
	re.IGNORECASE,
)
# Whole areas with nothing of the app's rows to read, or with side effects on any call.
SKIP_MODULES = (
	"frappe.integrations.oauth2",
	"frappe.auth",
	"frappe.sessions",
	"frappe.twofactor",
	"frappe.utils.backups",
	"frappe.desk.page.backups",
	"frappe.core.doctype.data_import",
	"frappe.core.doctype.recorder",
	"frappe.recorder",
	"frappe.website.doctype.web_form",
	"frappe.email.queue",
	"frappe.realtime",
	"frappe.handler",
	"frappe.www.login",
	"frappe.core.doctype.user.user",
	"frappe.core.doctype.system_settings",
	"frappe.desk.page.setup_wizard",
	"frappe.integrations.doctype",
	"frappe.email.doctype.email_account",
	"frappe.core.doctype.rq_job",
	"frappe.core.doctype.rq_worker",
	"frappe.utils.change_log",
	"frappe.desk.doctype.system_health_report",
	"frappe.core.doctype.scheduled_job_type",
	# Daraja callbacks (guest, store what they receive): the original app's aliases.
	"tuktuk_management.api.sendpay",
	"tuktuk_management.api.tuktuk.payment_",
)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")
VOLATILE = re.compile(
	r'"(csrf_token|_server_messages|server_time|__timestamp|time|timestamp|_debug_messages)"\s*:\s*"[^"]*"'
)


def driver_filter(doctype: str, driver_b: str) -> dict:
	return {DRIVER_FIELD.get(doctype, "driver"): driver_b}


def b_name(doctype: str, setup: dict) -> str:
	"""One of B's rows of ``doctype`` (or B's driver when B has none there)."""
	by_doctype = setup["b_rows"]
	return (by_doctype.get(doctype) or [setup["drivers"]["other_driver"]])[0]


def parameter_sets(method: dict, setup: dict) -> list[dict]:
	"""The argument sets to call ``method`` with, each aimed at driver B's data."""
	names = {p["name"] for p in method["parameters"]}
	driver_b = setup["drivers"]["other_driver"]
	doctypes = DOCTYPES if names & DOCTYPE_PARAMS else (None,)
	sets = []
	for doctype in doctypes:
		base = {}
		for parameter in method["parameters"]:
			name = parameter["name"]
			value = guess(name, doctype, setup, driver_b)
			if value is None and parameter["required"]:
				value = "x"
			if value is not None:
				base[name] = value
		variants = [base]
		filter_names = names & {"filters", "current_filters"}
		if doctype and filter_names:
			# The desk sends filters as a list of [doctype, field, operator, value].
			as_list = json.dumps([[doctype, DRIVER_FIELD.get(doctype, "driver"), "=", driver_b]])
			variants.append({**base, **{name: as_list for name in filter_names}})
		if "field" in names and "current_filters" in names:
			# The list sidebar's "Assigned To" and "Created By" counts.
			variants += [{**v, "field": field} for v in list(variants) for field in ("assigned_to", "owner")]
		if doctype and "fields" in names:
			variants.append({**base, "fields": json.dumps(["count(*) as total"])})
		if "report_name" in names:
			variants = [{**base, "report_name": r} for r in REPORTS]
		elif "chart_name" in names:
			# No filters argument: a named chart uses its own, a chart definition its filters_json.
			# no_cache: Frappe computes a chart definition from the request only then.
			chart_base = {**{k: v for k, v in base.items() if k != "filters"}, "no_cache": 1}
			variants = [{**chart_base, "chart_name": c} for c in CHARTS]
			variants += [{**chart_base, "chart": json.dumps(chart)} for chart in custom_charts(driver_b)]
		elif method["path"].endswith("number_card.get_result"):
			variants = [
				{
					"doc": json.dumps(card),
					"filters": json.dumps([[card["document_type"], *f] for f in card_filters]),
				}
				for card, card_filters in custom_cards(driver_b)
			]
		elif method["path"].endswith(("number_card.get_percentage_difference",)):
			variants = [
				{**base, "doc": json.dumps({"name": c}), "filters": "[]", "result": "0"} for c in NUMBER_CARDS
			]
		sets.extend(variants)
	return sets


def guess(name: str, doctype: str | None, setup: dict, driver_b: str):
	"""A value for parameter ``name`` that asks for driver B's rows of ``doctype``."""
	if name in DOCTYPE_PARAMS:
		return doctype
	if name in ("parent",) and doctype in PARENT:
		return PARENT[doctype]
	if name in NAME_PARAMS:
		row = b_name(doctype, setup) if doctype else driver_b
		return json.dumps([row]) if name.endswith("names") else row
	if name in ("filters", "current_filters", "or_filters") and doctype:
		return json.dumps(driver_filter(doctype, driver_b))
	if name == "filters":
		return json.dumps({"driver": driver_b})
	if name in ("fields", "fieldname") and doctype:
		return json.dumps(["*"]) if name == "fields" else "name"
	if name == "field":
		return DRIVER_FIELD.get(doctype or "", "driver")
	if name == "stats":
		return json.dumps(["driver", "party", "status", "payment_status", "owner", "_user_tags"])
	if name in ("txt", "search_text", "search_term", "text"):
		return ""
	if name == "ignore_user_permissions":
		return 1
	if name in ("limit", "page_length", "limit_page_length", "page_len"):
		return 500
	if name in ("start", "limit_start"):
		return 0
	if name == "as_dict":
		return 1
	if name == "user":
		return DRIVER_B
	if name == "doc" and doctype:
		return json.dumps({"doctype": doctype, "name": b_name(doctype, setup)})
	if name == "file_format_type":
		return "CSV"
	if name == "driver":
		return driver_b
	return None


def custom_charts(driver_b: str) -> list[dict]:
	"""Chart definitions a request may carry, each over B's transactions."""
	base = {
		"document_type": "TukTuk Transaction",
		"based_on": "timestamp",
		"value_based_on": "amount",
		"timespan": "Last Year",
		"time_interval": "Daily",
		"filters_json": json.dumps([["TukTuk Transaction", "driver", "=", driver_b, False]]),
	}
	return [
		{**base, "name": "probe-sum", "chart_type": "Sum", "type": "Line"},
		{**base, "name": "probe-count", "chart_type": "Count", "type": "Bar"},
		{**base, "name": "probe-heatmap", "chart_type": "Sum", "type": "Heatmap"},
		{
			**base,
			"name": "probe-group",
			"chart_type": "Group By",
			"type": "Donut",
			"group_by_type": "Count",
			"group_by_based_on": "driver",
		},
	]


def custom_cards(driver_b: str) -> list[tuple[dict, list]]:
	cards = []
	for doctype in ("TukTuk Transaction", "TukTuk Payout", "TukTuk Ledger Entry", "TukTuk Driver"):
		column = DRIVER_FIELD.get(doctype, "driver")
		cards.append(
			({"document_type": doctype, "function": "Count", "name": "probe"}, [[column, "=", driver_b]])
		)
	cards.append(
		(
			{
				"document_type": "TukTuk Transaction",
				"function": "Sum",
				"aggregate_function_based_on": "amount",
			},
			[["driver", "=", driver_b]],
		)
	)
	return cards


FORM_DICT_METHODS = (
	"frappe.desk.reportview.get",
	"frappe.desk.reportview.get_list",
	"frappe.desk.reportview.get_count",
	"frappe.desk.reportview.export_query",
)


def form_dict_calls(setup: dict) -> list[tuple[str, str, dict]]:
	"""Methods that read their arguments from the request's form dict (no parameters): the list
	view, report view, its count and its export, each with B's filters, plain and aggregated."""
	driver_b = setup["drivers"]["other_driver"]
	calls = []
	for doctype in DOCTYPES:
		column = DRIVER_FIELD.get(doctype, "driver")
		filters = json.dumps([[doctype, column, "=", driver_b]])
		plain = {
			"doctype": doctype,
			"fields": json.dumps([f"`tab{doctype}`.`name`", f"`tab{doctype}`.`{column}`"]),
		}
		grouped = {
			"doctype": doctype,
			"fields": json.dumps([f"`tab{doctype}`.`{column}`", "count(*) as total"]),
			"group_by": f"`tab{doctype}`.`{column}`",
		}
		for path in FORM_DICT_METHODS:
			for params in (plain, grouped):
				extra = {"file_format_type": "CSV", "title": "probe"} if path.endswith("export_query") else {}
				calls.append(("POST", f"/api/method/{path}", {**params, "filters": filters, **extra}))
				calls.append(("POST", f"/api/method/{path}", {**params, **extra}))
	return calls


def rest_calls(setup: dict) -> list[tuple[str, str, dict]]:
	"""The REST routes: (HTTP method, path, query) aimed at B's rows."""
	driver_b = setup["drivers"]["other_driver"]
	calls = []
	for doctype in DOCTYPES:
		filters = json.dumps(driver_filter(doctype, driver_b))
		name = b_name(doctype, setup)
		calls += [
			(
				"GET",
				f"/api/resource/{doctype}",
				{"filters": filters, "fields": '["*"]', "limit_page_length": 500},
			),
			("GET", f"/api/resource/{doctype}/{name}", {}),
			("GET", f"/api/v2/document/{doctype}", {"filters": filters, "fields": '["*"]', "limit": 500}),
			("GET", f"/api/v2/document/{doctype}/{name}/", {}),
			("GET", f"/api/v2/doctype/{doctype}/count", {"filters": filters}),
			("GET", "/printview", {"doctype": doctype, "name": name}),
			("GET", f"/app/{doctype.lower().replace(' ', '-')}/{name}", {}),
		]
	return calls


def found(marker: str, text: str) -> bool:
	"""``marker`` in ``text`` as a whole token (an amount may carry decimals: 73117.0)."""
	return re.search(rf"(?<![0-9A-Za-z]){re.escape(marker)}(\.0+)?(?![0-9A-Za-z])", text) is not None


def normalise(text: str) -> str:
	return TIMESTAMP.sub("<ts>", VOLATILE.sub("", text))


def classify(status: int, body: str) -> str:
	if status in (401, 403):
		return "refused"
	if status == 417 or status >= 400:
		exc = ""
		try:
			exc = json.loads(body).get("exc_type", "")
		except (ValueError, AttributeError):
			pass
		return "refused" if exc in ("PermissionError", "SessionExpired") else f"error {status} {exc}".strip()
	return "answered"


class Probe:
	def __init__(self, base: str, host: str):
		self.base, self.session = base.rstrip("/"), requests.Session()
		self.session.headers.update({"Host": host, "Accept": "application/json"})

	def login(self, user: str) -> None:
		reply = self.session.post(
			f"{self.base}/api/method/login", data={"usr": user, "pwd": PASSWORD}, timeout=60
		)
		reply.raise_for_status()
		self.session.headers["X-Frappe-CSRF-Token"] = self.csrf()

	def csrf(self) -> str:
		page = self.session.get(f"{self.base}/app", timeout=60).text
		found = re.search(r'csrf_token\s*=\s*"([^"]+)"', page)
		return found.group(1) if found else ""

	def call(self, http_method: str, path: str, params: dict) -> tuple[int, str]:
		try:
			if http_method == "GET":
				reply = self.session.get(f"{self.base}{path}", params=params, timeout=60)
			else:
				reply = self.session.post(f"{self.base}{path}", data=params, timeout=60)
		except requests.RequestException as exc:
			return 0, f"request failed: {exc}"
		return reply.status_code, reply.text


def main() -> int:
	parser = argparse.ArgumentParser()
	parser.add_argument("--base", required=True)
	parser.add_argument("--host", required=True)
	parser.add_argument("--setup", required=True)
	parser.add_argument("--methods", required=True)
	parser.add_argument("--grow-command", required=True)
	parser.add_argument("--out", required=True)
	args = parser.parse_args()
	setup = json.load(open(args.setup))
	methods = json.load(open(args.methods))

	calls = []  # (label, http method, path, params)
	skipped = Counter()
	for method in methods:
		function = method["path"].rsplit(".", 1)[-1]
		if method["path"].startswith(SKIP_MODULES):
			skipped["module with side effects or nothing to read"] += 1
			continue
		if method["path"] in FORM_DICT_METHODS:
			continue  # called by form_dict_calls with real arguments
		if WRITE_WORDS.match(function):
			skipped["writes (name)"] += 1
			continue
		http_method = "GET" if "GET" in method["http_methods"] else "POST"
		for params in parameter_sets(method, setup):
			calls.append((method["path"], http_method, f"/api/method/{method['path']}", params))
	calls += [
		(path.removeprefix("/api/method/"), verb, path, params)
		for verb, path, params in form_dict_calls(setup)
	]
	calls += [(path, verb, path, params) for verb, path, params in rest_calls(setup)]

	probe = Probe(args.base, args.host)
	probe.login(DRIVER_A)
	markers = set(setup["markers"])
	own = set(setup["own_markers"])

	def run_round():
		return [probe.call(verb, path, params) for _label, verb, path, params in calls]

	first, again = run_round(), run_round()
	grown = json.loads(
		subprocess.run(args.grow_command, shell=True, capture_output=True, text=True, check=True)
		.stdout.strip()
		.splitlines()[-1]
	)
	markers |= set(grown)
	after = run_round()

	rows, verdicts = [], Counter()
	for (label, verb, path, params), (s1, b1), (s2, b2), (s3, b3) in zip(
		calls, first, again, after, strict=True
	):
		request_text = json.dumps(params) + path
		hits = sorted(
			m for m in markers - own if m not in request_text and any(found(m, b) for b in (b1, b2, b3))
		)
		kind = classify(s3, b3)
		stable = (s1, normalise(b1)) == (s2, normalise(b2))
		changed = stable and (s1, normalise(b1)) != (s3, normalise(b3))
		if hits:
			verdict = "LEAK (B's rows in answer)"
		elif changed:
			verdict = "LEAK (answer follows B's rows)"
		elif kind == "answered":
			verdict = "answered, nothing of B" + ("" if stable else " (answer varies between calls)")
		else:
			verdict = kind
		verdicts[verdict.split(" (")[0] if verdict.startswith("answered") else verdict] += 1
		rows.append(
			{
				"route": label,
				"http": verb,
				"path": path,
				"params": params,
				"status": s3,
				"verdict": verdict,
				"markers": hits,
				"answer": b3[:300],
			}
		)
	json.dump(
		{"calls": rows, "skipped": skipped, "verdicts": verdicts, "methods": len(methods)},
		open(args.out, "w"),
		indent=1,
	)
	for row in rows:
		print(
			f"{row['verdict'][:34]:34} {row['status']:>3} {row['http']:4} {row['route']} {json.dumps(row['params'])[:150]}"
		)
	print(f"\n{len(methods)} whitelisted methods listed; skipped {dict(skipped)}")
	print(f"{len(calls)} calls per round, 3 rounds: {dict(verdicts)}")
	leaks = [row for row in rows if row["verdict"].startswith("LEAK")]
	print(f"leaks: {len(leaks)}")
	return 1 if leaks else 0


if __name__ == "__main__":
	sys.exit(main())
