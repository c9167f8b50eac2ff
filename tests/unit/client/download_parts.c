/* `.parts` sidecars (include/weft/download_parts.h): what the writer writes, the parser reads;
 * a torn last line, junk lines, out-of-range indexes and a header of another file version set
 * nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "weft/download_parts.h"

#define RANGE (16u << 20)

/* Appends the header for n ranges and the records idx[0..k) to buf; returns the length. */
static size_t sidecar(char *buf, size_t n, const size_t *idx, size_t k)
{
    size_t len = weft_parts_header(buf, (uint64_t)n * RANGE - 5, RANGE);
    for (size_t i = 0; i < k; i++)
        len += weft_parts_record(buf + len, idx[i]);
    return len;
}

static void round_trip(void **state)
{
    (void)state;
    char buf[1024];
    const size_t idx[] = {3, 0, 7, 3};
    size_t len = sidecar(buf, 8, idx, 4);
    assert_memory_equal(buf, "weft-parts 1 134217723 16777216\n3\n0\n7\n3\n", len);
    uint8_t done[8] = {0};
    assert_int_equal(weft_parts_parse(done, 8, buf, len, 8ull * RANGE - 5, RANGE), 4);
    const uint8_t want[8] = {1, 0, 0, 1, 0, 0, 0, 1};
    assert_memory_equal(done, want, 8);
}

static void what_counts_for_nothing(void **state)
{
    (void)state;
    char buf[1024];
    size_t len = sidecar(buf, 4, NULL, 0);
    const char *tail = "1\n+2\n 3\n-0\n\n99999999999999999999\n4\n00\n3";
    memcpy(buf + len, tail, strlen(tail));
    len += strlen(tail);
    uint8_t done[4] = {0};
    /* "1" and "00" count; "3" has no newline (torn); "4" is past the last range. */
    assert_int_equal(weft_parts_parse(done, 4, buf, len, 4ull * RANGE - 5, RANGE), 2);
    const uint8_t want[4] = {1, 1, 0, 0};
    assert_memory_equal(done, want, 4);
    /* Another file version: nothing is taken. */
    uint8_t none[4] = {0};
    assert_int_equal(weft_parts_parse(none, 4, buf, len, 4ull * RANGE, RANGE), 0);
    assert_int_equal(weft_parts_parse(none, 4, buf, 10, 4ull * RANGE - 5, RANGE), 0);
    assert_int_equal(none[0] + none[1] + none[2] + none[3], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(what_counts_for_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
