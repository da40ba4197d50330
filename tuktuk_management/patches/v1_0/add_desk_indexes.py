"""Add the desk's range indexes (ledger ``(party, posting_datetime)``, transaction ``(timestamp)``
and ``(payment_status, timestamp)``) on sites installed before them.

``on_doctype_update`` runs only when a DocType's JSON changes; a fresh install gets the indexes
from it anyway, and ``add_composite_indexes`` skips those that exist.
"""

from tuktuk_management.controllers import add_composite_indexes


def execute():
	for doctype in ("TukTuk Ledger Entry", "TukTuk Transaction"):
		add_composite_indexes(doctype)
