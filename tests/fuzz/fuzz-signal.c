/* SPDX-License-Identifier: MIT */
/* Signal names and numbers of kill and of the stop signal ("TERM", "SIGKILL",
 * "9", "RTMIN+3"). */
#include <errno.h>
#include <signal.h>

#include "fuzz.h"
#include "signals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	const char *name;
	int sig = -12345, again = -1, r;

	r = husk_signal_parse(s, &sig);
	FUZZ_ASSERT(r == 0 || r == -EINVAL);
	if (r == 0) {
		FUZZ_ASSERT(sig >= 1 && sig <= SIGRTMAX);
		/* A name we print must parse back to the same signal (SIGIOT and
		 * SIGABRT, SIGCLD and SIGCHLD, SIGPOLL and SIGIO share numbers). */
		name = husk_signal_name(sig);
		if (name != NULL) {
			FUZZ_ASSERT(husk_signal_parse(name, &again) == 0);
			FUZZ_ASSERT(again == sig);
		}
	} else {
		FUZZ_ASSERT(sig == -12345); /* ret untouched on failure */
	}
	free(s);
	return 0;
}
