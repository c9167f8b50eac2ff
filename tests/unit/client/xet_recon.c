/* Xet reconstruction answers (include/weft/xet_recon.h): a whole-file and a ranged answer lay
 * the terms out where they belong and find their fetch entries; each broken promise is refused
 * with WEFT_EINVALID and leaves nothing to dispose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "weft/xet_recon.h"

#define H1 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Two terms (chunks 0-2 of H1, chunk 3 of H2); H2 has two entries, the second holds the term. */
static const char *answer(char *buf, size_t cap, unsigned offset, const char *term2_range,
                          const char *h1_url_range)
{
    snprintf(buf, cap,
             "{\"offset_into_first_range\":%u,\"terms\":["
             "{\"hash\":\"" H1 "\",\"unpacked_length\":100,\"range\":{\"start\":0,\"end\":2}},"
             "{\"hash\":\"" H2 "\",\"unpacked_length\":50,\"range\":%s}],"
             "\"fetch_info\":{\"" H1 "\":[{\"url\":\"http://x/1\",\"range\":{\"start\":0,"
             "\"end\":3},\"url_range\":%s}],"
             "\"" H2 "\":[{\"url\":\"http://x/2a\",\"range\":{\"start\":0,\"end\":1},"
             "\"url_range\":{\"start\":0,\"end\":9}},{\"url\":\"http://x/2b\",\"range\":"
             "{\"start\":2,\"end\":5},\"url_range\":{\"start\":10,\"end\":99}}]}}",
             offset, term2_range, h1_url_range);
    return buf;
}

static int parse(weft_xet_recon *r, const char *text, uint64_t start, uint64_t end)
{
    return weft_xet_recon_parse(r, text, strlen(text), start, end);
}

static void whole_and_ranged(void **state)
{
    (void)state;
    char buf[2048];
    weft_xet_recon r;
    const char *ok_range = "{\"start\":3,\"end\":4}", *ok_bytes = "{\"start\":0,\"end\":199}";
    assert_int_equal(parse(&r, answer(buf, sizeof buf, 0, ok_range, ok_bytes), 0, 150), 0);
    assert_int_equal(r.n_terms, 2);
    assert_int_equal(r.n_entries, 3);
    assert_int_equal(r.terms[0].file_pos, 0);
    assert_int_equal(r.terms[1].file_pos, 100);
    assert_string_equal(r.entries[r.terms[0].entry].url, "http://x/1");
    assert_string_equal(r.entries[r.terms[1].entry].url, "http://x/2b");
    weft_xet_recon_dispose(&r);
    /* Bytes [30, 120): the first term starts 30 bytes before the requested start. */
    assert_int_equal(parse(&r, answer(buf, sizeof buf, 30, ok_range, ok_bytes), 30, 120), 0);
    assert_int_equal(r.terms[0].file_pos, 0);
    assert_int_equal(r.terms[1].file_pos, 100);
    weft_xet_recon_dispose(&r);
}

static void refused(void **state)
{
    (void)state;
    char buf[2048];
    weft_xet_recon r;
    const char *ok_range = "{\"start\":3,\"end\":4}", *ok_bytes = "{\"start\":0,\"end\":199}";
    struct {
        const char *text;
        uint64_t start, end;
    } bad[] = {
        {"{\"terms\":[", 0, 1},                                   /* bad JSON */
        {"{\"terms\":[],\"fetch_info\":{}}", 0, 0},               /* no offset */
        {answer(buf, sizeof buf, 0, ok_range, ok_bytes), 0, 151}, /* too short */
        {NULL, 10, 100},                                          /* offset > start */
        {NULL, 0, 150},                                           /* no entry holds */
        {NULL, 0, 150},                                           /* empty range */
        {NULL, 0, 150},                                           /* url_range */
    };
    char b3[2048], b4[2048], b5[2048], b6[2048];
    bad[3].text = answer(b3, sizeof b3, 20, ok_range, ok_bytes);
    bad[4].text = answer(b4, sizeof b4, 0, "{\"start\":1,\"end\":3}", ok_bytes);
    bad[5].text = answer(b5, sizeof b5, 0, "{\"start\":3,\"end\":3}", ok_bytes);
    bad[6].text = answer(b6, sizeof b6, 0, ok_range, "{\"start\":0,\"end\":999999999}");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&r, 0x5a, sizeof r);
        assert_int_equal(parse(&r, bad[i].text, bad[i].start, bad[i].end), WEFT_EINVALID);
        assert_null(r.root);
        assert_null(r.terms);
        assert_null(r.entries);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_and_ranged),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
