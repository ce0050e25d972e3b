/* SPDX-License-Identifier: MIT */
/* Content digests: "sha256:<hex>", computed with OpenSSL as bytes stream by. */
#define _GNU_SOURCE
#include "store_internal.h"

/* OpenSSL's SHA256_Init/Update/Final run its SHA-256 code directly. The
 * EVP interface would first fetch the algorithm from a provider, and that
 * fetch builds OpenSSL's whole method store: about 1 ms of every
 * short-lived husk that reads a blob (a `run` reads two), against 40 us.
 * They are deprecated in OpenSSL 3 but kept through 3.x. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

struct sha256_state {
	SHA256_CTX c;
};

int hasher_init(struct hasher *h, husk_error **err)
{
	h->ctx = malloc(sizeof(*h->ctx));
	if (h->ctx == NULL || SHA256_Init(&h->ctx->c) != 1) {
		hasher_free(h);
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "sha256: cannot initialise OpenSSL");
	}
	return 0;
}

void hasher_update(struct hasher *h, const void *buf, size_t len)
{
	if (len > 0)
		SHA256_Update(&h->ctx->c, buf, len);
}

void hasher_final(struct hasher *h, char out[HUSK_DIGEST_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int len = SHA256_DIGEST_LENGTH;
	char *p = out + strlen("sha256:");

	SHA256_Final(md, &h->ctx->c);
	memcpy(out, "sha256:", strlen("sha256:"));
	for (unsigned int i = 0; i < len && i < 32; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
}

void hasher_free(struct hasher *h)
{
	free(h->ctx);
	h->ctx = NULL;
}

bool husk_digest_valid(const char *digest)
{
	const char *hex;

	if (digest == NULL || strncmp(digest, "sha256:", strlen("sha256:")) != 0)
		return false;
	hex = digest_hex(digest);
	if (strlen(hex) != 64)
		return false;
	for (; *hex; hex++)
		if (!((*hex >= '0' && *hex <= '9') || (*hex >= 'a' && *hex <= 'f')))
			return false;
	return true;
}

int digest_check(const char *digest, const char *what, husk_error **err)
{
	const char *colon;

	if (husk_digest_valid(digest))
		return 0;
	colon = digest != NULL ? strchr(digest, ':') : NULL;
	if (colon != NULL && colon != digest && strncmp(digest, "sha256:", 7) != 0)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "%s: digest algorithm `%.*s` is not supported (sha256 only)",
				       what, (int)(colon - digest), digest);
	return husk_error_fail(err, HUSK_ERR_INVALID, "%s: `%s` is not a sha256 digest", what,
			       digest != NULL ? digest : "(null)");
}

int digest_fd(int fd, char out[HUSK_DIGEST_LEN + 1], husk_error **err)
{
	cleanup_hasher struct hasher h = {NULL};
	char buf[65536];

	if (hasher_init(&h, err) < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_set(err, errno, "read");
		if (n == 0)
			break;
		hasher_update(&h, buf, (size_t)n);
	}
	hasher_final(&h, out);
	return 0;
}
