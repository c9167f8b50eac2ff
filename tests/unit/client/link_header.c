/* Link header values (include/weft/link_header.h): the Hub's pagination and xet-auth links,
 * several links, rel lists and case, quoted commas, params without values, malformed links
 * skipped, and no match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "weft/link_header.h"

/* The URI weft_link_find returns for (value, rel), or "(none)". Kept in a static buffer. */
static const char *find(const char *value, const char *rel)
{
    static char got[512];
    char *out = (char *)1;
    assert_int_equal(weft_link_find(&out, value, rel), 0);
    if (out == NULL)
        return "(none)";
    size_t len = strlen(out);
    assert_true(len < sizeof got);
    memcpy(got, out, len + 1);
    free(out);
    return got;
}

static void hub_pagination(void **state)
{
    (void)state;
    assert_string_equal(
        find("<https://hub.example/api/models?cursor=abc&limit=2>; rel=\"next\"", "next"),
        "https://hub.example/api/models?cursor=abc&limit=2");
    assert_string_equal(find("<http://127.0.0.1:8080/api/models/a/b/xet-read-token/main>; "
                             "rel=\"xet-auth\"",
                             "xet-auth"),
                        "http://127.0.0.1:8080/api/models/a/b/xet-read-token/main");
    assert_string_equal(find("<https://x/n>; rel=\"next\"", "xet-auth"), "(none)");
}

static void several_links(void **state)
{
    (void)state;
    const char *v = "<https://x/prev>; rel=\"prev\", <https://x/next>; rel=\"next\"";
    assert_string_equal(find(v, "next"), "https://x/next");
    assert_string_equal(find(v, "prev"), "https://x/prev");
    assert_string_equal(find("<a>;rel=next,<b>;rel=prev", "next"), "a");
    assert_string_equal(find("<a>;rel=next,<b>;rel=prev", "prev"), "b");
    assert_string_equal(find(" , <a> ; title=\"x, y; rel=next\" ; rel = \"NEXT last\"", "next"),
                        "a");
    assert_string_equal(find("<a>; rel=\"first last\", <b>; rel=\"next\"", "last"), "a");
    assert_string_equal(find("<a>; REL=Next", "next"), "a");
    /* rel is matched as a whole relation type, not as a substring. */
    assert_string_equal(find("<a>; rel=\"nextpage\", <b>; rel=\"x-next\"", "next"), "(none)");
    /* Commas inside the URI do not split links. */
    assert_string_equal(find("<https://x/?a=1,2>; rel=next", "next"), "https://x/?a=1,2");
    /* A param without a value, and an empty link list. */
    assert_string_equal(find("<a>; crossorigin; rel=next", "next"), "a");
    assert_string_equal(find("", "next"), "(none)");
    assert_string_equal(find(NULL, "next"), "(none)");
}

static void malformed(void **state)
{
    (void)state;
    /* Garbage before a link, junk after params, an unterminated quote, a missing '>'. */
    assert_string_equal(find("garbage; rel=next, <b>; rel=next", "next"), "b");
    assert_string_equal(find("<a>; rel=next junk, <b>; rel=next", "next"), "b");
    assert_string_equal(find("<a>; title=\"unterminated, rel=next", "next"), "(none)");
    assert_string_equal(find("<a; rel=next", "next"), "(none)");
    assert_string_equal(find("<a>; rel=\"next", "next"), "a");
    /* A long rel list: every relation type counts, wherever it stands. */
    char long_rel[700];
    memset(long_rel, 'n', sizeof long_rel);
    memcpy(long_rel, "<a>; rel=\"", 10);
    memcpy(long_rel + sizeof long_rel - 8, " next\"", 7);
    long_rel[300] = ' ';
    assert_string_equal(find(long_rel, "next"), "a");
    long_rel[sizeof long_rel - 7] = 'x';
    assert_string_equal(find(long_rel, "next"), "(none)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hub_pagination),
        cmocka_unit_test(several_links),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
