"""Running the ledger core without Frappe: a mysqlclient connection and tables built from DocType JSON."""
