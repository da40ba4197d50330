"""Static checks of the desk that ships with the app: every workspace block points at a number
card, chart, shortcut or link card that exists in the module folders; every method they name
exists and is whitelisted; every report has its JSON, Python ``execute`` and JavaScript."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from tests.test_frappe_layer_static import APP, MODULE_DIR, app_doctypes, resolve_dotted, scrub

WORKSPACE = MODULE_DIR / "workspace" / "tuktuk" / "tuktuk.json"
MODULE = "TukTuk Management"


def standard_docs(folder: str) -> dict[str, dict]:
	docs = {}
	for path in sorted((MODULE_DIR / folder).glob("*/*.json")):
		doc = json.loads(path.read_text())
		assert path.parent.name == path.stem == scrub(doc["name"]), path
		assert doc["module"] == MODULE and doc.get("is_standard") in (1, "Yes", None), path
		docs[doc["name"]] = doc
	return docs


def whitelisted(dotted: str) -> bool:
	module, _, name = dotted.rpartition(".")
	tree = ast.parse((APP.parent / (module.replace(".", "/") + ".py")).read_text())
	for node in tree.body:
		if isinstance(node, ast.FunctionDef) and node.name == name:
			return any("frappe.whitelist" in ast.unparse(d) for d in node.decorator_list)
	return False


def test_workspace_blocks_resolve():
	workspace = json.loads(WORKSPACE.read_text())
	assert workspace["doctype"] == "Workspace" and workspace["name"] == workspace["label"] == "TukTuk"
	assert workspace["public"] == 1 and workspace["module"] == MODULE
	cards, charts, reports = (
		standard_docs("number_card"),
		standard_docs("dashboard_chart"),
		standard_docs("report"),
	)
	card_labels = {row["label"]: row["number_card_name"] for row in workspace["number_cards"]}
	chart_labels = {row["label"]: row["chart_name"] for row in workspace["charts"]}
	shortcut_labels = {row["label"]: row for row in workspace["shortcuts"]}
	card_breaks = {row["label"] for row in workspace["links"] if row["type"] == "Card Break"}
	doctypes = set(app_doctypes())
	blocks = json.loads(workspace["content"])
	assert len({block["id"] for block in blocks}) == len(blocks)
	seen = set()
	for block in blocks:
		data = block["data"]
		# The desk finds a block's widget by the label of the workspace row.
		if block["type"] == "number_card":
			assert card_labels[data["number_card_name"]] in cards
		elif block["type"] == "chart":
			assert chart_labels[data["chart_name"]] in charts
		elif block["type"] == "shortcut":
			assert data["shortcut_name"] in shortcut_labels
		elif block["type"] == "card":
			assert data["card_name"] in card_breaks
		else:
			assert block["type"] in ("header", "spacer", "paragraph"), block
		seen.add((block["type"], next(iter(data.values()))))
	assert len(card_labels) == sum(b["type"] == "number_card" for b in blocks) == len(cards)
	assert len(chart_labels) == sum(b["type"] == "chart" for b in blocks) == len(charts)
	for shortcut in workspace["shortcuts"]:
		target = doctypes if shortcut["type"] == "DocType" else set(reports)
		assert shortcut["link_to"] in target, shortcut
	for link in workspace["links"]:
		if link["type"] == "Link":
			target = doctypes if link["link_type"] == "DocType" else set(reports)
			assert link["link_to"] in target, link
	assert {role["role"] for role in workspace["roles"]} == {
		"TukTuk Manager",
		"TukTuk Accountant",
		"System Manager",
	}


def test_number_cards_name_whitelisted_methods_or_valid_filters():
	cards = standard_docs("number_card")
	assert len(cards) >= 8
	doctypes = app_doctypes()
	for card in cards.values():
		assert card["doctype"] == "Number Card" and card["is_public"] == 1
		assert card["document_type"] in doctypes, card["name"]
		if card["type"] == "Custom":
			assert resolve_dotted(card["method"]) and whitelisted(card["method"]), card["method"]
		else:
			assert card["type"] == "Document Type" and card["function"] == "Count"
			fields = {f["fieldname"]: f for f in doctypes[card["document_type"]]["fields"]}
			for doctype, field, _op, value, _ in json.loads(card["filters_json"]):
				assert doctype == card["document_type"] and field in fields
				assert value in fields[field]["options"].split("\n")


def test_charts_and_their_sources():
	charts, sources = standard_docs("dashboard_chart"), standard_docs("dashboard_chart_source")
	doctypes = app_doctypes()
	for chart in charts.values():
		assert chart["doctype"] == "Dashboard Chart" and chart["roles"]
		json.loads(chart["custom_options"] or "{}")
		if chart["chart_type"] == "Custom":
			source = sources[chart["source"]]
			script = (
				MODULE_DIR / "dashboard_chart_source" / scrub(source["name"]) / f"{scrub(source['name'])}.js"
			)
			text = script.read_text()
			assert f'frappe.dashboards.chart_sources["{source["name"]}"]' in text
			method = re.search(r'method: "([^"]+)"', text).group(1)
			assert resolve_dotted(method) and whitelisted(method), method
		else:
			assert chart["chart_type"] == "Group By"
			fields = {f["fieldname"] for f in doctypes[chart["document_type"]]["fields"]}
			assert chart["group_by_based_on"] in fields


@pytest.mark.parametrize("name", sorted(standard_docs("report")))
def test_reports_are_complete_script_reports(name):
	report = standard_docs("report")[name]
	folder = MODULE_DIR / "report" / scrub(name)
	assert report["report_type"] == "Script Report" and report["is_standard"] == "Yes"
	assert report["ref_doctype"] in app_doctypes() and report["roles"]
	assert (folder / "__init__.py").exists()
	tree = ast.parse((folder / f"{scrub(name)}.py").read_text())
	assert "execute" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
	assert f'frappe.query_reports["{name}"]' in (folder / f"{scrub(name)}.js").read_text()


def test_desk_scripts_call_existing_or_contracted_methods():
	"""Every ``tuktuk_management.`` method a desk script calls exists, or is one of the contracted
	methods of other issues that the desk shows only once installed (``ACTION_METHODS``)."""

	contracted = set(
		re.findall(r'"(tuktuk_management\.api\.[a-z_.]+)"', (APP / "api" / "dashboard.py").read_text())
	)
	scripts = [*APP.glob("**/*.js")]
	called = {m for path in scripts for m in re.findall(r'"(tuktuk_management\.[a-z_.]+)"', path.read_text())}
	assert called
	for method in called:
		assert (resolve_dotted(method) and whitelisted(method)) or method in contracted, method


def test_doctype_js_hooks_name_shipped_scripts():
	tree = ast.parse((APP / "hooks.py").read_text())
	hooks = {
		t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
		if isinstance(t, ast.Name) and t.id == "doctype_js"
	}  # fmt: skip
	assert hooks["doctype_js"]
	for doctype, paths in hooks["doctype_js"].items():
		for path in [paths] if isinstance(paths, str) else paths:  # Frappe takes one path or a list
			assert doctype in app_doctypes() and (APP / path).is_file(), (doctype, path)
