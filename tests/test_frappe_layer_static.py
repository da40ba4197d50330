"""Static checks of the Frappe layer (Frappe itself is not installable here; a real bench runs
the FrappeTestCase suite): DocType JSON, hooks' dotted paths, typed whitelisted methods, and
the framework-free boundary of the core."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tuktuk_management"
MODULE_DIR = APP / "tuktuk_management"
DOCTYPE_JSONS = sorted(MODULE_DIR.glob("doctype/*/*.json"))
DATA_FIELDTYPES = {
	"Autocomplete", "Attach", "Attach Image", "Barcode", "Button", "Check", "Code", "Color", "Column Break",
	"Currency", "Data", "Date", "Datetime", "Duration", "Dynamic Link", "Float", "Fold", "Geolocation",
	"Heading", "HTML", "HTML Editor", "Icon", "Image", "Int", "JSON", "Link", "Long Text", "Markdown Editor",
	"Password", "Percent", "Phone", "Read Only", "Rating", "Section Break", "Select", "Signature",
	"Small Text", "Tab Break", "Table", "Table MultiSelect", "Text", "Text Editor", "Time",
}  # fmt: skip
FRAPPE_DOCTYPES = {"DocType", "User", "Role", "Module Def", "Email Account", "File"}
# Guest methods: the Daraja callbacks and the balance result (POST, token in the URL) and the
# health probe (GET, token).
GUEST_MODULES = {
	"tuktuk_management/api/c2b.py": "['POST']",
	"tuktuk_management/api/b2c.py": "['POST']",
	"tuktuk_management/api/balance.py": "['POST']",
	"tuktuk_management/api/health.py": "['GET']",
}
# Replacements of Frappe's generic read methods (override_whitelisted_methods): open to every
# logged-in user like the methods they replace, they check the DocType's permission and rows.
FRAPPE_OVERRIDE_MODULE = "tuktuk_management/api/frappe_reads.py"
# The original app's callback URLs, kept as aliases (accepted only while TukTuk Settings allows).
LEGACY_GUEST_METHODS = {
	("tuktuk_management/api/tuktuk.py", name)
	for name in ("payment_confirmation", "payment_validation", "mpesa_confirmation", "mpesa_validation")
} | {("tuktuk_management/api/sendpay.py", name) for name in ("b2c_result", "b2c_timeout")}
FRAMEWORK_FREE = ["ledger", "daraja", "standalone", "legacy", "cli.py"]


def scrub(name: str) -> str:
	return name.replace(" ", "_").replace("-", "_").lower()


def app_doctypes() -> dict[str, dict]:
	return {json.loads(path.read_text())["name"]: json.loads(path.read_text()) for path in DOCTYPE_JSONS}


def test_there_are_doctypes():
	assert {"TukTuk Settings", "TukTuk Vehicle", "TukTuk Driver", "TukTuk Transaction", "TukTuk Ledger Entry",
		"TukTuk Payout", "TukTuk Callback Log"} <= set(app_doctypes())  # fmt: skip


@pytest.mark.parametrize("path", DOCTYPE_JSONS, ids=lambda p: p.stem)
def test_doctype_json_is_well_formed(path):
	doc = json.loads(path.read_text())
	modules = (APP / "modules.txt").read_text().split("\n")
	assert doc["doctype"] == "DocType"
	assert doc["module"] in modules
	assert path.parent.name == path.stem == scrub(doc["name"])
	fieldnames = [f["fieldname"] for f in doc["fields"]]
	assert len(fieldnames) == len(set(fieldnames)), "duplicate fieldnames"
	assert doc["field_order"] == fieldnames
	for field in doc["fields"]:
		assert re.match(r"^[a-z][a-z0-9_]*$", field["fieldname"]), field["fieldname"]
		assert field["fieldtype"] in DATA_FIELDTYPES, field
		if field["fieldtype"] == "Link":
			assert field.get("options") in set(app_doctypes()) | FRAPPE_DOCTYPES, field
		if field["fieldtype"] == "Dynamic Link":
			assert field.get("options") in fieldnames, field
		if field["fieldtype"] == "Select":
			assert field.get("options"), field
			if field.get("default"):
				assert field["default"] in field["options"].split("\n"), field
		if field["fieldtype"] == "Check" and "default" in field:
			assert field["default"] in ("0", "1"), field
	autoname = doc.get("autoname") or ""
	if autoname.startswith("field:"):
		assert autoname.removeprefix("field:") in fieldnames
	for perm in doc["permissions"]:
		assert perm["role"] and all(v in (0, 1) for k, v in perm.items() if k not in ("role", "permlevel"))
	controller = path.with_suffix(".py")
	assert controller.exists(), f"missing controller {controller.name}"
	classes = [n.name for n in ast.parse(controller.read_text()).body if isinstance(n, ast.ClassDef)]
	assert doc["name"].replace(" ", "") in classes
	assert (path.parent / f"test_{path.stem}.py").exists(), "missing DocType test file"


def resolve_dotted(path: str) -> bool:
	"""True if ``path`` is a module of the app, or a top-level name defined in one."""
	parts = path.split(".")
	for split in range(len(parts), 0, -1):
		module, attributes = parts[:split], parts[split:]
		base = ROOT.joinpath(*module)
		file = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
		if not file.exists():
			continue
		if not attributes:
			return True
		if len(attributes) > 1:
			return False
		tree = ast.parse(file.read_text())
		names = set()
		for node in tree.body:
			if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
				names.add(node.name)
			elif isinstance(node, ast.Assign):
				names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
			elif isinstance(node, ast.ImportFrom):
				names |= {alias.asname or alias.name for alias in node.names}
		return attributes[0] in names
	return False


def hook_strings() -> list[str]:
	tree = ast.parse((APP / "hooks.py").read_text())
	return [
		node.value
		for node in ast.walk(tree)
		if isinstance(node, ast.Constant) and isinstance(node.value, str)
		and re.match(r"^tuktuk_management(\.[A-Za-z_][A-Za-z0-9_]*)+$", node.value)
	]  # fmt: skip


def test_hooks_has_live_settings():
	tree = ast.parse((APP / "hooks.py").read_text())
	assigned = {
		t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
	}
	assert {"app_name", "app_title", "app_publisher", "app_description", "app_license"} <= assigned
	assert hook_strings(), "hooks.py names no dotted path"


@pytest.mark.parametrize("dotted", hook_strings() if (APP / "hooks.py").exists() else [])
def test_every_dotted_path_in_hooks_exists(dotted):
	assert resolve_dotted(dotted), f"{dotted} does not exist"


def test_patches_exist():
	for line in (APP / "patches.txt").read_text().splitlines():
		line = line.split("#")[0].strip()
		if line and not line.startswith("["):
			assert resolve_dotted(line.split()[0]), line


def whitelisted_functions():
	for path in sorted(APP.rglob("*.py")):
		tree = ast.parse(path.read_text())
		for node in ast.walk(tree):
			if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
				continue
			for decorator in node.decorator_list:
				target = decorator.func if isinstance(decorator, ast.Call) else decorator
				if ast.unparse(target) == "frappe.whitelist":
					yield path.relative_to(ROOT).as_posix(), node, decorator


def test_there_are_whitelisted_methods():
	assert list(whitelisted_functions())


@pytest.mark.parametrize(
	("module", "function", "decorator"), list(whitelisted_functions()), ids=lambda v: getattr(v, "name", "")
)
def test_whitelisted_methods_are_typed_and_guests_only_reach_callbacks(module, function, decorator):
	args = function.args
	for arg in args.posonlyargs + args.args + args.kwonlyargs:
		if arg.arg not in ("self", "cls"):
			assert arg.annotation is not None, f"{module}:{function.name}({arg.arg}) has no type hint"
	assert args.vararg is None and args.kwarg is None, f"{module}:{function.name} takes *args/**kwargs"
	assert function.returns is not None, f"{module}:{function.name} has no return type"
	keywords = {k.arg: ast.unparse(k.value) for k in getattr(decorator, "keywords", [])}
	if keywords.get("allow_guest") == "True":
		assert module in GUEST_MODULES or (module, function.name) in LEGACY_GUEST_METHODS, (
			f"guest method outside the callbacks and probe: {module}:{function.name}"
		)
		assert keywords.get("methods") == GUEST_MODULES.get(module, "['POST']")


@pytest.mark.parametrize("part", FRAMEWORK_FREE)
def test_core_never_imports_frappe(part):
	target = APP / part
	files = [target] if target.is_file() else sorted(target.rglob("*.py"))
	assert files
	for path in files:
		for node in ast.walk(ast.parse(path.read_text())):
			if isinstance(node, ast.Import):
				assert not any(a.name.split(".")[0] == "frappe" for a in node.names), path
			if isinstance(node, ast.ImportFrom):
				assert (node.module or "").split(".")[0] != "frappe", path


def test_core_has_no_float_money():
	for path in (APP / "ledger").rglob("*.py"):
		assert not re.search(r"\bfloat\(", path.read_text()), path


def calls_only_for(function: ast.FunctionDef) -> bool:
	"""True if the function body calls ``frappe.only_for(...)`` before anything else it does."""
	for node in function.body:
		if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
			continue  # the docstring
		return (
			isinstance(node, ast.Expr)
			and isinstance(node.value, ast.Call)
			and ast.unparse(node.value.func) == "frappe.only_for"
			and len(node.value.args) == 1
			and ast.unparse(node.value.args[0]).startswith("roles.")
		)
	return False


@pytest.mark.parametrize(
	("module", "function", "decorator"), list(whitelisted_functions()), ids=lambda v: getattr(v, "name", "")
)
def test_every_non_callback_whitelisted_method_checks_its_role_first(module, function, decorator):
	if module in GUEST_MODULES or (module, function.name) in LEGACY_GUEST_METHODS:
		keywords = {k.arg: ast.unparse(k.value) for k in getattr(decorator, "keywords", [])}
		assert keywords.get("allow_guest") == "True", f"{module}:{function.name} is not a Daraja callback"
		return
	if module == FRAPPE_OVERRIDE_MODULE:
		dotted = module.removesuffix(".py").replace("/", ".") + "." + function.name
		assert dotted in override_targets(), f"{dotted} replaces no Frappe method in hooks.py"
		return
	assert calls_only_for(function), (
		f"{module}:{function.name} must start with frappe.only_for(roles.<GROUP>) (after its docstring)"
	)


def override_targets() -> set[str]:
	"""The values of ``override_whitelisted_methods`` in hooks.py."""
	for node in ast.walk(ast.parse((APP / "hooks.py").read_text())):
		if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "override_whitelisted_methods":
			return {value.value for value in node.value.values}
	return set()


def test_role_check_rule_refuses_a_method_without_it():
	source = '''
@frappe.whitelist(methods=["POST"])
def unsafe(payout: str) -> dict:
	"""Docstring."""
	return {}
'''
	function = ast.parse(source).body[0]
	assert not calls_only_for(function)
	checked = ast.parse(
		source.replace('"""Docstring."""', '"""Docstring."""\n\tfrappe.only_for(roles.MONEY_MOVERS)')
	)
	assert calls_only_for(checked.body[0])


def test_role_fixtures_match_hooks_and_roles_module():
	from tuktuk_management import roles

	fixtures = json.loads((APP / "fixtures" / "role.json").read_text())
	assert {doc["name"] for doc in fixtures} == set(roles.ALL)
	assert all(doc["doctype"] == "Role" and doc["role_name"] == doc["name"] for doc in fixtures)
	assert {doc["name"]: doc["desk_access"] for doc in fixtures}[roles.DRIVER] == 0
	hooks = (APP / "hooks.py").read_text()
	assert all(role in hooks for role in roles.ALL) and "fixtures = [" in hooks


LEDGER_DOCTYPES = ("TukTuk Transaction", "TukTuk Ledger Entry", "TukTuk Payout", "TukTuk Callback Log")


def test_nobody_writes_ledger_documents_by_hand():
	doctypes = app_doctypes()
	for name in LEDGER_DOCTYPES:
		assert doctypes[name].get("in_create") == 1, name
		for perm in doctypes[name]["permissions"]:
			for right in ("write", "create", "delete", "submit", "cancel", "amend", "import"):
				assert not perm.get(right), (name, perm["role"], right)


# DocTypes a driver may read (their own rows only, by the permission hooks).
DRIVER_READABLE = (
	"TukTuk Driver",
	"TukTuk Transaction",
	"TukTuk Ledger Entry",
	"TukTuk Payout",
	"TukTuk Deposit Entry",
	"TukTuk Withdrawal Request",
	"TukTuk Day Off",  # own days off only (permissions.py); requests go through api/days_off.py
)


def test_drivers_read_only_their_own_kind_of_records():
	doctypes = app_doctypes()
	for name, document in doctypes.items():
		driver_perms = [perm for perm in document["permissions"] if perm["role"] == "TukTuk Driver"]
		if name in DRIVER_READABLE:
			assert driver_perms == [{"print": 1, "read": 1, "role": "TukTuk Driver"}], name
		else:
			assert not driver_perms, name
	hooks = (APP / "hooks.py").read_text()
	for name in DRIVER_READABLE:
		assert hooks.count(f'"{name}": "tuktuk_management.permissions.') == 2, name
	driver_fields = {f["fieldname"]: f for f in doctypes["TukTuk Driver"]["fields"]}
	assert driver_fields["user"]["fieldtype"] == "Link" and driver_fields["user"]["options"] == "User"
