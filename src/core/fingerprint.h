/* SHA-256 fingerprints (OpenSSL libcrypto; the only file that includes it). Hex digests are
 * lower-case, 64 characters plus NUL. */
#ifndef OSIRIS_FINGERPRINT_H
#define OSIRIS_FINGERPRINT_H

#include <stddef.h>

#define FINGERPRINT_HEX_LEN 65 /* 64 hex digits + NUL */

struct fingerprint {
    void *md; /* EVP_MD_CTX *, owned; NULL after fingerprint_hex() */
};

void fingerprint_init(struct fingerprint *fp);
void fingerprint_update(struct fingerprint *fp, const void *data, size_t len);
void fingerprint_adds(struct fingerprint *fp, const char *s); /* the bytes of s, without its NUL */
/* Finishes, writes the digest and releases the context. */
void fingerprint_hex(struct fingerprint *fp, char out[FINGERPRINT_HEX_LEN]);

/* One-shot digest of a buffer. */
void fingerprint_of(const void *data, size_t len, char out[FINGERPRINT_HEX_LEN]);

const char *fingerprint_library_version(void);

#endif
