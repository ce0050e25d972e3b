/* SPDX-License-Identifier: MIT */
#pragma once

/* What the verbs that act on a container share: waiting for it to stop,
 * stopping it, healing a record whose monitor died. */

#include "record.h"

/* Waits until the container no longer runs: its monitor gone (or, with no
 * monitor, its init), up to timeout_ms (-1: for ever). Returns 0 once
 * stopped, 1 on timeout. The state is read again after. */
int ctr_wait_stopped(struct ctr *c, int timeout_ms, husk_error **err);
/* The stop signal, then KILL after timeout seconds (-1: never), and waits:
 * the restart policy leaves it stopped. */
int ctr_stop(struct engine *e, struct ctr *c, int timeout, husk_error **err);
/* Running, restarting, or being started by a live process: what is
 * mounted and what the core holds for it is in use. */
bool ctr_busy(const struct ctr *c);
/* Whether the record needs healing: its monitor, or the process that was
 * starting it, was killed (or it ran unmonitored and its init is gone). */
bool ctr_needs_heal(const struct ctr *c);
/* Such a record made true, under the lock, from what the core says: a
 * process that runs is recorded running with no monitor (stop and rm -f
 * kill it through the core); otherwise what the core holds (an init left
 * waiting for its start included) and the overlay are removed, and it is
 * exited (code 255, its monitor killed) or, a start interrupted, as it was
 * before, with the reason in its error. An --rm container that so exited
 * is removed: 1. Nothing to heal: 0. */
int ctr_heal(struct engine *e, struct ctr *c, husk_error **err);
/* What a start that failed may have left, removed: its process (started
 * before its monitor died), the core's state, the overlay. The caller
 * holds the lock and records the failure. */
void ctr_start_undo(struct engine *e, struct ctr *c);
/* Docker's "5 seconds", "About a minute", "2 hours", from an RFC 3339 time. */
void human_since(const char *rfc3339, char *buf, size_t len);
/* Seconds since the epoch of an RFC 3339 time (0 when not one). */
double rfc3339_seconds(const char *s);
