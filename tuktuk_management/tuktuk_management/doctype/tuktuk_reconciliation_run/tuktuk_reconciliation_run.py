# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument


class TukTukReconciliationRun(CoreWrittenDocument):
	"""The record of one reconciliation (who or which job, what was found, what was fixed),
	written by the reconciliation core."""

	written_by = "the reconciliation"
	instead_of_delete = "Reconciliation runs are the audit trail of the books."
