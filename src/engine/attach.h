/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The monitor's attach protocol: a SOCK_SEQPACKET unix socket
 * (containers/<id>/attach.sock, or a socketpair end handed over at start),
 * one message per packet, its first byte the kind, the rest the payload.
 */

/* monitor -> client */
#define ATTACH_STDOUT 'o' /* output */
#define ATTACH_STDERR 'e'
#define ATTACH_EXIT   'x' /* the exit status, in decimal; the last message */
/* The exit status, to the client that launched the run (its "owner"):
 * the exit is that client's to record, in its own process (no exec of
 * husk in the monitor); it answers ATTACH_DONE once it did. */
#define ATTACH_HANDOFF 'h'

/* client -> monitor */
#define ATTACH_STDIN	   'i' /* input */
#define ATTACH_CLOSE_STDIN 'c' /* EOF on the client's stdin */
#define ATTACH_RESIZE	   'r' /* "ROWS COLS" */
#define ATTACH_SIGNAL	   's' /* a signal number, sent to the init */
#define ATTACH_DONE	   'd' /* the owner recorded the exit handed off */

#define ATTACH_MAX_PACKET 32768
