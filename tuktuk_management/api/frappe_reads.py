"""Frappe's generic read methods, replaced where they answer past the row rules (DESIGN §7).

A driver-only user (``permissions.is_driver_only``) may read their own rows of the driver-data
DocTypes and nothing of anyone else's. Frappe v15 applies the app's ``permission_query_conditions``
and ``has_permission`` hooks on most generic reads (``frappe.get_list``, ``/api/resource``,
``reportview``, ``getdoc``, ``query_report.run``), but not on these, which are therefore
replaced through ``override_whitelisted_methods`` in ``hooks.py`` (same names and parameters, so
the desk keeps working):

- ``frappe.client.get_count``: counts with ``frappe.db.count``, no permission check at all: any
  logged-in user could count any DocType's rows with any filters (and narrow amounts down by
  repeated range filters). Replaced for every user by a count through ``frappe.get_list``, which
  checks the DocType permission and applies the row rules.
- ``frappe.client.validate_link``: says whether a name exists (and, for a Link field,
  ``frappe.db.get_value``) without the row rules: replaced so a row the user may not read
  answers as a name that does not exist.
- ``frappe.desk.search.search_link`` / ``search_widget``: with ``ignore_user_permissions=1`` and
  DocType read permission Frappe queries with ``ignore_permissions=True``, i.e. without the row
  rules: for a driver-only user the flag is dropped (it was meant for User Permissions, which
  drivers do not use).
- ``frappe.desk.search.get_link_title``: reads the title field of any name with
  ``frappe.db.get_value``: answers the bare name for a row the user may not read.
- ``frappe.desk.listview.get_group_by_count`` (list sidebar): its "Assigned To" branch counts
  with a query without the row rules, and no DocType permission is checked: replaced for a
  driver-only user.
- ``frappe.desk.doctype.dashboard_chart.dashboard_chart.get``: does not check that the user may
  see a named chart, takes a chart definition from the request (``no_cache=1``), draws heatmaps
  with ``frappe.get_all`` (no permission), and reads figures from a cache keyed by the chart's
  name alone, shared by all users (Frappe 15.55.1 never writes that key; a version that does
  would hand a manager's figures to a driver): for a driver-only user the chart must be one they
  may read, figures are computed for them and never taken from the cache, and a heatmap over a
  DocType with row rules is refused.

- ``frappe.desk.form.linked_with.get_submitted_linked_docs`` (the "cancel all linked documents"
  dialog): checks the document's permission without acting on the answer, then walks the links
  with ``frappe.get_all``: another driver's submitted credit notes came back. For a driver-only
  user the document must be theirs and only documents they may read are listed.

- ``frappe.client.get`` with ``filters`` (no name): Frappe finds the row without the row rules and
  then refuses it ("no permission", 403), while filters that match nothing answer "not found"
  (404): a driver could ask yes-or-no questions about another driver's row (``{"name": B,
  "current_balance": [">", 5000]}``) and narrow B's balances down. For a driver-only user the
  row is looked up through ``frappe.get_list`` (row rules applied), so another driver's row
  answers like a missing one, whatever the filters.

Staff users get Frappe's own methods unchanged except ``get_count``, whose permission check is
a fix for everyone.
"""

from __future__ import annotations

import inspect

import frappe
from frappe import _
from frappe.client import get as frappe_client_get
from frappe.client import validate_link as frappe_validate_link
from frappe.desk import search as frappe_search
from frappe.desk.doctype.dashboard_chart import dashboard_chart as frappe_dashboard_chart
from frappe.desk.form.linked_with import get_submitted_linked_docs as frappe_get_submitted_linked_docs
from frappe.desk.listview import get_group_by_count as frappe_get_group_by_count
from frappe.model.db_query import check_parent_permission
from frappe.model.utils import is_virtual_doctype
from frappe.utils import get_safe_filters

from tuktuk_management.permissions import is_driver_only

ASSIGNED_TO_ROWS_MAX = 50


def has_row_rules(doctype: str) -> bool:
	"""True if some app restricts rows of ``doctype`` per user (a permission query or a
	has_permission hook): the DocTypes whose rows a generic read must not leak."""
	return bool(
		frappe.get_hooks("permission_query_conditions", {}).get(doctype)
		or frappe.get_hooks("has_permission", {}).get(doctype)
	)


