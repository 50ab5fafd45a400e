/**
 * Ends kafkajs 2.2.4's idle timer loop (kafkajs issues #1556 and #1704, fix proposed in pull request #1667,
 * never released). `scheduleCheckPendingRequests` re-arms a timer even when nothing is pending and nothing
 * throttles: its delay is then `-1 - Date.now()`, which Node runs as 1 ms, and the callback schedules the
 * next. So every broker connection of every process wakes ~1,000 times a second for as long as it lives:
 * the bridge, the dispatcher's consumers, the bench. On two cores that CPU is taken from Cassandra.
 *
 * A check is only needed for a request waiting in `pending`: one pushed there arms the timer (push calls
 * this), one freed by a response or a timeout is sent by `checkPendingRequests` directly, so with nothing
 * pending there is nothing to wake for. Applied once, on import, to the class kafkajs itself requires.
 */
import RequestQueue from 'kafkajs/src/network/requestQueue/index.js';

/** kafkajs's own interval when a request waits without a throttle (its CHECK_PENDING_REQUESTS_INTERVAL). */
const CHECK_PENDING_MS = 10;

/** kafkajs's own method, kept so a test can show it still loops: when it stops, this file can go. */
export const kafkajsScheduleCheck = RequestQueue.prototype.scheduleCheckPendingRequests;

RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(
  this: RequestQueue,
) {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttled > 0 ? throttled : CHECK_PENDING_MS,
  );
};
