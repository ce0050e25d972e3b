/* SPDX-License-Identifier: MIT */
/*
 * linux.resources of config.json: the input is that object. It is planned
 * into cgroupfs writes by the v1 and v2 backends, and its device rules are translated as
 * husk_cgroup_apply() does (defaults merged in, then v1 lines or the v2 eBPF
 * program). The eBPF program is run here by a small interpreter and its
 * verdicts compared with the rules' meaning: for each access bit, the last
 * rule that covers the device and the bit decides.
 */
#include <jansson.h>
#include <linux/bpf.h>
#include <stdbool.h>

#include "cgroup_backend.h"
#include "cgroup_resources.h"
#include "fuzz.h"
#include "util.h"

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

struct rule {
	bool allow;
	char type;
	int64_t major, minor;
	unsigned access;
};

/* The reference reading of a rule list that the parser accepted. */
static size_t read_rules(json_t *rules, struct rule **ret)
{
	size_t n = json_array_size(rules);
	struct rule *r = calloc(n + 1, sizeof(*r));

	if (r == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(rules, i);
		const char *t = json_string_value(json_object_get(e, "type"));
		const char *a = json_string_value(json_object_get(e, "access"));
		json_t *ma = json_object_get(e, "major"), *mi = json_object_get(e, "minor");

		r[i].allow = json_is_true(json_object_get(e, "allow"));
		r[i].type = t ? t[0] : 'a';
		r[i].major = json_is_integer(ma) ? json_integer_value(ma) : -1;
		r[i].minor = json_is_integer(mi) ? json_integer_value(mi) : -1;
		r[i].access = a ? 0 : ACC_ALL;
		for (; a && *a; a++)
			r[i].access |= *a == 'r'   ? BPF_DEVCG_ACC_READ
				       : *a == 'w' ? BPF_DEVCG_ACC_WRITE
						   : BPF_DEVCG_ACC_MKNOD;
	}
	*ret = r;
	return n;
}

static bool rule_covers(const struct rule *r, int type, uint32_t major, uint32_t minor,
			unsigned bit)
{
	int rule_type = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;

	return (r->type == 'a' || rule_type == type) && (r->major < 0 || r->major == major) &&
	       (r->minor < 0 || r->minor == minor) && (r->access & bit);
}

static bool model_allows(const struct rule *r, size_t n, bool default_deny, int type,
			 uint32_t major, uint32_t minor, unsigned access)
{
	for (unsigned bit = 1; bit <= ACC_ALL; bit <<= 1) {
		bool allowed = !default_deny;
		if (!(access & bit))
			continue;
		for (size_t i = n; i-- > 0;) {
			if (rule_covers(&r[i], type, major, minor, bit)) {
				allowed = r[i].allow;
				break;
			}
		}
		if (!allowed)
			return false;
	}
	return true;
}

/* Runs the instructions husk emits; anything else, a jump out of the
 * program or falling off its end is a finding. */
static bool run_program(const struct bpf_insn *insn, size_t n, int type, uint32_t major,
			uint32_t minor, unsigned access)
{
	uint32_t ctx[3] = {(access << 16) | (uint32_t)type, major, minor};
	uint64_t reg[11] = {0};

	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &insn[pc];
		uint64_t imm = (uint64_t)(int64_t)i->imm;
		FUZZ_ASSERT(i->dst_reg < 11 && i->src_reg < 11);
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			FUZZ_ASSERT(i->src_reg == 1 && i->off >= 0 && i->off <= 8 &&
				    i->off % 4 == 0);
			reg[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X:
			reg[i->dst_reg] = reg[i->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			reg[i->dst_reg] = imm;
			break;
		case BPF_ALU64 | BPF_AND | BPF_K:
			reg[i->dst_reg] &= imm;
			break;
		case BPF_ALU64 | BPF_RSH | BPF_K:
			FUZZ_ASSERT(i->imm >= 0 && i->imm < 64);
			reg[i->dst_reg] >>= i->imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
		case BPF_JMP | BPF_JEQ | BPF_K:
			if ((reg[i->dst_reg] == imm) == (BPF_OP(i->code) == BPF_JEQ)) {
				FUZZ_ASSERT(i->off >= 0 && pc + (size_t)i->off + 1 < n);
				pc += (size_t)i->off;
			}
			break;
		case BPF_JMP | BPF_EXIT:
			return reg[0] == 1;
		default:
			FUZZ_ASSERT(!"unexpected instruction");
		}
	}
	FUZZ_ASSERT(!"fell off the end of the program");
	return false;
}

