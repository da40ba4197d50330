"""Write the M-Pesa statement export of the sample day (samples/statement.csv), deterministic.

    python samples/make_statement.py [--out samples/statement.csv]

Every valid payment of samples/callbacks.jsonl as a Paid In line (first delivery of each
TransID), plus what the callbacks never told the books: three payments whose confirmation was
lost (TKLMISS001..003) and a transfer to the bank made in the portal. Payout lines are left out:
the sample day's payouts are never sent. Replay the day, import this file, match and recover:

    python -m tuktuk_management.cli replay samples/callbacks.jsonl
    python -m tuktuk_management.cli import-statement samples/statement.csv
    python -m tuktuk_management.cli match      # exit 1: 3 payments Not in Books, 1 withdrawal
    python -m tuktuk_management.cli recover    # applies the 3 missed payments once
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from tuktuk_management.daraja import models
from tuktuk_management.ledger.mpesa_statement.parse import write_statement

HERE = Path(__file__).resolve().parent
PAYBILL = "600966"
OPENING_BALANCE_KES = Decimal(150_000)
MISSED = [
	("TKLMISS001", "20261121083000", Decimal(200), "TT001"),
	("TKLMISS002", "20261121113000", Decimal(350), "TT003"),
	("TKLMISS003", "20261121143000", Decimal(120), "D000002"),
]


def payments() -> list[tuple[str, str, Decimal, str]]:
	seen: dict[str, tuple[str, str, Decimal, str]] = {}
	for raw in (HERE / "callbacks.jsonl").read_text(encoding="utf-8").splitlines():
		try:
			callback = models.parse_c2b(raw)
		except models.InvalidCallback:
			continue
		if callback.BusinessShortCode == PAYBILL and callback.TransID not in seen:
			body = json.loads(raw)
			seen[callback.TransID] = (
				callback.TransID,
				callback.TransTime,
				Decimal(body["TransAmount"]),
				callback.BillRefNumber,
			)
	return list(seen.values()) + MISSED


def statement_lines() -> list[dict]:
	events = [
		{
			"receipt_no": trans_id,
			"completion_time": datetime.strptime(trans_time, "%Y%m%d%H%M%S"),
			"details": f"Pay Bill Online from 2547***** Acc. {account}",
			"paid_in": amount,
			"reason_type": "Pay Bill Online",
			"other_party_info": "2547******** - CUSTOMER",
			"account_no": account,
		}
		for trans_id, trans_time, amount, account in payments()
	]
	events.append(
		{
			"receipt_no": "TKLBANK001",
			"completion_time": datetime(2026, 11, 21, 17, 0, 0),
			"details": "Business Transfer to Bank - EQUITY BANK",
			"withdrawn": Decimal(20_000),
			"reason_type": "Business Transfer to Bank",
			"other_party_info": "EQUITY BANK",
		}
	)
	events.sort(key=lambda event: (event["completion_time"], event["receipt_no"]))
	balance = OPENING_BALANCE_KES
	for event in events:
		balance += event.get("paid_in", 0) - event.get("withdrawn", 0)
		event["balance"] = f"{balance:,.2f}"
		event["transaction_status"] = "Completed"
		event["balance_confirmed"] = "true"
		event["initiation_time"] = event["completion_time"]
		for key in ("paid_in", "withdrawn"):
			event[key] = f"{event[key]:,.2f}" if key in event else ""
		for key in ("completion_time", "initiation_time"):
			event[key] = event[key].strftime("%d-%m-%Y %H:%M:%S")
	return events


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--out", default=str(HERE / "statement.csv"))
	args = parser.parse_args()
	Path(args.out).write_text(write_statement(statement_lines()), encoding="utf-8")
	print(args.out)


if __name__ == "__main__":
	main()
