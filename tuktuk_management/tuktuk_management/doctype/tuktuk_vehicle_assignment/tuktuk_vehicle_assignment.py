# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

from tuktuk_management.controllers import CoreWrittenDocument


class TukTukVehicleAssignment(CoreWrittenDocument):
	"""One period a driver was assigned to a vehicle (``to_datetime`` empty while current),
	written by ``ledger.substitutions.record_assignment`` when the driver's vehicle changes."""

	written_by = "the driver form (when a driver's vehicle changes)"
	instead_of_delete = "The assignment history is a record of who drove which vehicle when."
