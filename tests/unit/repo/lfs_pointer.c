/* LFS pointers: format and parse round trip at edge sizes; the exact text git-lfs writes; near
 * misses rejected (version line, uppercase or short hex, missing or malformed size, extra lines,
 * CRLF, no final newline, overflow). */
#include "unit/repo/repo_test.h"

static const char canonical[] =
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n";

static void test_repo_lfs_pointer_roundtrip(void **state)
{
    (void)state;
    uint8_t sha[32], got[32];
    uint64_t size = 0;
    assert_int_equal(
        weft_lfs_pointer_parse((const uint8_t *)canonical, sizeof canonical - 1, sha, &size), 0);
    assert_int_equal(size, 12345);
    assert_int_equal(sha[0], 0x4d);
    assert_int_equal(sha[31], 0x93);
    char out[WEFT_LFS_POINTER_MAX];
    size_t n = weft_lfs_pointer_format(out, sha, size);
    assert_int_equal(n, sizeof canonical - 1);
    assert_memory_equal(out, canonical, n);

    static const uint64_t sizes[] = {0, 1, 9, 10, 99, 4294967296ull, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tu_fill_random(sha, sizeof sha, i + 1);
        n = weft_lfs_pointer_format(out, sha, sizes[i]);
        assert_true(n > 0 && n < WEFT_LFS_POINTER_MAX);
        assert_int_equal(weft_lfs_pointer_parse((const uint8_t *)out, n, got, &size), 0);
        assert_memory_equal(got, sha, 32);
        assert_int_equal(size, sizes[i]);
    }
}

static void test_repo_lfs_pointer_near_misses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "version https://git-lfs.github.com/spec/v2\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n",
        "version https://hawser.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4D7A214614AB2935C943F9E0FF69D22EADBB8F32B1258DAAA5E2CA24D17E2393\n"
        "size 12345\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e239\n"
        "size 12345\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e23930\n"
        "size 12345\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha1:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size \n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size -1\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 012\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12a\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size  12\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345", /* no final newline */
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n"
        "ext-0-foo sha256:00\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n\n",
        "version https://git-lfs.github.com/spec/v1\r\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\r\n"
        "size 12345\r\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\r\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "size 12345\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n",
        " version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 18446744073709551616\n", /* 2^64 */
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 99999999999999999999\n",
    };
    uint8_t sha[32];
    uint64_t size;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (weft_lfs_pointer_parse((const uint8_t *)bad[i], strlen(bad[i]), sha, &size) !=
            WEFT_EINVALID)
            fail_msg("near miss %zu was accepted", i);
    }
    /* Every strict prefix of the canonical text is rejected too. */
    for (size_t n = 0; n < sizeof canonical - 1; n++)
        assert_int_equal(weft_lfs_pointer_parse((const uint8_t *)canonical, n, sha, &size),
                         WEFT_EINVALID);
    /* The maximum is accepted, one more digit overflows. */
    static const char max[] =
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 18446744073709551615\n";
    assert_int_equal(weft_lfs_pointer_parse((const uint8_t *)max, sizeof max - 1, sha, &size), 0);
    assert_true(size == UINT64_MAX);
    /* Input over the size cap is refused before it is read. */
    uint8_t big[WEFT_LFS_POINTER_MAX + 1];
    memcpy(big, canonical, sizeof canonical - 1);
    assert_int_equal(weft_lfs_pointer_parse(big, sizeof big, sha, &size), WEFT_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repo_lfs_pointer_roundtrip),
        cmocka_unit_test(test_repo_lfs_pointer_near_misses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
