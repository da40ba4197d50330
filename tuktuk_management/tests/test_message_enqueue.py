"""The payment path enqueues the SMS sender at most once a second per process (tasks.enqueue_message_job
with ``throttle``); other callers always enqueue. The sender's lingering, which makes this safe, is
tested framework-free in tests/test_message_sender.py."""

from __future__ import annotations

import time

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils.background_jobs import get_job

from tuktuk_management import tasks


def pending_callbacks() -> int:
	return len(frappe.db.after_commit._functions)


def drop_queued_sender() -> None:
	"""Frappe does not enqueue a job whose id is queued already: start from none."""
	job = get_job(MESSAGE_JOB_ID)
	if job:
		job.delete()


MESSAGE_JOB_ID = "tuktuk_management:send_messages"


class TestMessageEnqueue(FrappeTestCase):
	def setUp(self):
		drop_queued_sender()
		tasks._message_job_enqueued_at.pop(frappe.local.site, None)
		frappe.db.after_commit.reset()

	def tearDown(self):
		frappe.db.after_commit.reset()
		drop_queued_sender()

	def test_throttled_enqueue_once_a_second_after_commit(self):
		tasks.enqueue_message_job(throttle=True)
		self.assertEqual(pending_callbacks(), 2)  # the enqueue and the time stamp, after commit
		frappe.db.after_commit.reset()  # a rollback: nothing enqueued, no time stamp
		tasks.enqueue_message_job(throttle=True)
		self.assertEqual(pending_callbacks(), 2)  # not throttled: the last one never committed
		frappe.db.commit()
		self.assertIn(frappe.local.site, tasks._message_job_enqueued_at)
		tasks.enqueue_message_job(throttle=True)  # within the second: left to the lingering job
		self.assertEqual(pending_callbacks(), 0)
		drop_queued_sender()  # the commit above enqueued it
		tasks.enqueue_message_job()  # unthrottled callers (broadcasts, the five-minute job) always enqueue
		self.assertEqual(pending_callbacks(), 2)
		frappe.db.after_commit.reset()
		tasks._message_job_enqueued_at[frappe.local.site] = (
			time.monotonic() - tasks.MESSAGE_ENQUEUE_INTERVAL_S
		)
		tasks.enqueue_message_job(throttle=True)  # a second later: enqueued again
		self.assertEqual(pending_callbacks(), 2)
		frappe.db.after_commit.reset()