/* Every combination of access bits for one device. */
static void compare(const struct bpf_insn *insn, size_t n_insn, const struct rule *r, size_t n,
		    bool default_deny, int type, uint32_t major, uint32_t minor)
{
	for (unsigned acc = 1; acc <= ACC_ALL; acc++)
		FUZZ_ASSERT(run_program(insn, n_insn, type, major, minor, acc) ==
			    model_allows(r, n, default_deny, type, major, minor, acc));
}

static void check_program(json_t *rules, bool default_deny)
{
	static const uint32_t extra[8] = {0, 1, 3, 5, 8, 10, 136, 4095};
	struct bpf_insn *insn = NULL;
	husk_error *err = NULL;
	struct rule *r;
	size_t n, n_insn = 0;
	uint32_t ids[8];
	size_t n_ids = 0, want;

	FUZZ_ASSERT(husk_cgroup_devices_bpf(rules, default_deny, &insn, &n_insn, &err) == 0);
	/* The kernel's limit for a privileged load (5.2+); only root loads these. */
	FUZZ_ASSERT(err == NULL && insn != NULL && n_insn <= 1000000);
	n = read_rules(rules, &r);
	/* Probe the numbers the rules name, and a few common ones; fewer for
	 * long lists, where each probe costs thousands of steps. */
	want = n > 64 ? 3 : 8;
	for (size_t i = 0; i < n && n_ids < want / 2; i++)
		if (r[i].major >= 0)
			ids[n_ids++] = (uint32_t)r[i].major;
	for (size_t i = n; i-- > 0 && n_ids < want * 3 / 4;)
		if (r[i].minor >= 0)
			ids[n_ids++] = (uint32_t)r[i].minor;
	for (size_t i = 0; n_ids < want; i++)
		ids[n_ids++] = extra[i];
	for (int type = BPF_DEVCG_DEV_BLOCK; type <= BPF_DEVCG_DEV_CHAR; type++)
		for (size_t a = 0; a < n_ids; a++)
			for (size_t b = 0; b < n_ids; b++)
				compare(insn, n_insn, r, n, default_deny, type, ids[a], ids[b]);
	free(r);
	free(insn);
}

static void check_devices(json_t *devices)
{
	struct husk_cgroup_write *w = NULL;
	husk_error *err = NULL;
	json_t *merged;
	size_t n = 0;

	if (husk_cgroup_devices_v1_plan(devices, true, &w, &n, &err) == 0) {
		FUZZ_ASSERT(err == NULL && n >= 1);
		husk_cgroup_writes_free(w, n);
		check_program(devices, true);
		check_program(devices, false);
	}
	husk_error_free(&err);
	/* What husk_cgroup_apply() hands to husk_cgroup_apply_devices(): once
	 * accepted, it must translate too. */
	merged = husk_cgroup_device_rules_with_defaults(devices, &err);
	FUZZ_ASSERT(merged ? err == NULL : err != NULL);
	if (merged) {
		w = NULL;
		n = 0;
		FUZZ_ASSERT(husk_cgroup_devices_v1_plan(merged, true, &w, &n, &err) == 0);
		husk_cgroup_writes_free(w, n);
		check_program(merged, true);
	}
	json_decref(merged);
	husk_error_free(&err);
}

/* The backends with files: each plans its own. */
static const struct husk_cgroup_ops *const backends[] = {&husk_cgroup_v1_ops, &husk_cgroup_v2_ops};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *res, *devices;

	res = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (res == NULL)
		return 0;
	for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
		struct husk_cgroup_write *w = NULL;
		husk_error *err = NULL;
		size_t n = 0;
		int r = husk_cgroup_plan(backends[b], res, &w, &n, &err);
		FUZZ_ASSERT(r < 0 ? err != NULL && err->msg != NULL : err == NULL);
		for (size_t i = 0; r == 0 && i < n; i++)
			FUZZ_ASSERT(w[i].file != NULL && w[i].value != NULL && w[i].field != NULL &&
				    strchr(w[i].file, '/') == NULL);
		husk_cgroup_writes_free(w, n);
		husk_error_free(&err);
	}
	devices = json_object_get(res, "devices");
	if (json_is_array(devices))
		check_devices(devices);
	json_decref(res);
	return 0;
}
