"""Who is calling a callback URL, whether to let them in, and what is kept of a refused call (DESIGN §7).

Three pieces, framework-free (the endpoints in ``api/`` call them with ``frappe.db``):

- :func:`client_address`: the caller's address from the trusted end of the proxy chain. A
  client controls the whole ``X-Forwarded-For`` header it sends; each proxy in front of the app
  only appends (or, like the nginx that ``bench setup production`` writes, overwrites it with)
  the address it saw. So the N-th entry from the END, N being the number of proxies we trust,
  is the first address no client could choose. ``trusted_proxy_count = 0``: the connection's
  own address (``REMOTE_ADDR``), for an app reached without a proxy.
- :func:`check_caller`: the token (constant-time compare), then the IP allowlist against that
  address; the reason for a refusal, or "".
- :func:`record_refusal`: a refused call is stored in full (a Rejected TukTuk Callback Log) only
  up to ``refused_calls_stored_per_minute`` per source address and minute; every refused call
  is counted in one TukTuk Refused Call Summary row per address and minute (one atomic
  ``INSERT ... ON DUPLICATE KEY UPDATE``), so a flood adds a bounded number of rows. The call
  that crosses the bound asks the caller to alert the managers, at most once per address per
  ``ALERT_WINDOW_MINUTES``. Accepted calls never come here: Daraja traffic is never limited.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from tuktuk_management.ledger.callback_log import store_callback
from tuktuk_management.ledger.database import Database, affected_rows
from tuktuk_management.ledger.rows import sql_datetime
from tuktuk_management.ledger.settings import ip_allowed
from tuktuk_management.ledger.status import LogStatus

SUMMARY_DOCTYPE = "TukTuk Refused Call Summary"
ALERT_WINDOW_MINUTES = 60
ADDRESS_CHARS_MAX = 140
FORWARDED_FOR_CHARS_MAX = 1_000
IPV6_RATE_PREFIX = 64  # one IPv6 host usually owns a whole /64: count it as one source
UNKNOWN_ADDRESS = "unknown"

REFUSED_NO_TOKEN_SET = "no callback token is configured in TukTuk Settings"
REFUSED_TOKEN = "missing or wrong token"
REFUSED_ALLOWLIST_UNPARSABLE = "Allowed Callback IPs in TukTuk Settings cannot be parsed"
REFUSED_ADDRESS = "source IP is not in Allowed Callback IPs"


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted_proxy_count: int) -> str:
	"""The caller's address as the trusted proxies saw it; "" if it cannot be known.

	remote_addr: the connection's peer address (WSGI ``REMOTE_ADDR``). forwarded_for: the raw
	``X-Forwarded-For`` header ("" or None if absent; several headers joined by commas).
	trusted_proxy_count: proxies in front of the app (0 = none: ``remote_addr`` is the caller;
	N = the N-th entry from the end of ``forwarded_for``). Empty entries are skipped (no proxy
	writes one); an entry ``a.b.c.d:port`` or ``[v6]:port`` gives its address. If the header has
	fewer than N entries the request did not pass every trusted proxy: "" (refused by an
	allowlist). Raises ValueError for a negative count.
	"""
	if trusted_proxy_count < 0:
		raise ValueError(f"trusted_proxy_count must be >= 0, got {trusted_proxy_count}")
	if trusted_proxy_count == 0:
		return _address_of((remote_addr or "").strip())
	entries = [entry.strip() for entry in (forwarded_for or "").split(",")]
	entries = [entry for entry in entries if entry]
	if len(entries) < trusted_proxy_count:
		return ""
	return _address_of(entries[-trusted_proxy_count])


def _address_of(entry: str) -> str:
	"""The canonical address in ``entry`` (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``); else the
	entry as given (an allowlist refuses it, the log shows it)."""
	candidates = [entry]
	if entry.startswith("[") and "]" in entry:
		candidates.append(entry[1 : entry.index("]")])
	elif entry.count(":") == 1:
		candidates.append(entry.split(":", 1)[0])
	for candidate in candidates:
		try:
			return str(ipaddress.ip_address(candidate))
		except ValueError:
			continue
	return entry[:ADDRESS_CHARS_MAX]


def check_caller(supplied_token: str, expected_token: str | None, address: str, allowlist_text: str) -> str:
	"""Why a callback caller is refused, or "" if it is let in.

	supplied_token: the ``token`` query parameter; expected_token: TukTuk Settings
	``callback_token`` (None/"" = not configured: everyone is refused); address: from
	:func:`client_address`; allowlist_text: ``allowed_callback_ips`` ("" = any address).
	The token is compared in constant time.
	"""
	if not expected_token:
		return REFUSED_NO_TOKEN_SET
	if not hmac.compare_digest((supplied_token or "").encode("utf-8"), expected_token.encode("utf-8")):
		return REFUSED_TOKEN
	try:
		allowed = ip_allowed(address, allowlist_text)
	except ValueError:
		return REFUSED_ALLOWLIST_UNPARSABLE
	return "" if allowed else REFUSED_ADDRESS


def rate_key(address: str) -> str:
	"""The source a refused call is counted under: the IPv4 address, the IPv6 /64, or the text."""
	try:
		parsed = ipaddress.ip_address(address)
	except ValueError:
		return (address or UNKNOWN_ADDRESS)[:ADDRESS_CHARS_MAX]
	if parsed.version == 6:
		return str(ipaddress.ip_network(f"{parsed}/{IPV6_RATE_PREFIX}", strict=False))
	return str(parsed)


@dataclass(frozen=True)
class RefusalRecord:
	"""What was kept of one refused call.

	callback_log: the Rejected TukTuk Callback Log stored for it, or None when the per-minute
	bound was already reached (then it is only counted). refused_in_minute: its ordinal among the
	refused calls of its source in its minute (1 = first). summary: the TukTuk Refused Call
	Summary row that counts it. alert: True for the one call per source and alert window that
	crossed the bound: the caller alerts the managers (after committing).
	"""

	callback_log: str | None
	refused_in_minute: int
	summary: str
	source: str
	alert: bool


_COUNT_REFUSAL = f"""insert into `tab{SUMMARY_DOCTYPE}` (name, creation, modified, modified_by, owner,
	docstatus, idx, source_address, minute_start, refused_count, last_endpoint, last_error,
	last_forwarded_for, alerted)
	values (%s, %s, %s, 'Guest', 'Guest', 0, 0, %s, %s, 1, %s, %s, %s, 0)
	on duplicate key update refused_count = last_insert_id(refused_count + 1),
	modified = values(modified), last_endpoint = values(last_endpoint),
	last_error = values(last_error), last_forwarded_for = values(last_forwarded_for)"""
_ALERTED_RECENTLY = f"""select name from `tab{SUMMARY_DOCTYPE}`
	where source_address = %s and minute_start > %s and alerted = 1 limit 1"""
_CLAIM_ALERT = f"update `tab{SUMMARY_DOCTYPE}` set alerted = 1 where name = %s and alerted = 0"


def record_refusal(
	db: Database,
	*,
	endpoint: str,
	address: str,
	remote_addr: str | None,
	forwarded_for: str | None,
	raw_body: bytes | str,
	error: str,
	now: datetime,
	stored_per_minute_max: int,
	legacy_url: str | None = None,
) -> RefusalRecord:
	"""Count a refused call in its source's minute row and store it in full while under the bound.

	address: from :func:`client_address` ("" = unknown); remote_addr / forwarded_for: the raw
	connection address and header, kept on the stored log; raw_body: truncated by
	:func:`~tuktuk_management.ledger.callback_log.store_callback`; now: the site clock (naive);
	stored_per_minute_max: TukTuk Settings ``refused_calls_stored_per_minute`` (>= 0); legacy_url:
	the original app's URL the call came to (kept on the stored log). The caller
	commits. Concurrent refusals from one source serialise on its minute row for one statement.
	"""
	assert stored_per_minute_max >= 0
	source = rate_key(address)
	minute = now.replace(second=0, microsecond=0)
	summary = f"{minute:%Y%m%d-%H%M} {source}"
	at = sql_datetime(now)
	header = (forwarded_for or "")[:FORWARDED_FOR_CHARS_MAX]
	db.sql(_COUNT_REFUSAL, (summary, at, at, source, sql_datetime(minute), endpoint, error[:140], header))
	# 1 row affected: inserted (first refusal of the minute); 2: the count went up, and
	# last_insert_id() holds the new count on this connection.
	ordinal = 1 if affected_rows(db) == 1 else int(db.sql("select last_insert_id()")[0][0])
	log = None
	if ordinal <= stored_per_minute_max:
		log = store_callback(
			db,
			endpoint=endpoint,
			raw_body=raw_body,
			received_at=now,
			source_ip=address or (remote_addr or ""),
			forwarded_for=header,
			remote_addr=remote_addr or "",
			status=LogStatus.REJECTED,
			error=error,
			legacy_url=legacy_url,
		)
	alert = ordinal == stored_per_minute_max + 1 and _claim_alert(db, summary, source, minute)
	return RefusalRecord(log, ordinal, summary, source, alert)


def _claim_alert(db: Database, summary: str, source: str, minute: datetime) -> bool:
	"""True once per source and alert window: marks the minute row as the one that alerted."""
	since = sql_datetime(minute - timedelta(minutes=ALERT_WINDOW_MINUTES))
	if db.sql(_ALERTED_RECENTLY, (source, since)):
		return False
	db.sql(_CLAIM_ALERT, (summary,))
	return affected_rows(db) == 1
