/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * linux.sysctl. A key is written through the container's /proc/sys, which
 * reaches the host for every key that does not belong to a namespace the
 * container has of its own: such configs are refused before anything is
 * created, as runc and crun refuse them.
 */

#include "error.h"
#include "spec.h"

enum husk_sysctl_class {
	HUSK_SYSCTL_HOST,      /* no namespace: always the host's */
	HUSK_SYSCTL_IPC,       /* kernel.msg*, sem, shm*, fs.mqueue.* */
	HUSK_SYSCTL_NET,       /* net.* */
	HUSK_SYSCTL_UTS_FIELD, /* kernel.hostname/domainname: the spec has fields */
};

/* Keys are dotted ("net.ipv4.ip_forward") or, when they hold a slash,
 * slash-separated with dots inside names ("net/ipv4/conf/eth0.1/forwarding"). */
enum husk_sysctl_class husk_sysctl_classify(const char *key);

/* Every key against the namespaces the spec asks for (pure; at parse). */
int husk_sysctl_validate(const struct husk_spec *spec, husk_error **err);
/* A namespace joined by path counts as the container's own unless it is the
 * one this process is in (the host's). */
int husk_sysctl_check_joined(const struct husk_spec *spec, husk_error **err);
/* Writes them through /proc/sys (in the container, after pivot_root). */
int husk_sysctl_apply(const struct husk_spec *spec, husk_error **err);
