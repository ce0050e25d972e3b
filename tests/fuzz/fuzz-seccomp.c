/* SPDX-License-Identifier: MIT */
/* linux.seccomp of config.json (and --seccomp FILE): validated and compiled to
 * BPF, never loaded. */
#include <jansson.h>
#include <stdbool.h>

#include "fuzz.h"
#include "seccomp_filter.h"

/* run.sh --no-known: leave out the inputs of the open libseccomp findings (see
 * README.md), which the fuzzer finds again within minutes otherwise. */
static bool skip_known;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	skip_known = getenv("HUSK_FUZZ_NO_KNOWN") != NULL;
	return 0;
}

/* The shape of the hang, widened: an entry that compares several arguments,
 * one of them with a range operator. */
static bool has_known_hang(json_t *cfg)
{
	json_t *entry, *arg;
	size_t i, j;

	json_array_foreach (json_object_get(cfg, "syscalls"), i, entry) {
		bool range = false, several = false, repeated = false;
		json_int_t first = -1;
		unsigned seen = 0;

		json_array_foreach (json_object_get(entry, "args"), j, arg) {
			const char *op = json_string_value(json_object_get(arg, "op"));
			json_int_t index = json_integer_value(json_object_get(arg, "index"));

			range |= op && (strstr(op, "_LT") || strstr(op, "_LE") ||
					strstr(op, "_GT") || strstr(op, "_GE"));
			several |= first >= 0 && index != first;
			if (first < 0)
				first = index;
			/* EQ and NE on one argument and a comparison of another
			 * hang too, with no range operator at all */
			if (index >= 0 && index < 6) {
				repeated |= (seen >> index) & 1;
				seen |= 1u << index;
			}
		}
		if ((range || repeated) && several)
			return true;
	}
	return false;
}

/*
 * The shape of the leak: a rule whose comparisons are the tail of those of an
 * earlier rule for the same syscall, once that syscall has another rule with
 * comparisons. The rules are those add_rule_alternatives() adds, one per name
 * and choice of alternatives, in the same order. Widened: actions told apart
 * by name only, comparisons by argument and the low 32 bits of mask and value
 * only (all a 32-bit filter keeps), any earlier rule of the same action that
 * compares what the later one does and more counts, and so does a later
 * comparison that a 32-bit filter drops (a mask with no low bits).
 *
 * The x86, mipsel and ppc64le filters (and the big-endian mips, ppc and s390
 * ones) turn the socket and IPC syscalls into socketcall and ipc with
 * argument 0 == the call's number in place of any comparison of argument 0:
 * with one of them listed, such a rule is one of socketcall or ipc too.
 */
#define MAX_ARGS	 6
#define MAX_ALTERNATIVES 256

struct known_rule {
	const char *name, *action;
	size_t seq;
	unsigned int args; /* bit i: argument i is compared */
	unsigned int kept; /* those a 32-bit filter keeps */
	uint32_t mask[MAX_ARGS], datum[MAX_ARGS];
};

struct known_rules {
	struct known_rule *v;
	size_t n, cap;
};

/* The calls of socketcall(2) and ipc(2), by number (linux/net.h, linux/ipc.h). */
static const char *const socket_calls[] = {
    NULL,	   "socket",	 "bind",    "connect", "listen",  "accept",   "getsockname",
    "getpeername", "socketpair", "send",    "recv",    "sendto",  "recvfrom", "shutdown",
    "setsockopt",  "getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg",
};
static const char *const ipc_calls[] = {
    [1] = "semop",   [2] = "semget",  [3] = "semctl",  [4] = "semtimedop",
    [11] = "msgsnd", [12] = "msgrcv", [13] = "msgget", [14] = "msgctl",
    [21] = "shmat",  [22] = "shmdt",  [23] = "shmget", [24] = "shmctl",
};

/* "socketcall" or "ipc" when NAME is one of their calls, with its number. */
static const char *muxed_into(const char *name, uint32_t *call)
{
	for (*call = 1; *call < sizeof(socket_calls) / sizeof(socket_calls[0]); (*call)++)
		if (strcmp(name, socket_calls[*call]) == 0)
			return "socketcall";
	for (*call = 1; *call < sizeof(ipc_calls) / sizeof(ipc_calls[0]); (*call)++)
		if (ipc_calls[*call] != NULL && strcmp(name, ipc_calls[*call]) == 0)
			return "ipc";
	return NULL;
}

static bool lists_muxing_arch(json_t *cfg)
{
	static const char *const arches[] = {
	    "SCMP_ARCH_X86",   "SCMP_ARCH_MIPS",    "SCMP_ARCH_MIPSEL", "SCMP_ARCH_PPC",
	    "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",	"SCMP_ARCH_S390X",
	};
	json_t *e;
	size_t i;

	json_array_foreach (json_object_get(cfg, "architectures"), i, e)
		for (size_t a = 0; a < sizeof(arches) / sizeof(arches[0]); a++)
			if (json_is_string(e) && strcmp(json_string_value(e), arches[a]) == 0)
				return true;
	return false;
}

static void add_known_rule(struct known_rules *rules, const struct known_rule *r)
{
	if (rules->n == rules->cap) {
		rules->cap = rules->cap ? rules->cap * 2 : 64;
		rules->v = realloc(rules->v, rules->cap * sizeof(*rules->v));
		if (rules->v == NULL)
			abort();
	}
	rules->v[rules->n] = *r;
	rules->v[rules->n].seq = rules->n;
	rules->n++;
}

/* The rules of one entry, as add_rule_alternatives() makes them: one per
 * choice of one comparison for each argument compared. None when husk would
 * refuse the entry for its arguments. */
