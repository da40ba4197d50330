"""Size limits: no module under tuktuk_management/ledger/ over 500 lines, no function over 70.

	python scripts/check_sizes.py [PATH ...]   # default: tuktuk_management/ledger

Prints each module over the line limit and each function (or method) over the function limit,
then one summary line; exits 1 if anything is over.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LINES_MAX = 500
FUNCTION_LINES_MAX = 70


def check(paths: list[Path]) -> list[str]:
	problems = []
	files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py")))
	for file in files:
		text = file.read_text()
		lines = len(text.splitlines())
		if lines > MODULE_LINES_MAX:
			problems.append(f"{file}: module has {lines} lines (max {MODULE_LINES_MAX})")
		for node in ast.walk(ast.parse(text, str(file))):
			if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
				first = min([node.lineno] + [d.lineno for d in node.decorator_list])
				size = node.end_lineno - first + 1
				if size > FUNCTION_LINES_MAX:
					problems.append(
						f"{file}:{node.lineno}: function {node.name} has {size} lines (max {FUNCTION_LINES_MAX})"
					)
	print("\n".join([*problems, f"{len(files)} modules checked, {len(problems)} over the limits"]))
	return problems


if __name__ == "__main__":
	targets = [Path(arg) for arg in sys.argv[1:]] or [
		Path(__file__).resolve().parent.parent / "tuktuk_management/ledger"
	]
	sys.exit(1 if check(targets) else 0)
