"""Driver A asks for driver B over HTTP in every way the portal and its data calls allow.

Logs in as driver A (``http-driver@example.com``) on a running bench and requests the portal page
with every parameter that could name a driver (``?driver=B``, ``?name=B``, the user, a POSTed
form, Frappe's ``cmd`` in the page's form_dict), the whitelisted method that serves a driver's
statement, Frappe's generic reads (``frappe.client.get/get_list/get_value/get_count``,
``frappe.desk.reportview.get``, ``frappe.desk.form.load.getdoc``), the REST routes, the Driver
Statement report (``frappe.desk.query_report.run``), the print and PDF routes and the desk form.
Every answer is searched for what identifies B (B's Sunny ID, B's name, B's balance figures, B's
row names, TransIDs and amounts) that the request itself did not carry. Prints one line per
route (verdict, HTTP status, route, parameters), writes ``--out`` (JSON) and exits 1 if any
answer leaked.

Filter oracles: the same request twice, filtering B's row on B's real figure and on that figure
plus one (``{"name": B, "current_balance": <B's balance>}``); an answer that differs between the
two (status, error type or body) tells A whether the filter matched, i.e. B's figure, and leaks.

The control: the same page and the statement method as driver B must show B's markers (the
search can find them), and driver A's plain page must show A's own Sunny ID.

    python http_portal_probe.py --base http://127.0.0.1:8005 --host SITE --setup setup.json --out out.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import requests

PASSWORD = "Tuktuk-Http-Check-1"
DRIVER_A = "http-driver@example.com"
DRIVER_B = "http-driver2@example.com"
STATEMENT = "tuktuk_management.api.dashboard.driver_statement"
DRIVER_DT = "TukTuk Driver"
B_ROW_DOCTYPES = (
	"TukTuk Transaction",
	"TukTuk Payout",
	"TukTuk Ledger Entry",
	"TukTuk Daily Close",
	"TukTuk Day Off",
	"TukTuk Withdrawal Request",
	"TukTuk Deposit Entry",
)
LIFECYCLE_DOCTYPES = ("TukTuk Day Off", "TukTuk Withdrawal Request", "TukTuk Deposit Entry")


def found(marker: str, text: str) -> bool:
	"""``marker`` in ``text`` as a whole token (an amount may carry decimals: 73117.0)."""
	return re.search(rf"(?<![0-9A-Za-z]){re.escape(marker)}(\.0+)?(?![0-9A-Za-z])", text) is not None


# Frappe renders its "Not Found" page once and serves the stored copy for later missing pages,
# with the path of the request that rendered it: `<div id="page-404" data-path="driver/<B>">` after
# A asked for /driver/<B>. That echoes a path someone asked for, nothing of B's rows: scrubbed.
PAGE_404_PATH = re.compile(r'(<div id="page-404" data-path=")[^"]*(")')


def context(marker: str, text: str) -> str:
	"""The text around the first whole-token ``marker`` (what a leak looks like)."""
	match = re.search(rf"(?<![0-9A-Za-z]){re.escape(marker)}", text)
	return text[max(0, match.start() - 160) : match.end() + 60] if match else ""


def calls(setup: dict) -> list[tuple[str, str, dict]]:
	"""(HTTP method, path, parameters): every way of naming B the portal and its data calls allow."""
	p = setup["portal"]
	b, b_user = p["driver_b"], p["user_b"]
	rows = setup["b_rows"]
	wide = {"from_date": "2020-01-01", "to_date": "2099-12-31"}
	period = {"from_date": "2026-01-01", "to_date": "2026-03-31"}
	result: list[tuple[str, str, dict]] = []
	# The portal page: every parameter a page could read to choose a driver, GET and POST.
	for path in ("/driver", "/driver/", "/driver/index", f"/driver/{b}", "/driver/requests"):
		result.append(("GET", path, {}))
	for params in (
		{"driver": b},
		{"name": b},
		{"user": b_user},
	):  # the requests page (404 until it has a kind)
		result.append(("GET", "/driver/requests", params))
		result.append(("POST", "/driver/requests", params))
	for params in (
		{"driver": b},
		{"name": b},
		{"sunny_id": b},
		{"driver_name": p["b_driver_name"]},
		{"user": b_user},
		{"party": b},
		{"doc": b},
		{"driver": b, **period},
		{"driver": b, **wide},
		{"from_date": "2020-01-01", "to_date": "2020-03-01", "name": b},
		{"filters": json.dumps({"driver": b})},
		{"cmd": "frappe.client.get", "doctype": DRIVER_DT, "name": b},
		{"cmd": STATEMENT, "driver": b},
	):
		result.append(("GET", "/driver", params))
		result.append(("POST", "/driver", params))
	# The statement method the portal's data comes from (drivers have no desk).
	for params in ({"driver": b}, {"driver": b, **wide}, {"driver": p["b_sunny_id"]}):
		result.append(("GET", f"/api/method/{STATEMENT}", params))
		result.append(("POST", f"/api/method/{STATEMENT}", params))
	# Frappe's generic reads with B's name.
	get = "/api/method/frappe.client.get"
	result += [
		("GET", get, {"doctype": DRIVER_DT, "name": b}),
		("GET", get, {"doctype": DRIVER_DT, "filters": json.dumps({"name": b})}),
		("GET", get, {"doctype": DRIVER_DT, "filters": json.dumps({"user": b_user})}),
		(
			"GET",
			"/api/method/frappe.client.get_value",
			{"doctype": DRIVER_DT, "filters": json.dumps({"name": b}), "fieldname": '["current_balance"]'},
		),
		(
			"GET",
			"/api/method/frappe.client.get_value",
			{
				"doctype": DRIVER_DT,
				"filters": b,
				"fieldname": '["sunny_id", "current_balance", "left_to_target", "payout_pending"]',
			},
		),
		(
			"GET",
			"/api/method/frappe.client.get_list",
			{"doctype": DRIVER_DT, "fields": '["name", "current_balance"]', "limit_page_length": 0},
		),
		(
			"GET",
			"/api/method/frappe.client.get_list",
			{
				"doctype": "TukTuk Transaction",
				"filters": json.dumps({"driver": b}),
				"fields": '["name", "amount", "transaction_id"]',
			},
		),
		(
			"GET",
			"/api/method/frappe.client.get_count",
			{"doctype": "TukTuk Transaction", "filters": json.dumps({"driver": b})},
		),
		("GET", "/api/method/frappe.desk.form.load.getdoc", {"doctype": DRIVER_DT, "name": b}),
		(
			"POST",
			"/api/method/frappe.desk.reportview.get",
			{"doctype": DRIVER_DT, "fields": '["name", "sunny_id", "current_balance"]'},
		),
		(
			"POST",
			"/api/method/frappe.desk.reportview.get",
			{
				"doctype": "TukTuk Transaction",
				"fields": '["name", "amount", "driver"]',
				"filters": json.dumps([["TukTuk Transaction", "driver", "=", b]]),
			},
		),
		(
			"POST",
			"/api/method/frappe.desk.reportview.get",
			{
				"doctype": "TukTuk Ledger Entry",
				"fields": '["name", "party", "credit", "debit"]',
				"filters": json.dumps([["TukTuk Ledger Entry", "party", "=", b]]),
			},
		),
	]
	# REST.
	result += [
		("GET", f"/api/resource/{DRIVER_DT}/{b}", {}),
		(
			"GET",
			f"/api/resource/{DRIVER_DT}",
			{"fields": '["name", "current_balance"]', "limit_page_length": 0},
		),
		("GET", f"/api/resource/{DRIVER_DT}", {"filters": json.dumps({"name": b}), "fields": '["*"]'}),
		(
			"GET",
			"/api/resource/TukTuk Transaction",
			{"filters": json.dumps({"driver": b}), "fields": '["name", "amount", "transaction_id"]'},
		),
		(
			"GET",
			"/api/resource/TukTuk Ledger Entry",
			{"filters": json.dumps([["party", "=", b]]), "fields": '["name", "credit", "debit"]'},
		),
		("GET", f"/api/v2/document/{DRIVER_DT}/{b}", {}),
	]
	# B's days off, withdrawal requests and deposit entries: REST, the list view's read, print.
	for doctype in LIFECYCLE_DOCTYPES:
		result += [
			("GET", f"/api/resource/{doctype}", {"filters": json.dumps({"driver": b}), "fields": '["*"]'}),
			("GET", f"/api/resource/{doctype}", {"fields": '["*"]', "limit_page_length": 0}),
			(
				"POST",
				"/api/method/frappe.desk.reportview.get",
				{"doctype": doctype, "fields": '["*"]', "filters": json.dumps([[doctype, "driver", "=", b]])},
			),
			("GET", "/api/method/frappe.client.get_list", {"doctype": doctype, "fields": '["*"]'}),
		]
		for name in rows.get(doctype, [])[:1]:
			result.append(("GET", "/printview", {"doctype": doctype, "name": name}))
			result.append(("GET", "/api/method/frappe.client.get", {"doctype": doctype, "name": name}))
	for doctype in B_ROW_DOCTYPES:
		for name in rows.get(doctype, [])[:1]:
			result.append(("GET", f"/api/resource/{doctype}/{name}", {}))
	# The Driver Statement report with B.
	report_filters = json.dumps({"driver": b, **wide})
	result += [
		(
			"POST",
			"/api/method/frappe.desk.query_report.run",
			{"report_name": "Driver Statement", "filters": report_filters},
		),
		(
			"GET",
			"/api/method/frappe.desk.query_report.run",
			{"report_name": "Driver Statement", "filters": report_filters, "ignore_prepared_report": 1},
		),
		(
			"POST",
			"/api/method/frappe.desk.query_report.export_query",
			{
				"report_name": "Driver Statement",
				"filters": report_filters,
				"file_format_type": "CSV",
				"visible_idx": "[]",
			},
		),
	]
	# Print, PDF and the desk form.
	result += [
		("GET", "/printview", {"doctype": DRIVER_DT, "name": b}),
		("GET", "/printview", {"doctype": DRIVER_DT, "name": b, "format": "Standard", "trigger_print": 1}),
		(
			"GET",
			"/api/method/frappe.www.printview.get_html_and_style",
			{"doc": DRIVER_DT, "name": b, "print_format": "Standard"},
		),
		(
			"GET",
			"/api/method/frappe.utils.print_format.download_pdf",
			{"doctype": DRIVER_DT, "name": b, "format": "Standard"},
		),
		("GET", f"/app/tuktuk-driver/{b}", {}),
	]
	for doctype in ("TukTuk Transaction", "TukTuk Payout"):
		for name in rows.get(doctype, [])[:1]:
			result.append(("GET", "/printview", {"doctype": doctype, "name": name}))
	return result


def oracle_pairs(setup: dict) -> list[tuple[str, str, str, str, str]]:
	"""(label, HTTP method, path, parameters as JSON with ``@V@`` for the figure, the true figure):
	requests that filter B's rows on one of B's figures."""
	p = setup["portal"]
	b, balance = p["driver_b"], str(p["b_figures_by_name"]["collected_kes"])
	amount = p["b_payment_amount"]
	driver_filter = json.dumps({"name": b, "current_balance": "@V@"})
	driver_list_filter = json.dumps(
		[["TukTuk Driver", "name", "=", b], ["TukTuk Driver", "current_balance", "=", "@V@"]]
	)
	payment_filter = json.dumps({"driver": b, "amount": "@V@"})
	pairs = [
		(
			"client.get",
			"GET",
			"/api/method/frappe.client.get",
			{"doctype": DRIVER_DT, "filters": driver_filter},
			balance,
		),
		(
			"client.get_value",
			"GET",
			"/api/method/frappe.client.get_value",
			{"doctype": DRIVER_DT, "filters": driver_filter, "fieldname": "name"},
			balance,
		),
		(
			"client.get_list",
			"GET",
			"/api/method/frappe.client.get_list",
			{"doctype": DRIVER_DT, "filters": driver_filter},
			balance,
		),
		(
			"client.get_count",
			"GET",
			"/api/method/frappe.client.get_count",
			{"doctype": DRIVER_DT, "filters": driver_filter},
			balance,
		),
		(
			"reportview.get",
			"POST",
			"/api/method/frappe.desk.reportview.get",
			{"doctype": DRIVER_DT, "fields": '["name"]', "filters": driver_list_filter},
			balance,
		),
		(
			"reportview.get_count",
			"POST",
			"/api/method/frappe.desk.reportview.get_count",
			{"doctype": DRIVER_DT, "filters": driver_list_filter},
			balance,
		),
		("resource list", "GET", f"/api/resource/{DRIVER_DT}", {"filters": driver_filter}, balance),
		(
			"resource list (payments)",
			"GET",
			"/api/resource/TukTuk Transaction",
			{"filters": payment_filter},
			amount,
		),
		(
			"client.get (payments)",
			"GET",
			"/api/method/frappe.client.get",
			{"doctype": "TukTuk Transaction", "filters": payment_filter},
			amount,
		),
	]
	return [(label, verb, path, json.dumps(params), value) for label, verb, path, params, value in pairs]


def answer_key(status: int, body: str, values: tuple[str, str]) -> tuple:
	"""What an answer says, with the figure the request carried taken out: status and error type
	for an error, the body for an answer."""
	if status >= 400:
		try:
			return status, json.loads(body).get("exc_type", "")
		except (ValueError, AttributeError):
			return status, ""
	for value in values:
		body = body.replace(value, "@V@")
	return status, body


class Client:
	def __init__(self, base: str, host: str, user: str):
		self.base, self.session = base.rstrip("/"), requests.Session()
		self.session.headers.update({"Host": host})
		reply = self.session.post(
			f"{self.base}/api/method/login", data={"usr": user, "pwd": PASSWORD}, timeout=60
		)
		reply.raise_for_status()
		# The session's CSRF token, as the portal's own forms send it (/driver/requests carries it in
		# data-csrf); without it every POST below would be refused before any row rule is reached.
		page = self.session.get(f"{self.base}/driver/requests", timeout=60).text
		token = re.search(r'data-csrf="([^"]+)"', page) or re.search(r'csrf_token\s*=\s*"([^"]+)"', page)
		if not token:
			raise SystemExit(
				f"no CSRF token on /driver/requests for {user}: the POST checks would prove nothing"
			)
		self.session.headers["X-Frappe-CSRF-Token"] = token.group(1)

	def call(self, verb: str, path: str, params: dict) -> tuple[int, str]:
		try:
			if verb == "GET":
				reply = self.session.get(f"{self.base}{path}", params=params, timeout=60)
			else:
				reply = self.session.post(f"{self.base}{path}", data=params, timeout=60)
		except requests.RequestException as exc:
			return 0, f"request failed: {exc}"
		return reply.status_code, reply.text


def verdict(status: int, body: str, hits: list[str], own: bool) -> str:
	if hits:
		return "LEAK"
	if status in (401, 403) or '"exc_type": "PermissionError"' in body or "PermissionError" in body[:2000]:
		return "refused"
	if status == 404 or 'id="page-404"' in body:
		return "not found"
	if status >= 400:
		return f"error {status}"
	return "A's own data" if own else "answered, nothing of B"


def main() -> int:
	parser = argparse.ArgumentParser()
	parser.add_argument("--base", required=True)
	parser.add_argument("--host", required=True)
	parser.add_argument("--setup", required=True)
	parser.add_argument("--out", required=True)
	args = parser.parse_args()
	setup = json.load(open(args.setup))
	portal = setup["portal"]
	own = set(setup["own_markers"]) | {portal["own_sunny_id"]}
	markers = (
		set(setup["markers"]) | set(portal["b_figures"]) | {portal["b_sunny_id"], portal["b_driver_name"]}
	) - own

	a = Client(args.base, args.host, DRIVER_A)
	rows = []
	for verb, path, params in calls(setup):
		status, body = a.call(verb, path, params)
		body = PAGE_404_PATH.sub(r"\1\2", body)
		request_text = path + json.dumps(params)
		# A marker the request itself carries (B's name in the URL) may be echoed by an error page.
		hits = sorted(m for m in markers if m not in request_text and found(m, body))
		if portal["b_sunny_id"] in request_text and status < 400 and found(portal["b_sunny_id"], body):
			# The request named B and the answer holds B's name: a leak unless it is only the echo
			# of an error (an error has status >= 400 or exc_type in its JSON).
			if '"exc_type"' not in body and '"exception"' not in body:
				hits.append(f"{portal['b_sunny_id']} (B's Sunny ID, named in the request)")
		own_data = found(portal["own_sunny_id"], body)
		rows.append(
			{
				"verdict": verdict(status, body, hits, own_data),
				"status": status,
				"http": verb,
				"path": path,
				"params": params,
				"markers": hits,
				"answer": body[:300],
				"where": [context(marker.split(" ")[0], body) for marker in hits][:3],
			}
		)

	oracles = []
	for label, verb, path, params, value in oracle_pairs(setup):
		wrong = str(int(value) + 1)
		answers = []
		for figure in (value, wrong):
			status, body = a.call(verb, path, json.loads(params.replace("@V@", figure)))
			answers.append((status, answer_key(status, body, (value, wrong))))
		leaks = answers[0][1] != answers[1][1]
		oracles.append(
			{
				"verdict": "LEAK (answer depends on B's figure)" if leaks else "same answer",
				"route": label,
				"path": path,
				"statuses": [answers[0][0], answers[1][0]],
				"answer": str(answers[0][1])[:200],
			}
		)

	# Controls: the search finds B's markers in B's own answers; A's page shows A.
	b = Client(args.base, args.host, DRIVER_B)
	controls = []
	for verb, path, params in (
		("GET", "/driver", {}),
		("GET", f"/api/method/{STATEMENT}", {}),
		("GET", "/driver/requests", {}),  # B's own day off and withdrawal request are listed there
	):
		status, body = b.call(verb, path, params)
		seen = sorted(m for m in markers if found(m, body))
		controls.append({"as": "driver B", "path": path, "status": status, "b_markers_seen": len(seen)})
	status, body = a.call("GET", "/driver", {})
	controls.append(
		{
			"as": "driver A",
			"path": "/driver",
			"status": status,
			"own_sunny_id_seen": found(portal["own_sunny_id"], body),
		}
	)

	json.dump(
		{"calls": rows, "oracles": oracles, "controls": controls, "markers": sorted(markers)},
		open(args.out, "w"),
		indent=1,
	)
	for row in rows:
		print(
			f"{row['verdict'][:24]:24} {row['status']:>3} {row['http']:4} {row['path']} {json.dumps(row['params'])[:140]}"
		)
	print()
	for oracle in oracles:
		print(
			f"{oracle['verdict'][:36]:36} {oracle['statuses'][0]:>3}/{oracle['statuses'][1]:<3} "
			f"filter on B's figure, true/wrong: {oracle['route']} {oracle['path']}"
		)
	print()
	for control in controls:
		print("control:", json.dumps(control))
	print(
		f"B's markers searched: {len(markers)} (Sunny ID, name, figures {portal['b_figures']}, rows, amounts)"
	)
	leaks = [row for row in rows if row["verdict"] == "LEAK"] + [
		o for o in oracles if o["verdict"].startswith("LEAK")
	]
	controls_ok = (
		all(c.get("b_markers_seen", 1) > 0 and c["status"] == 200 for c in controls[:3])
		and controls[3]["own_sunny_id_seen"]
	)
	print(
		f"{len(rows)} requests and {len(oracles)} filter pairs as driver A: leaks {len(leaks)}; "
		f"controls {'passed' if controls_ok else 'FAILED'}"
	)
	return 0 if not leaks and controls_ok else 1


if __name__ == "__main__":
	sys.exit(main())
