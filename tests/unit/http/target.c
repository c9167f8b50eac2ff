/* Request targets as the Hub clients send them (specs/hf-hub-api.md §1.2, §1.3): segments are
 * split on literal '/' before decoding, so "%2F" stays inside its segment; query keys "k[]" read
 * as "k"; repeated keys keep their order; '+' is a space in the query only; bad escapes fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_internal.h"

static weft_http_req *parse(const char *uri, int *rc)
{
    weft_http_req *req = calloc(1, sizeof *req);
    assert_non_null(req);
    req->uri = strdup(uri);
    *rc = weft_http__parse_target(req);
    return req;
}

static void test_http_target_segments_decoded_after_split(void **state)
{
    (void)state;
    int rc;
    weft_http_req *req = parse("/api/models/acme/bert/tree/refs%2Fpr%2F1/a%2Fb%20c", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(weft_http_req_n_segments(req), 7);
    assert_string_equal(weft_http_req_segment(req, 5), "refs/pr/1");
    assert_string_equal(weft_http_req_raw_segment(req, 5), "refs%2Fpr%2F1");
    assert_string_equal(weft_http_req_segment(req, 6), "a/b c");
    assert_string_equal(weft_http_req_path(req),
                        "/api/models/acme/bert/tree/refs%2Fpr%2F1/a%2Fb%20c");
    weft_http__req_free(req);
}

static void test_http_target_query_pairs(void **state)
{
    (void)state;
    int rc;
    weft_http_req *req = parse("/api/models?expand[]=likes&expand=sha&search=a+b&full=True&x", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(weft_http_req_n_segments(req), 2);
    assert_int_equal(weft_http_req_query_count(req, "expand"), 2);
    assert_string_equal(weft_http_req_query_at(req, "expand", 0), "likes");
    assert_string_equal(weft_http_req_query_at(req, "expand", 1), "sha");
    assert_string_equal(weft_http_req_query(req, "search"), "a b");
    assert_true(weft_http_req_query_bool(req, "full", 0));
    assert_false(weft_http_req_query_bool(req, "x", 1));
    assert_true(weft_http_req_query_bool(req, "absent", 1));
    assert_null(weft_http_req_query(req, "absent"));
    assert_string_equal(weft_http_req_query_string(req),
                        "expand[]=likes&expand=sha&search=a+b&full=True&x");
    weft_http__req_free(req);
}

static void test_http_target_trailing_slash_and_root(void **state)
{
    (void)state;
    int rc;
    weft_http_req *req = parse("/", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(weft_http_req_n_segments(req), 0);
    weft_http__req_free(req);
    req = parse("/a/b/", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(weft_http_req_n_segments(req), 3);
    assert_string_equal(weft_http_req_segment(req, 2), "");
    weft_http__req_free(req);
}

static void test_http_target_rejects_bad_escapes(void **state)
{
    (void)state;
    const char *bad[] = {"/a/%zz", "/a/%2", "/a/%00b", "/a?k=%4", "relative/path"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        weft_http_req *req = parse(bad[i], &rc);
        assert_true(rc < 0);
        weft_http__req_free(req);
    }
}

static void test_http_target_encode_decode(void **state)
{
    (void)state;
    char *e = weft_http_encode("a b/c%d~é", 1);
    assert_string_equal(e, "a%20b/c%25d~%C3%A9");
    char *d = weft_http_decode(e, strlen(e), 0);
    assert_string_equal(d, "a b/c%d~é");
    free(e);
    free(d);
    e = weft_http_encode("refs/pr/1", 0);
    assert_string_equal(e, "refs%2Fpr%2F1");
    free(e);
    char date[32];
    weft_http_format_date(date, 1714564800123LL);
    assert_string_equal(date, "2024-05-01T12:00:00.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_target_segments_decoded_after_split),
        cmocka_unit_test(test_http_target_query_pairs),
        cmocka_unit_test(test_http_target_trailing_slash_and_root),
        cmocka_unit_test(test_http_target_rejects_bad_escapes),
        cmocka_unit_test(test_http_target_encode_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
