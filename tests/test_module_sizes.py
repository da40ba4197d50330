"""The ledger core stays readable: no module under ledger/ over 500 lines, no function over 70
(the check is scripts/check_sizes.py, also runnable on its own)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_ledger_module_over_500_lines_and_no_function_over_70():
	spec = importlib.util.spec_from_file_location("check_sizes", ROOT / "scripts" / "check_sizes.py")
	check_sizes = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(check_sizes)
	assert check_sizes.check([ROOT / "tuktuk_management" / "ledger"]) == []
