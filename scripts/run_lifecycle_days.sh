#!/usr/bin/env bash
# Three business days of a fleet's life through the standalone runner against MariaDB: cash
# deposits, a day off, a substitution, a withdrawal, a termination with its final settlement, a
# payment after it (suspense), the daily closes and the proof of the books. The figures are
# explained in docs/lifecycle-replay.md and checked to the shilling by tests/test_lifecycle_replay.py.
#   bash scripts/run_lifecycle_days.sh        # database tuktuk_lifecycle on 127.0.0.1:3306
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
export TUKTUK_DB_URL="${TUKTUK_DB_URL:-mysql://root@127.0.0.1:3306/tuktuk_lifecycle}"
S=samples/lifecycle
at() { # at YYYY-MM-DDTHH:MM:SS COMMAND...: run the runner with its clock fixed at that moment
	local now="$1"
	shift
	echo "== $now: $*"
	TUKTUK_NOW="$now" python -m tuktuk_management.cli "$@"
}

at 2026-12-01T07:00:00 init
at 2026-12-01T07:00:00 load $S/fleet.json
for driver in D000101 D000102 D000103; do at 2026-12-01T07:30:00 deposit $driver 1000 --reference "CASH-$driver"; done
at 2026-12-01T07:30:00 deposit D000104 500 --reference CASH-D000104
at 2026-12-01T16:00:00 replay $S/day1.jsonl
at 2026-12-01T23:30:00 close-day --date 2026-12-01
at 2026-12-02T16:00:00 replay $S/day2.jsonl
at 2026-12-02T17:00:00 withdraw D000102 300 --approve
at 2026-12-02T23:30:00 close-day --date 2026-12-02
at 2026-12-03T12:00:00 replay $S/day3.jsonl
at 2026-12-03T15:00:00 terminate D000101 --reason "Moved away"
at 2026-12-03T15:05:00 terminate D000101 --reason "Moved away"
at 2026-12-03T16:30:00 replay $S/day3-after-termination.jsonl
at 2026-12-03T23:30:00 close-day --date 2026-12-03
at 2026-12-03T23:45:00 balances
at 2026-12-03T23:50:00 reconcile
