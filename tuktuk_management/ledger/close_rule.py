"""The daily close rule as a pure function (DESIGN §5 and §8) and the shapes of its results, used by
``ledger/close.py`` (which re-exports them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

CLOSED = "Closed"
ALREADY_CLOSED = "Already Closed"
NOT_DUE = "Not Due"


@dataclass(frozen=True)
class CloseDecision:
	"""What the close rule decides for one driver and day (whole KES): T, the shortfall, whether
	the target was met, the deposit deduction, tomorrow's rollover and the missed-day count."""

	target_kes: int
	shortfall_kes: int
	target_met: bool
	deposit_deducted_kes: int
	rollover_kes: int
	consecutive_misses: int
	judged: bool = True


def decide_close(
	*,
	base_target_kes: int,
	rollover_in_kes: int,
	collected_kes: int,
	consecutive_misses_in: int,
	deposit_kes: int,
	deduct_from_deposit: bool,
	judged: bool = True,
) -> CloseDecision:
	"""The close rule as a pure function (DESIGN §5); amounts whole KES.

	Returns ``target_kes`` (T = base + rollover in), ``shortfall_kes``, ``target_met``,
	``deposit_deducted_kes`` (≤ shortfall, ≤ max(0, deposit)), ``rollover_kes`` (shortfall left
	after the deduction: tomorrow's T = base + it) and ``consecutive_misses``. A day whose
	shortfall the deposit covers is still a missed day (the driver did not collect it).

	A day that is not judged (``judged`` False, DESIGN §8: day off, replaced by a substitute,
	no vehicle) has no shortfall, no deduction, is not met, and leaves the rollover and the
	missed-day count as they came in: the rollover waits for the next judged day.
	"""
	assert base_target_kes >= 0 and rollover_in_kes >= 0 and consecutive_misses_in >= 0
	target_kes = base_target_kes + rollover_in_kes
	if not judged:
		return CloseDecision(
			target_kes=target_kes,
			shortfall_kes=0,
			target_met=False,
			deposit_deducted_kes=0,
			rollover_kes=rollover_in_kes,
			consecutive_misses=consecutive_misses_in,
			judged=False,
		)
	shortfall_kes = max(0, target_kes - collected_kes)
	target_met = shortfall_kes == 0
	deducted_kes = min(shortfall_kes, max(0, deposit_kes)) if deduct_from_deposit else 0
	rollover_kes = shortfall_kes - deducted_kes
	assert 0 <= deducted_kes <= shortfall_kes and rollover_kes >= 0
	return CloseDecision(
		target_kes=target_kes,
		shortfall_kes=shortfall_kes,
		target_met=target_met,
		deposit_deducted_kes=deducted_kes,
		rollover_kes=rollover_kes,
		consecutive_misses=0 if target_met else consecutive_misses_in + 1,
	)


@dataclass(frozen=True)
class DayResult:
	"""The figures of one driver's close (whole KES); the fields of a TukTuk Daily Close."""

	driver: str
	business_date: date
	status: str
	target_kes: int = 0
	collected_kes: int = 0
	shortfall_kes: int = 0
	target_met: bool = False
	consecutive_misses: int = 0
	rollover_kes: int = 0
	deposit_deducted_kes: int = 0
	voucher_no: str = ""
	miss_limit_reached: bool = False
	judged: bool = True
	not_judged_reason: str = ""


@dataclass
class CloseSummary:
	"""What one :func:`close_day` call did. Amounts are whole KES."""

	business_date: str
	drivers_closed: int = 0
	targets_met: int = 0
	targets_missed: int = 0
	already_closed: int = 0
	not_judged: dict[str, int] = field(default_factory=dict)  # reason -> drivers closed unjudged
	collected_kes: int = 0
	shortfall_kes: int = 0
	deposit_deducted_kes: int = 0
	rollover_kes: int = 0
	miss_limit_alerts: list[dict] = field(default_factory=list)
	errors: list[dict] = field(default_factory=list)
	last_driver: str = ""
	done: bool = False

	def add(self, result: DayResult) -> None:
		if result.status == ALREADY_CLOSED:
			self.already_closed += 1
			return
		if result.status != CLOSED:
			return
		self.drivers_closed += 1
		self.collected_kes += result.collected_kes
		if not result.judged:
			reason = result.not_judged_reason
			self.not_judged[reason] = self.not_judged.get(reason, 0) + 1
			return
		self.targets_met += result.target_met
		self.targets_missed += not result.target_met
		self.shortfall_kes += result.shortfall_kes
		self.deposit_deducted_kes += result.deposit_deducted_kes
		self.rollover_kes += result.rollover_kes
		if result.miss_limit_reached:
			self.miss_limit_alerts.append(
				{
					"driver": result.driver,
					"consecutive_misses": result.consecutive_misses,
					"rollover_kes": result.rollover_kes,
				}
			)

	def as_dict(self) -> dict:
		return asdict(self)
