/* SPDX-License-Identifier: MIT */
/*
 * husk stats [-a] [--no-stream] [--no-trunc] [--format json|table]
 * [CONTAINER...]: each container's CPU, memory, network, block I/O and
 * pids, as Docker prints them, from its cgroup (husk_container_stats, v1 or
 * v2) and its network namespace (/proc/PID/net/dev).
 *
 * CPU % is the CPU time used between two samples over the time between
 * them (100% is one CPU busy): --no-stream takes two SAMPLE_MS apart and
 * prints once; otherwise the table is drawn again every second, each
 * sample against the one before, until interrupted.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/sysinfo.h>
#include <time.h>

#include "record.h"
#include "table.h"
#include "util.h"

#define SAMPLE_MS  500
#define REFRESH_MS 1000

struct stats_options {
	bool all, no_stream, no_trunc, json;
};

struct sample {
	bool ok; /* the container ran and its cgroup could be read */
	double at;
	uint64_t cpu_ns;
	uint64_t mem_usage, mem_limit;
	uint64_t net_rx, net_tx, blk_read, blk_write;
	uint64_t pids;
};

struct target {
	struct ctr *c;
	const char *as_given; /* Docker's "Container" field: the name asked for */
	struct sample prev, now;
};

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t json_u64(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* Docker's: the usage less the inactive page cache (v1's total_, v2's
 * plain key); an unlimited cgroup's limit is the host's memory. */
static void read_memory(json_t *memory, struct sample *s)
{
	json_t *usage = json_object_get(memory, "usage"), *raw = json_object_get(memory, "raw");
	uint64_t inactive = json_object_get(raw, "total_inactive_file")
				? json_u64(raw, "total_inactive_file")
				: json_u64(raw, "inactive_file");
	struct sysinfo si;
	uint64_t host = 0;

	s->mem_usage = json_u64(usage, "usage");
	if (inactive < s->mem_usage)
		s->mem_usage -= inactive;
	s->mem_limit = json_u64(usage, "limit");
	if (sysinfo(&si) == 0)
		host = (uint64_t)si.totalram * si.mem_unit;
	if (host > 0 && (s->mem_limit == 0 || s->mem_limit > host))
		s->mem_limit = host;
}

static void read_blkio(json_t *blkio, struct sample *s)
{
	json_t *list = json_object_get(blkio, "ioServiceBytesRecursive"), *e;
	size_t i;

	json_array_foreach (list, i, e) {
		const char *op = json_string_value(json_object_get(e, "op"));
		if (op && strcasecmp(op, "read") == 0)
			s->blk_read += json_u64(e, "value");
		else if (op && strcasecmp(op, "write") == 0)
			s->blk_write += json_u64(e, "value");
	}
}

/* The bytes the container's interfaces other than lo received and sent. */
static void read_net(pid_t pid, struct sample *s)
{
	char path[64];
	cleanup_free char *text = NULL;
	char *save = NULL;

	snprintf(path, sizeof(path), "/proc/%d/net/dev", pid);
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long rx, tx;
		if (sscanf(l, " %63[^:]: %llu %*u %*u %*u %*u %*u %*u %*u %llu", name, &rx, &tx) ==
			3 &&
		    strcmp(name, "lo") != 0) {
			s->net_rx += rx;
			s->net_tx += tx;
		}
	}
}

static void take_sample(struct engine *e, struct target *t)
{
	cleanup_json json_t *j = NULL;
	json_t *data;
	struct sample s = {.at = monotonic_seconds()};

	t->prev = t->now;
	t->now = s;
	if (ctr_reload_state(t->c, NULL) < 0 || ctr_status_now(t->c, NULL) != CTR_RUNNING ||
	    husk_container_stats(&e->rt, t->c->id, &j, NULL) < 0)
		return;
	data = json_object_get(j, "data");
	s.cpu_ns = json_u64(json_object_get(json_object_get(data, "cpu"), "usage"), "total");
	read_memory(json_object_get(data, "memory"), &s);
	read_blkio(json_object_get(data, "blkio"), &s);
	s.pids = json_u64(json_object_get(data, "pids"), "current");
	read_net(t->c->st.pid, &s);
	s.ok = true;
	t->now = s;
}

