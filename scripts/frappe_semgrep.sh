#!/usr/bin/env bash
# Frappe's semgrep rules (frappe/semgrep-rules, as Frappe's own apps run them) on this app.
#
#   bash scripts/frappe_semgrep.sh [FILE ...]      # default: tuktuk_management
#
# Needs `semgrep` on PATH (pre-commit installs it for the hook in .pre-commit-config.yaml;
# by hand: pip install semgrep). The rules come from $FRAPPE_SEMGREP_RULES (a local checkout of
# frappe/semgrep-rules) or are cloned once, at the pinned commit below, into
# ~/.cache/tuktuk_management/frappe-semgrep-rules. Not part of CI (which has no GitHub access).
# Findings are fixed, or marked on (or just above) the line with the rule's id and the reason:
#   frappe.db.commit()  # nosemgrep: frappe-manual-commit -- why this commit is the unit of work
set -euo pipefail
cd "$(dirname "$0")/.."
RULES_COMMIT=92e1241cd9894caf478f644e8383f908824b1950
rules="${FRAPPE_SEMGREP_RULES:-}"
if [ -z "$rules" ]; then
	rules="${XDG_CACHE_HOME:-$HOME/.cache}/tuktuk_management/frappe-semgrep-rules"
	if [ ! -d "$rules/.git" ]; then
		git clone -q https://github.com/frappe/semgrep-rules "$rules" || {
			echo "frappe_semgrep: could not clone the rules; set FRAPPE_SEMGREP_RULES to a local copy" >&2
			exit 2
		}
	fi
	git -C "$rules" -c advice.detachedHead=false checkout -q "$RULES_COMMIT"
fi
[ $# -gt 0 ] || set -- tuktuk_management
exec semgrep scan --metrics=off --disable-version-check --error --timeout 60 --config "$rules/rules" "$@"