static void add_entry_rules(struct known_rules *rules, json_t *entry, bool mux)
{
	const char *action = json_string_value(json_object_get(entry, "action"));
	json_t *args = json_object_get(entry, "args"), *arg, *name;
	size_t n = json_array_size(args), first[MAX_ARGS] = {0}, count[MAX_ARGS] = {0};
	size_t pick[MAX_ARGS] = {0}, total = 1, i, a, k;
	struct known_rule *cmps, r;
	const char *mux_name;
	uint32_t call;

	cmps = calloc(n ? n : 1, sizeof(*cmps));
	if (cmps == NULL)
		abort();
	/* one comparison each, by argument as sort_by_arg() orders them */
	for (a = 0, k = 0; a < MAX_ARGS; a++) {
		json_array_foreach (args, i, arg) {
			json_int_t index = json_integer_value(json_object_get(arg, "index"));
			uint64_t value =
			    (uint64_t)json_integer_value(json_object_get(arg, "value"));
			uint64_t two =
			    (uint64_t)json_integer_value(json_object_get(arg, "valueTwo"));
			const char *op = json_string_value(json_object_get(arg, "op"));
			bool masked = op && strcmp(op, "SCMP_CMP_MASKED_EQ") == 0;
			uint64_t mask = masked ? value : UINT64_MAX;

			if (index < 0 || index >= MAX_ARGS)
				goto out;
			if ((size_t)index != a)
				continue;
			if (count[a]++ == 0)
				first[a] = k;
			cmps[k].args = 1U << a;
			cmps[k].kept = (uint32_t)mask != 0 ? cmps[k].args : 0;
			cmps[k].mask[a] = (uint32_t)mask;
			cmps[k].datum[a] = (uint32_t)(masked ? two & mask : value);
			k++;
		}
	}
	for (a = 0; a < MAX_ARGS && total <= MAX_ALTERNATIVES; a++)
		total *= count[a] ? count[a] : 1;
	if (total > MAX_ALTERNATIVES)
		goto out;
	json_array_foreach (json_object_get(entry, "names"), i, name) {
		if (!json_is_string(name))
			continue;
		for (;;) {
			r = (struct known_rule){.name = json_string_value(name), .action = action};
			for (a = 0; a < MAX_ARGS; a++) {
				const struct known_rule *c = &cmps[first[a] + pick[a]];

				if (count[a] == 0)
					continue;
				r.args |= c->args;
				r.kept |= c->kept;
				r.mask[a] = c->mask[a];
				r.datum[a] = c->datum[a];
			}
			add_known_rule(rules, &r);
			mux_name = mux ? muxed_into(r.name, &call) : NULL;
			if (mux_name != NULL) {
				r.name = mux_name;
				r.args |= 1;
				r.kept |= 1;
				r.mask[0] = UINT32_MAX;
				r.datum[0] = call;
				add_known_rule(rules, &r);
			}
			/* the next choice, like an odometer */
			for (a = 0; a < MAX_ARGS; a++) {
				if (count[a] == 0)
					continue;
				if (++pick[a] < count[a])
					break;
				pick[a] = 0;
			}
			if (a == MAX_ARGS)
				break;
		}
	}
out:
	free(cmps);
}

static int by_name_then_seq(const void *a, const void *b)
{
	const struct known_rule *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

/* e compares what r keeps, the same way, and more, for the same action. */
static bool is_tail_of(const struct known_rule *r, const struct known_rule *e)
{
	if (r->action == NULL || e->action == NULL || strcmp(r->action, e->action) != 0 ||
	    (r->kept & ~e->args) != 0 || (e->args & ~r->kept) == 0)
		return false;
	for (int a = 0; a < MAX_ARGS; a++)
		if ((r->kept & (1U << a)) &&
		    (r->mask[a] != e->mask[a] || r->datum[a] != e->datum[a]))
			return false;
	return true;
}

static bool has_known_leak(json_t *cfg)
{
	struct known_rules rules = {0};
	bool mux = lists_muxing_arch(cfg), found = false;
	size_t i, first = 0, with_args = 0;
	json_t *entry;

	json_array_foreach (json_object_get(cfg, "syscalls"), i, entry)
		add_entry_rules(&rules, entry, mux);
	if (rules.n > 0)
		qsort(rules.v, rules.n, sizeof(*rules.v), by_name_then_seq);
	for (i = 0; i < rules.n && !found; i++) {
		if (strcmp(rules.v[i].name, rules.v[first].name) != 0) {
			first = i;
			with_args = 0;
		}
		/* the tree of the syscall's comparisons: two rules made it */
		for (size_t j = first; j < i && rules.v[i].args != 0 && with_args >= 2 && !found;
		     j++)
			found = is_tail_of(&rules.v[i], &rules.v[j]);
		with_args += rules.v[i].args != 0;
	}
	free(rules.v);
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_seccomp *s = NULL;
	husk_error *err = NULL;
	json_error_t jerr;
	json_t *obj;
	int r;

	obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return 0;
	if (skip_known && (has_known_hang(obj) || has_known_leak(obj))) {
		json_decref(obj);
		return 0;
	}
	/* in this process, unbounded: a fork per input would starve the fuzzer */
	r = husk_seccomp_prepare_within(obj, NULL, -1, &s, &err);
	if (r < 0) {
		FUZZ_ASSERT(err != NULL && err->msg != NULL && s == NULL);
	} else {
		FUZZ_ASSERT(err == NULL && s != NULL);
		FUZZ_ASSERT(!husk_seccomp_uses_notify(s) || husk_seccomp_listener_path(s) != NULL);
	}
	husk_seccomp_free(s);
	husk_error_free(&err);
	json_decref(obj);
	return 0;
}