def may_read_row(doctype: str, name: str) -> bool:
	"""True if the session user may read (or select) the existing row ``doctype``/``name``."""
	return bool(
		frappe.has_permission(doctype, "read", doc=name) or frappe.has_permission(doctype, "select", doc=name)
	)


@frappe.whitelist()
def get_count(
	doctype: str,
	filters: str | dict | list | None = None,
	debug: bool = False,
	cache: bool = False,
	parent: str | None = None,
) -> int:
	"""``frappe.client.get_count`` with the caller's permissions: the DocType's read (or select)
	permission and its row rules, as ``frappe.get_list`` applies them. ``debug`` and ``cache``
	are accepted and ignored (a cached count is shared between users). Raises PermissionError
	without the DocType permission."""
	if frappe.is_table(doctype):
		check_parent_permission(parent, doctype)
	if is_virtual_doctype(doctype):
		frappe.has_permission(doctype, "read", throw=True)
		return frappe.db.count(doctype, get_safe_filters(filters))
	rows = frappe.get_list(
		doctype,
		filters=get_safe_filters(filters),
		fields=[f"count(distinct `tab{doctype}`.`name`) as total"],
		parent_doctype=parent,
		as_list=True,
		limit_page_length=0,
		order_by=None,
	)
	return int(rows[0][0]) if rows else 0


@frappe.whitelist()
def get(
	doctype: str, name: str | None = None, filters: str | dict | None = None, parent: str | None = None
) -> dict:
	"""``frappe.client.get``; for a driver-only user a row looked up by ``filters`` is found through
	the row rules, so a filter on a row they may not read answers "not found" (DoesNotExistError),
	as one that matches nothing does. Returns the document as a dict."""
	if (
		not name
		and filters
		and isinstance(doctype, str)
		and is_driver_only()
		and has_row_rules(doctype)
		and not frappe.get_meta(doctype).issingle
	):
		names = frappe.get_list(
			doctype, filters=frappe.parse_json(filters), pluck="name", limit_page_length=1, order_by=None
		)
		if not names:
			raise frappe.DoesNotExistError(_("{0} not found").format(_(doctype)))
		name, filters = names[0], None
	return frappe_client_get(doctype, name=name, filters=filters, parent=parent)


@frappe.whitelist()
def validate_link(doctype: str, docname: str, fields: str | list | None = None) -> dict:
	"""``frappe.client.validate_link``; a row the user may not read answers like a missing name."""
	if (
		isinstance(doctype, str)
		and isinstance(docname, str)
		and is_driver_only()
		and has_row_rules(doctype)
		and frappe.db.exists(doctype, docname)
		and not may_read_row(doctype, docname)
	):
		return frappe._dict()
	return frappe_validate_link(doctype, docname, fields)


@frappe.whitelist()
def search_link(
	doctype: str,
	txt: str,
	query: str | None = None,
	filters: str | dict | list | None = None,
	page_length: int = 10,
	searchfield: str | None = None,
	reference_doctype: str | None = None,
	ignore_user_permissions: bool = False,
) -> list:
	"""``frappe.desk.search.search_link``; a driver-only user always searches under the row rules."""
	return frappe_search.search_link(
		doctype,
		txt,
		query=query,
		filters=filters,
		page_length=page_length,
		searchfield=searchfield,
		reference_doctype=reference_doctype,
		ignore_user_permissions=ignore_user_permissions and not is_driver_only(),
	)


@frappe.whitelist()
def search_widget(
	doctype: str,
	txt: str,
	query: str | None = None,
	searchfield: str | None = None,
	start: int = 0,
	page_length: int = 10,
	filters: str | dict | list | None = None,
	filter_fields: str | list | None = None,
	as_dict: bool = False,
	reference_doctype: str | None = None,
	ignore_user_permissions: bool = False,
) -> list:
	"""``frappe.desk.search.search_widget``; a driver-only user always searches under the row rules."""
	return frappe_search.search_widget(
		doctype,
		txt,
		query=query,
		searchfield=searchfield,
		start=start,
		page_length=page_length,
		filters=filters,
		filter_fields=filter_fields,
		as_dict=as_dict,
		reference_doctype=reference_doctype,
		ignore_user_permissions=ignore_user_permissions and not is_driver_only(),
	)


@frappe.whitelist()
def get_link_title(doctype: str, docname: str) -> str | None:
	"""``frappe.desk.search.get_link_title``; the bare name for a row the user may not read."""
	if (
		is_driver_only()
		and has_row_rules(doctype)
		and frappe.db.exists(doctype, docname)
		and not may_read_row(doctype, docname)
	):
		return docname
	return frappe_search.get_link_title(doctype, docname)


