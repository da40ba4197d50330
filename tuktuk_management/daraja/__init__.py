"""Daraja (M-Pesa API) payload models and, later, the HTTP client. No frappe import here."""
