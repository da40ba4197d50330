"""Upgrading a site that runs the original tuktuk_management app (same app name, Frappe v15).

Framework-free like the ledger core: every step talks to the database through the protocol of
:mod:`tuktuk_management.ledger.database`, so the Frappe patches, the ``tuktuk-upgrade-check``
command and the pytest suite run the same code.

- :mod:`.mapping`: how the original's roles, statuses, types and settings map onto this app's.
- :mod:`.plan`: what the upgrade will do and what blocks it, read-only (works on the original's
  schema before ``migrate`` and on the synced schema after it).
- :mod:`.apply`: the steps before the model sync (blockers, role rename, conflicting custom
  fields) and after it (opening vouchers, rollover, pre-ledger transactions, users, settings).
"""
