/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include <husk/error.h>

/* The client side of the monitor's attach protocol (attach.h), in the
 * foreground: the container's output to our stdout and stderr, our stdin to
 * it (with stdin_open), SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2
 * sent on to it, and with a tty our terminal in raw mode, its size
 * followed, and ctrl-p ctrl-q to detach. Returns ATTACH_EXITED with
 * *ret_status once the monitor tells the exit status, ATTACH_DETACHED after
 * the detach keys, ATTACH_LOST when the monitor went away without telling,
 * ATTACH_HANDED with *ret_status when the monitor handed the exit over
 * (attach.h: ATTACH_HANDOFF; the caller records it, then sends ATTACH_DONE). */
enum { ATTACH_LOST = 0, ATTACH_EXITED = 1, ATTACH_DETACHED = 2, ATTACH_HANDED = 3 };
int attach_run(int sock, bool tty, bool stdin_open, int *ret_status, husk_error **err);
/* Connects to containers/<id>/attach.sock. */
int attach_connect(const char *dir, int *ret_fd, husk_error **err);
