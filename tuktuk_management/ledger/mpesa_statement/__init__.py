"""The books against M-Pesa's own statement (DESIGN §9): import, match, recover.

- :mod:`.parse` reads the organisation portal's CSV export into :class:`.parse.StatementLine`
  values (amounts as Decimal), tolerant of header spellings, strict about malformed rows.
- :mod:`.store` stores the lines once per receipt (TukTuk Statement Import / TukTuk Statement Line).
- :mod:`.match` matches each line to the books by receipt number and posts fee lines once.
- :mod:`.recover` recovers missed payments through the C2B confirmation path and settles payouts
  the statement proves paid through the payout lifecycle.
"""
