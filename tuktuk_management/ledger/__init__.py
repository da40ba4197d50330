"""The framework-free ledger core of tuktuk_management.

Nothing below this package imports frappe. Every function takes a database object that
satisfies :class:`tuktuk_management.ledger.database.Database` (``frappe.db`` does; so does
:class:`tuktuk_management.standalone.db.MariaDB`) and never commits: the caller owns the
transaction boundary.
"""
