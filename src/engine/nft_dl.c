/* SPDX-License-Identifier: MIT */
/*
 * libnftables, loaded the first time it is called (dlopen), as the store
 * does with libarchive (archive_dl.c): linked, it and the libraries it
 * brings (libnftnl, libxtables, libgmp) were loaded at every start of every
 * husk command, ~1 ms each on a small VM, and only the bridge networks use
 * it. Each function net_nft.c calls is defined here with libnftables' own
 * name and prototype and calls the library's. nft_ctx_new() returns NULL
 * when it cannot be loaded, which its callers already handle.
 */
#include <nftables/libnftables.h>
#include <stddef.h>
#include <stdint.h>

#include "lazy_dl.h"

static struct husk_lazy_dl libnftables = HUSK_LAZY_DL_INIT("libnftables.so.1");

#define FORWARD(ret, name, params, args) HUSK_LAZY_DL_FORWARD(libnftables, ret, name, params, args)

typedef struct nft_ctx C;

HUSK_LAZY_DL_CONSTRUCTOR(libnftables, C *, nft_ctx_new, (uint32_t flags), (flags))

FORWARD(void, nft_ctx_free, (C * ctx), (ctx))
FORWARD(int, nft_ctx_buffer_output, (C * ctx), (ctx))
FORWARD(int, nft_ctx_buffer_error, (C * ctx), (ctx))
FORWARD(const char *, nft_ctx_get_output_buffer, (C * ctx), (ctx))
FORWARD(const char *, nft_ctx_get_error_buffer, (C * ctx), (ctx))
FORWARD(int, nft_run_cmd_from_buffer, (C * nft, const char *buf), (nft, buf))