/* Docker's units.BytesSize: binary units, 4 significant digits. */
static void binary_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)n;
	size_t u = 0;

	for (; v >= 1024 && u + 1 < ARRAY_SIZE(units); u++)
		v /= 1024;
	snprintf(buf, len, "%.4g%s", v, units[u]);
}

/* Docker's units.HumanSizeWithPrecision(n, 3): decimal units. */
static void decimal_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	double v = (double)n;
	size_t u = 0;

	for (; v >= 1000 && u + 1 < ARRAY_SIZE(units); u++)
		v /= 1000;
	snprintf(buf, len, "%.3g%s", v, units[u]);
}

static void pair(void (*fmt)(uint64_t, char *, size_t), uint64_t a, uint64_t b, char *buf,
		 size_t len)
{
	char x[32], y[32];

	fmt(a, x, sizeof(x));
	fmt(b, y, sizeof(y));
	snprintf(buf, len, "%s / %s", x, y);
}

/* The printed fields of one container, Docker's names for --format json. */
struct row {
	char id[65], cpu[32], mem_usage[80], mem_perc[32], net[80], block[80], pids[24];
};

static void make_row(const struct target *t, bool no_trunc, struct row *r)
{
	const struct sample *s = &t->now, *p = &t->prev;
	double cpu = 0, mem = 0;

	snprintf(r->id, sizeof(r->id), "%.*s", no_trunc ? 64 : 12, t->c->id);
	if (s->ok && p->ok && s->at > p->at && s->cpu_ns >= p->cpu_ns)
		cpu = (double)(s->cpu_ns - p->cpu_ns) / ((s->at - p->at) * 1e9) * 100.0;
	if (s->mem_limit > 0)
		mem = (double)s->mem_usage * 100.0 / (double)s->mem_limit;
	snprintf(r->cpu, sizeof(r->cpu), "%.2f%%", cpu);
	pair(binary_size, s->mem_usage, s->mem_limit, r->mem_usage, sizeof(r->mem_usage));
	snprintf(r->mem_perc, sizeof(r->mem_perc), "%.2f%%", mem);
	pair(decimal_size, s->net_rx, s->net_tx, r->net, sizeof(r->net));
	pair(decimal_size, s->blk_read, s->blk_write, r->block, sizeof(r->block));
	snprintf(r->pids, sizeof(r->pids), "%llu", (unsigned long long)s->pids);
}

static void print_json(const struct target *t, const struct row *r)
{
	cleanup_json json_t *j = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", r->block, "CPUPerc", r->cpu,
	    "Container", t->as_given, "ID", r->id, "MemPerc", r->mem_perc, "MemUsage", r->mem_usage,
	    "Name", t->c->name ? t->c->name : "", "NetIO", r->net, "PIDs", r->pids);
	cleanup_free char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	if (text)
		printf("%s\n", text);
}

static int print_all(struct target *ts, size_t n, const struct stats_options *o)
{
	static const char *const titles[] = {"CONTAINER ID",	  "NAME",  "CPU %",
					     "MEM USAGE / LIMIT", "MEM %", "NET I/O",
					     "BLOCK I/O",	  "PIDS"};
	struct table t = {.n_cols = 8, .min_width = 10};
	int r = 0;

	if (!o->json)
		r = table_add(&t, (const char *const *)titles);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct row row;
		make_row(&ts[i], o->no_trunc, &row);
		if (o->json)
			print_json(&ts[i], &row);
		else
			r = table_add(&t, (const char *const[]){row.id, ts[i].c->name, row.cpu,
								row.mem_usage, row.mem_perc,
								row.net, row.block, row.pids});
	}
	if (r == 0 && !o->json)
		table_print(&t, stdout);
	table_clear(&t);
	fflush(stdout);
	return r;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void targets_free(struct target *ts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ctr_free(ts[i].c);
	free(ts);
}

