/* fingerprint.c against the FIPS 180-2 SHA-256 test vectors. */
#include "../harness/tap.h"
#include "fingerprint.h"

int main(void)
{
    char hex[FINGERPRINT_HEX_LEN];
    fingerprint_of("", 0, hex);
    is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256('')");
    fingerprint_of("abc", 3, hex);
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "sha256('abc')");
    struct fingerprint fp;
    fingerprint_init(&fp);
    for (int i = 0; i < 1000; i++)
        fingerprint_adds(&fp,
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    for (int i = 0; i < 9000; i++)
        fingerprint_adds(&fp,
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    fingerprint_hex(&fp, hex);
    is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
           "sha256 of a million 'a' fed in pieces");

    return done_testing();
}
