/* SHA-256 through OpenSSL's EVP interface (the low-level SHA256_* calls are deprecated in 3.0). */
#include "fingerprint.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
    /* libcrypto only fails here on allocation failure: treat it like OOM. */
    fprintf(stderr, "osiris: sha256: %s failed\n", what);
    abort();
}

void fingerprint_init(struct fingerprint *fp)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        die("init");
    fp->md = md;
}

void fingerprint_update(struct fingerprint *fp, const void *data, size_t len)
{
    if (len && EVP_DigestUpdate(fp->md, data, len) != 1)
        die("update");
}

void fingerprint_adds(struct fingerprint *fp, const char *s)
{
    fingerprint_update(fp, s, strlen(s));
}

void fingerprint_hex(struct fingerprint *fp, char out[FINGERPRINT_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(fp->md, digest, &n) != 1 || n != 32)
        die("final");
    EVP_MD_CTX_free(fp->md);
    fp->md = NULL;
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
}

void fingerprint_of(const void *data, size_t len, char out[FINGERPRINT_HEX_LEN])
{
    struct fingerprint fp;
    fingerprint_init(&fp);
    fingerprint_update(&fp, data, len);
    fingerprint_hex(&fp, out);
}

const char *fingerprint_library_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}