/* The containers named (each must exist), or every running one (-a: all). */
static int find_targets(struct engine *e, const struct stats_options *o, char **names,
			size_t n_names, struct target **ret, size_t *ret_n, husk_error **err)
{
	struct ctr **list = NULL;
	size_t n = 0, k = 0;
	struct target *ts;

	if (n_names == 0 && ctr_list(e, &list, &n, err) < 0)
		return -1;
	ts = calloc((n_names ? n_names : n) + 1, sizeof(*ts));
	if (ts == NULL) {
		ctr_list_free(list, n);
		return husk_error_set(err, ENOMEM, "stats");
	}
	for (size_t i = 0; i < n_names; i++, k++) {
		ts[k].as_given = names[i];
		if (ctr_lookup(e, names[i], &ts[k].c, err) < 0) {
			targets_free(ts, k);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (o->all || ctr_status_now(list[i], NULL) == CTR_RUNNING) {
			ts[k].c = steal_pointer(&list[i]);
			ts[k].as_given = ts[k].c->name ? ts[k].c->name : ts[k].c->id;
			k++;
		}
	}
	ctr_list_free(list, n);
	*ret = ts;
	*ret_n = k;
	return 0;
}

static int parse(struct stats_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"no-stream", no_argument, NULL, 'S'},
	    {"no-trunc", no_argument, NULL, 'T'},
	    {"format", required_argument, NULL, 'F'},
	    {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":a", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->all = true;
			break;
		case 'S':
			o->no_stream = true;
			break;
		case 'T':
			o->no_trunc = true;
			break;
		case 'F':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
				engine_error("stats: --format `%s`: must be json or table", optarg);
				return EXIT_ENGINE;
			}
			o->json = strcmp(optarg, "json") == 0;
			break;
		default:
			return engine_flag_error("stats", c, argv);
		}
	}
	return 0;
}

/* Every REFRESH_MS, the screen cleared and the table drawn again, the
 * containers found again when none were named (new ones appear). */
static int stream(struct engine *e, const struct stats_options *o, char **names, size_t n_names)
{
	struct target *ts = NULL;
	size_t n = 0;
	husk_error *err = NULL;

	for (;;) {
		struct target *fresh = NULL;
		size_t m = 0;
		if (find_targets(e, o, names, n_names, &fresh, &m, &err) < 0) {
			targets_free(ts, n);
			return engine_fail(err);
		}
		/* the previous samples carried over, by id */
		for (size_t i = 0; i < m; i++)
			for (size_t j = 0; j < n; j++)
				if (strcmp(fresh[i].c->id, ts[j].c->id) == 0)
					fresh[i].now = ts[j].now;
		targets_free(ts, n);
		ts = fresh;
		n = m;
		for (size_t i = 0; i < n; i++)
			take_sample(e, &ts[i]);
		if (!o->json)
			printf("\033[2J\033[H");
		print_all(ts, n, o);
		sleep_ms(REFRESH_MS);
	}
}

int cmd_stats(struct engine *e, int argc, char **argv)
{
	struct stats_options o = {0};
	struct target *ts = NULL;
	size_t n = 0;
	husk_error *err = NULL;
	int r = parse(&o, argc, argv);

	if (r != 0)
		return r;
	if (!o.no_stream)
		return stream(e, &o, argv + optind, (size_t)(argc - optind));
	if (find_targets(e, &o, argv + optind, (size_t)(argc - optind), &ts, &n, &err) < 0)
		return engine_fail(err);
	for (size_t i = 0; i < n; i++)
		take_sample(e, &ts[i]);
	sleep_ms(SAMPLE_MS);
	for (size_t i = 0; i < n; i++)
		take_sample(e, &ts[i]);
	r = print_all(ts, n, &o);
	targets_free(ts, n);
	if (r < 0) {
		engine_error("stats: out of memory");
		return EXIT_ENGINE;
	}
	return 0;
}
