/* SPDX-License-Identifier: MIT */
#pragma once

/* Accepts "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3". Returns 0 or -EINVAL. */
int husk_signal_parse(const char *s, int *ret);
const char *husk_signal_name(int sig);
