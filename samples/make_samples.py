"""Write the sample fleet and a sample day of C2B confirmations (deterministic, seeded).

    python samples/make_samples.py            # rewrites samples/fleet.json and samples/callbacks.jsonl
    python samples/make_samples.py --hot 2000 --out /tmp/hot.jsonl   # N payments to one vehicle

Bodies follow shared/daraja/c2b_confirmation_sample.json: TransAmount a string, TransTime
YYYYMMDDHHmmss (EAT), MSISDN masked.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from tuktuk_management.daraja import models

HERE = Path(__file__).resolve().parent
PAYBILL = "600966"
DAY = datetime(2026, 11, 21, 6, 0, 0)
FIRST_NAMES = ["JOHN", "MARY", "PETER", "GRACE", "JAMES", "ALICE", "DAVID", "RUTH"]


def fleet() -> list[dict]:
	docs: list[dict] = [
		{
			"doctype": "TukTuk Settings",
			"name": "TukTuk Settings",
			"global_daily_target": 3000,
			"global_fare_percentage": 50,
			"mpesa_paybill": PAYBILL,
		}
	]
	for number in range(1, 11):
		docs.append(
			{
				"doctype": "TukTuk Vehicle",
				"name": f"TT{number:03d}",
				"tuktuk_id": f"TT{number:03d}",
				"mpesa_account": f"TT{number:03d}",
				"status": "Active",
			}
		)
	for number in range(1, 10):
		driver = {
			"doctype": "TukTuk Driver",
			"name": f"D{number:06d}",
			"driver_name": f"Driver {number}",
			"sunny_id": f"D{number:06d}",
			"mpesa_number": f"2547000000{number:02d}",
			"assigned_tuktuk": f"TT{number:03d}",
			"status": "Active",
			"daily_target": 0,
			"fare_percentage": 0,
		}
		if number == 2:
			driver["daily_target"] = 2000
		if number == 3:
			driver["fare_percentage"] = 40
		if number == 4:
			driver["current_balance"] = 200
			driver["current_deposit_balance"] = 500
		if number == 9:
			driver["status"] = "Inactive"
			driver["assigned_tuktuk"] = None
		docs.append(driver)
	return docs  # TT009 and TT010 have no active driver


class Payments:
	def __init__(self, seed: int):
		self.rng = random.Random(seed)
		self.clock = DAY
		self.used: set[str] = set()

	def trans_id(self) -> str:
		while True:
			value = "TKL" + "".join(self.rng.choices(string.ascii_uppercase + string.digits, k=7))
			if value not in self.used:
				self.used.add(value)
				return value

	def body(self, account: str, amount: int) -> dict:
		self.clock += timedelta(seconds=self.rng.randint(20, 200))
		return models.c2b_body(
			trans_id=self.trans_id(),
			trans_time=self.clock.strftime("%Y%m%d%H%M%S"),
			amount=f"{amount}.00",
			account=account,
			shortcode=PAYBILL,
			org_account_balance=f"{self.rng.randint(10_000, 900_000)}.00",
			msisdn=f"2547 ***** {self.rng.randint(100, 999)}",
			first_name=self.rng.choice(FIRST_NAMES),
		)


def sample_day(seed: int = 20261121) -> list[dict]:
	payments = Payments(seed)
	rng = payments.rng
	bodies: list[dict] = []
	for _ in range(240):
		vehicle = rng.choice([f"TT{n:03d}" for n in range(1, 9)] * 3 + ["TT009", "TT010"])
		account = rng.choice([vehicle, vehicle.lower(), f" {vehicle} "]) if rng.random() < 0.2 else vehicle
		bodies.append(payments.body(account, rng.choice([50, 70, 100, 100, 150, 200, 250, 300, 500])))
	for number in (1, 4, 5):  # repayments to Sunny IDs
		bodies.append(payments.body(f"D{number:06d}", rng.choice([300, 800, 1500])))
	bodies.append(payments.body("D000009", 400))  # inactive driver: suspense
	bodies.append(payments.body("UNKNOWN42", 100))  # unknown account: suspense
	bodies.append(payments.body("", 60))  # no account number: suspense
	redelivered = [dict(body) for body in rng.sample(bodies, 25)]  # Daraja redeliveries, identical
	conflict = dict(rng.choice(bodies))
	conflict["TransAmount"] = str(int(float(conflict["TransAmount"])) + 1000)
	invalid = [
		{**payments.body("TT001", 100), "TransAmount": "99.50"},
		{key: value for key, value in payments.body("TT002", 100).items() if key != "TransID"},
		{**payments.body("TT003", 100), "BusinessShortCode": "174379"},
	]
	everything = bodies + redelivered + [conflict] + invalid
	rng.shuffle(everything)
	return everything


def hot_day(count: int, seed: int = 7) -> list[dict]:
	payments = Payments(seed)
	bodies = [payments.body("TT001", payments.rng.choice([50, 100, 150, 200])) for _ in range(count)]
	bodies += [dict(body) for body in payments.rng.sample(bodies, count // 10)]
	payments.rng.shuffle(bodies)
	return bodies


def write_jsonl(path: Path, bodies: list[dict]) -> None:
	path.write_text("".join(json.dumps(body) + "\n" for body in bodies) + "not json at all\n")


def main() -> None:
	parser = argparse.ArgumentParser()
	parser.add_argument(
		"--hot", type=int, default=0, help="write N payments to vehicle TT001 (+10%% redelivered)"
	)
	parser.add_argument("--out", type=Path)
	args = parser.parse_args()
	if args.hot:
		path = args.out or HERE / "hot.jsonl"
		path.write_text("".join(json.dumps(body) + "\n" for body in hot_day(args.hot)))
		return
	(HERE / "fleet.json").write_text(json.dumps(fleet(), indent=1) + "\n")
	write_jsonl(HERE / "callbacks.jsonl", sample_day())


if __name__ == "__main__":
	main()
