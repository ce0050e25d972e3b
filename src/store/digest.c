/* SPDX-License-Identifier: MIT */
/* Content digests: "sha256:<hex>", computed with OpenSSL as bytes stream by. */
#define _GNU_SOURCE
#include "store_internal.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <string.h>

static EVP_MD *sha256_md;

/* OpenSSL's default start-up reads its config file, loads every error
 * string and registers an exit handler, and EVP_sha256() fetches the
 * algorithm again at every init: a few ms of each short-lived husk that
 * reads a blob. Only SHA-256 from the default provider is needed. */
static void sha256_fetch(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT |
				OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
				OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
			    NULL);
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int hasher_init(struct hasher *h, husk_error **err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, sha256_fetch);
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || sha256_md == NULL ||
	    EVP_DigestInit_ex(h->ctx, sha256_md, NULL) != 1) {
		hasher_free(h);
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "sha256: cannot initialise OpenSSL");
	}
	return 0;
}

void hasher_update(struct hasher *h, const void *buf, size_t len)
{
	if (len > 0)
		EVP_DigestUpdate(h->ctx, buf, len);
}

void hasher_final(struct hasher *h, char out[HUSK_DIGEST_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *p = out + strlen("sha256:");

	EVP_DigestFinal_ex(h->ctx, md, &len);
	memcpy(out, "sha256:", strlen("sha256:"));
	for (unsigned int i = 0; i < len && i < 32; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
}

void hasher_free(struct hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
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
