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
/* A record that says running while neither its monitor nor its init lives
 * any more (both killed) is made true: the core's state and the overlay
 * are cleaned up and it is exited, with the reason. Takes the lock. */
int ctr_heal(struct engine *e, struct ctr *c, husk_error **err);
/* Docker's "5 seconds", "About a minute", "2 hours", from an RFC 3339 time. */
void human_since(const char *rfc3339, char *buf, size_t len);
/* Seconds since the epoch of an RFC 3339 time (0 when not one). */
double rfc3339_seconds(const char *s);
