"""Add the driver portal's indexes (transaction ``(driver, timestamp)``, payout ``(driver, creation)``)
on sites installed before them; ``on_doctype_update`` runs only when a DocType's JSON changes.
"""

from tuktuk_management.controllers import add_composite_indexes


def execute():
	for doctype in ("TukTuk Transaction", "TukTuk Payout"):
		add_composite_indexes(doctype)