@frappe.whitelist()
def get_group_by_count(doctype: str, current_filters: str, field: str) -> list[dict]:
	"""``frappe.desk.listview.get_group_by_count`` (list sidebar counts). For a driver-only user:
	the DocType's permission is required and "Assigned To" counts only rows they may read."""
	if not is_driver_only():
		return frappe_get_group_by_count(doctype, current_filters, field)
	if not (frappe.has_permission(doctype, "read") or frappe.has_permission(doctype, "select")):
		frappe.throw(_("No permission for {0}").format(_(doctype)), frappe.PermissionError)
	if field != "assigned_to":
		return frappe_get_group_by_count(doctype, current_filters, field)
	permitted = frappe.get_list(
		doctype,
		filters=frappe.parse_json(current_filters),
		fields=[f"`tab{doctype}`.`name`"],
		limit_page_length=0,
		order_by=None,
		run=0,
	)
	return frappe.db.sql(  # nosemgrep: frappe-using-db-sql -- Frappe's own group-by-count query, plus the row rule
		f"""select `tabToDo`.`allocated_to` as name, count(*) as count
		from `tabToDo`, `tabUser`
		where `tabToDo`.`status` != 'Cancelled' and `tabToDo`.`allocated_to` = `tabUser`.`name`
			and `tabUser`.`user_type` = 'System User' and `tabToDo`.`reference_type` = %s
			and `tabToDo`.`reference_name` in ({permitted})
		group by `tabToDo`.`allocated_to` order by count desc limit {ASSIGNED_TO_ROWS_MAX}""",
		(doctype,),
		as_dict=True,
	)


@frappe.whitelist()
def get_dashboard_chart(
	chart_name: str | None = None,
	chart: str | dict | None = None,
	no_cache: str | int | bool | None = None,
	filters: str | dict | list | None = None,
	from_date: str | None = None,
	to_date: str | None = None,
	timespan: str | None = None,
	time_interval: str | None = None,
	heatmap_year: str | int | None = None,
	refresh: str | int | bool | None = None,
) -> dict | None:
	"""``frappe.desk.doctype.dashboard_chart.dashboard_chart.get``. For a driver-only user: a
	named chart must be readable by them, the figures are computed for them alone (never from or
	into the cache shared by all users), and a heatmap over a DocType with row rules is refused."""
	arguments = {
		"chart_name": chart_name,
		"chart": chart,
		"no_cache": no_cache,
		"filters": filters,
		"from_date": from_date,
		"to_date": to_date,
		"timespan": timespan,
		"time_interval": time_interval,
		"heatmap_year": heatmap_year,
		"refresh": refresh,
	}
	if not is_driver_only():
		return frappe_dashboard_chart.get(**arguments)
	if chart_name:
		definition = frappe.get_doc("Dashboard Chart", chart_name)
		definition.check_permission("read")
	else:
		definition = frappe._dict(frappe.parse_json(chart) or {})
	document_type = definition.get("document_type")
	if not document_type or not frappe.has_permission(document_type, "read"):
		frappe.throw(_("No permission for {0}").format(_(document_type or "")), frappe.PermissionError)
	if definition.get("type") == "Heatmap" and has_row_rules(document_type):
		frappe.throw(
			_("Heatmaps of {0} are not available to you").format(_(document_type)), frappe.PermissionError
		)
	# The undecorated function: computed for this user, no shared cache read or written.
	uncached = inspect.unwrap(frappe_dashboard_chart.get)
	return uncached(**{**arguments, "chart": None if chart_name else chart})


@frappe.whitelist()
def get_submitted_linked_docs(
	doctype: str, name: str, ignore_doctypes_on_cancel_all: str | list | None = None
) -> dict:
	"""``frappe.desk.form.linked_with.get_submitted_linked_docs``. For a driver-only user: the
	document must be one they may read, and only linked documents they may read are listed."""
	if not is_driver_only():
		return frappe_get_submitted_linked_docs(doctype, name, ignore_doctypes_on_cancel_all)
	frappe.has_permission(doctype, "read", doc=name, throw=True)
	found = frappe_get_submitted_linked_docs(doctype, name, ignore_doctypes_on_cancel_all)
	docs = [doc for doc in found["docs"] if may_read_row(doc["doctype"], doc["name"])]
	return {"docs": docs, "count": len(docs)}
