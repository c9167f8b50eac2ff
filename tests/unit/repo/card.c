/* Model cards: front matter found the way huggingface_hub finds it; nested maps and lists; core
 * schema scalars (ints, floats, booleans, null) with quoted text staying text; no front matter
 * gives "{}"; YAML errors carry README line and column; depth, node and alias bombs stop at the
 * bounds. */
#include <jansson.h>

#include "unit/repo/repo_test.h"

static json_t *parse_ok(const char *readme)
{
    char *out = NULL;
    int rc = weft_card_parse(readme, strlen(readme), &out);
    if (rc != 0)
        fail_msg("card parse: %d %s", rc, weft_err_last());
    json_error_t err;
    json_t *v = json_loads(out, JSON_ALLOW_NUL, &err);
    assert_non_null(v);
    assert_true(json_is_object(v));
    free(out);
    return v;
}

static char *parse_text(const char *readme)
{
    char *out = NULL;
    assert_int_equal(weft_card_parse(readme, strlen(readme), &out), 0);
    return out;
}

static void test_repo_card_values(void **state)
{
    (void)state;
    json_t *v = parse_ok("---\n"
                         "license: apache-2.0\n"
                         "language:\n"
                         "- en\n"
                         "- fr\n"
                         "tags: [a, b, 'c d']\n"
                         "model-index:\n"
                         "  - name: tiny\n"
                         "    results:\n"
                         "      - metrics: {accuracy: 0.91, f1: .5, n: 1000}\n"
                         "ints: [0, -7, +3, 0o17, 0x1F, 123456789012345678901]\n"
                         "floats: [1.5, -2.25e3, 1e3, .inf, .nan]\n"
                         "bools: [true, False, TRUE, yes, no, on]\n"
                         "nulls: [~, null, Null, ]\n"
                         "empty:\n"
                         "quoted: ['1', \"true\", 'null', \"0x10\"]\n"
                         "tagged: !!str 42\n"
                         "block: |\n"
                         "  line one\n"
                         "  line two\n"
                         "date: 2024-01-02\n"
                         "version: 1.0.0\n"
                         "dup: 1\n"
                         "dup: 2\n"
                         "unicode: \"caf\\u00e9 \\0 nul\"\n"
                         "---\n"
                         "# Title\n\nbody text\n");
    assert_string_equal(json_string_value(json_object_get(v, "license")), "apache-2.0");
    json_t *lang = json_object_get(v, "language");
    assert_int_equal(json_array_size(lang), 2);
    assert_string_equal(json_string_value(json_array_get(lang, 1)), "fr");
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "tags"), 2)), "c d");
    json_t *m = json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(v, "model-index"), 0), "results"), 0),
        "metrics");
    assert_true(json_is_real(json_object_get(m, "accuracy")));
    assert_true(json_real_value(json_object_get(m, "accuracy")) == 0.91);
    assert_true(json_real_value(json_object_get(m, "f1")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(m, "n")), 1000);

    json_t *ints = json_object_get(v, "ints");
    assert_int_equal(json_integer_value(json_array_get(ints, 0)), 0);
    assert_int_equal(json_integer_value(json_array_get(ints, 1)), -7);
    assert_int_equal(json_integer_value(json_array_get(ints, 2)), 3);
    assert_int_equal(json_integer_value(json_array_get(ints, 3)), 15);
    assert_int_equal(json_integer_value(json_array_get(ints, 4)), 31);
    assert_true(json_is_real(json_array_get(ints, 5)));
    json_t *floats = json_object_get(v, "floats");
    assert_true(json_real_value(json_array_get(floats, 0)) == 1.5);
    assert_true(json_real_value(json_array_get(floats, 1)) == -2250.0);
    assert_true(json_real_value(json_array_get(floats, 2)) == 1000.0);
    assert_string_equal(json_string_value(json_array_get(floats, 3)), ".inf");
    assert_string_equal(json_string_value(json_array_get(floats, 4)), ".nan");
    json_t *bools = json_object_get(v, "bools");
    assert_true(json_is_true(json_array_get(bools, 0)));
    assert_true(json_is_false(json_array_get(bools, 1)));
    assert_true(json_is_true(json_array_get(bools, 2)));
    /* YAML 1.1 spellings are plain text in the 1.2 core schema. */
    assert_string_equal(json_string_value(json_array_get(bools, 3)), "yes");
    assert_string_equal(json_string_value(json_array_get(bools, 5)), "on");
    json_t *nulls = json_object_get(v, "nulls");
    assert_int_equal(json_array_size(nulls), 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(json_is_null(json_array_get(nulls, i)));
    assert_true(json_is_null(json_object_get(v, "empty")));
    json_t *quoted = json_object_get(v, "quoted");
    assert_string_equal(json_string_value(json_array_get(quoted, 0)), "1");
    assert_string_equal(json_string_value(json_array_get(quoted, 1)), "true");
    assert_string_equal(json_string_value(json_array_get(quoted, 2)), "null");
    assert_string_equal(json_string_value(json_array_get(quoted, 3)), "0x10");
    assert_string_equal(json_string_value(json_object_get(v, "tagged")), "42");
    assert_string_equal(json_string_value(json_object_get(v, "block")), "line one\nline two\n");
    assert_string_equal(json_string_value(json_object_get(v, "date")), "2024-01-02");
    assert_string_equal(json_string_value(json_object_get(v, "version")), "1.0.0");
    assert_int_equal(json_integer_value(json_object_get(v, "dup")), 2);
    json_t *u = json_object_get(v, "unicode");
    assert_int_equal(json_string_length(u), 11);
    assert_memory_equal(json_string_value(u), "caf\xc3\xa9 \0 nul", 11);
    json_decref(v);

    /* An integer past any double stays text. */
    char huge[700];
    int k = snprintf(huge, sizeof huge, "---\nn: ");
    memset(huge + k, '9', 400);
    snprintf(huge + k + 400, sizeof huge - (size_t)k - 400, "\n---\n");
    v = parse_ok(huge);
    assert_int_equal(json_string_length(json_object_get(v, "n")), 400);
    json_decref(v);

    /* Key order is kept, output is compact. */
    char *t = parse_text("---\nb: 1\na: [x, {c: null}]\n---\n");
    assert_string_equal(t, "{\"b\":1,\"a\":[\"x\",{\"c\":null}]}");
    free(t);
    /* Anchors and aliases. */
    t = parse_text("---\nbase: &b {x: 1}\ncopy: *b\nname: &n hello\n*n : again\n---\n");
    assert_string_equal(t, "{\"base\":{\"x\":1},\"copy\":{\"x\":1},\"name\":\"hello\","
                           "\"hello\":\"again\"}");
    free(t);
}

static void test_repo_card_front_matter(void **state)
{
    (void)state;
    static const char *const none[] = {"",
                                       "# Just a title\n",
                                       "text\n---\na: 1\n---\n",
                                       "---\na: 1\n",       /* never closed */
                                       "--- \na: 1\n---\n", /* not a bare --- line */
                                       "---\na: 1\n----\n",
                                       "---\n---\n",
                                       "---\n\n---\n"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        char *t = parse_text(none[i]);
        if (strcmp(t, "{}") != 0)
            fail_msg("case %zu: %s", i, t);
        free(t);
    }
    static const char *const some[] = {"---\na: 1\n---\n",
                                       "---\na: 1\n---",
                                       "\n\n  \n---\na: 1\n---\nbody",
                                       "\xef\xbb\xbf---\na: 1\n---\n",
                                       "---\r\na: 1\r\n---\r\nbody\r\n",
                                       "---\n\na: 1\n\n\n---\n",
                                       "---\na: 1\n# comment\n---\nmore\n---\nb: 2\n"};
    for (size_t i = 0; i < sizeof some / sizeof some[0]; i++) {
        char *t = parse_text(some[i]);
        if (strcmp(t, "{\"a\":1}") != 0)
            fail_msg("case %zu: %s", i, t);
        free(t);
    }
    /* Empty or null front matter: "{}". */
    char *t = parse_text("---\n# only a comment\n---\n");
    assert_string_equal(t, "{}");
    free(t);
    t = parse_text("---\n~\n---\n");
    assert_string_equal(t, "{}");
    free(t);
}

static void expect_error(const char *readme, int code, const char *where)
{
    char *out = (char *)"untouched";
    int rc = weft_card_parse(readme, strlen(readme), &out);
    if (rc != code)
        fail_msg("got %d (%s), want %d", rc, weft_err_last(), code);
    assert_null(out);
    if (where != NULL && strstr(weft_err_last(), where) == NULL)
        fail_msg("message '%s' lacks '%s'", weft_err_last(), where);
}

static void test_repo_card_errors(void **state)
{
    (void)state;
    /* Lines count from the top of the README. */
    expect_error("\n---\na: 1\nb: [1, 2\nc: 3\n---\n", WEFT_EINVALID, "line ");
    expect_error("---\na: 1\n  b: 2\n---\n", WEFT_EINVALID, "line 3, column ");
    expect_error("---\nkey: \"unterminated\n---\n", WEFT_EINVALID, "line ");
    expect_error("---\n- a\n- b\n---\n", WEFT_EINVALID, "line 2, column 1: front matter is not");
    expect_error("---\njust text\n---\n", WEFT_EINVALID, "not a mapping");
    expect_error("---\n? [a, b]\n: c\n---\n", WEFT_EINVALID, "keys must be scalars");
    expect_error("---\na: *nope\n---\n", WEFT_EINVALID, "unknown alias");
    expect_error("---\na: &x [1, *x]\n---\n", WEFT_EINVALID, "unknown alias");
    expect_error("---\na: 1\n--- \nb: 2\n---\n", WEFT_EINVALID,
                 "line 3, column 1: expected a single document");
    expect_error("---\na: \xff\xfe\n---\n", WEFT_EINVALID, "line 2");
    expect_error("---\na: 1\n\tb: 2\n---\n", WEFT_EINVALID, "line 3");
}

static void test_repo_card_bounds(void **state)
{
    (void)state;
    /* Depth: 64 levels are fine, 65 are not. */
    char buf[1024];
    size_t n = (size_t)snprintf(buf, sizeof buf, "---\na: ");
    for (int i = 0; i < 63; i++)
        buf[n++] = '[';
    for (int i = 0; i < 63; i++)
        buf[n++] = ']';
    memcpy(buf + n, "\n---\n", 6);
    char *t = parse_text(buf);
    free(t);
    n = (size_t)snprintf(buf, sizeof buf, "---\na: ");
    for (int i = 0; i < 64; i++)
        buf[n++] = '[';
    for (int i = 0; i < 64; i++)
        buf[n++] = ']';
    memcpy(buf + n, "\n---\n", 6);
    expect_error(buf, WEFT_ELIMIT, "nested deeper than 64");
    /* A deep-nesting bomb much larger than the bound. */
    char *bomb = malloc(200000);
    assert_non_null(bomb);
    n = (size_t)snprintf(bomb, 200000, "---\na: ");
    for (int i = 0; i < 100000; i++)
        bomb[n++] = '[';
    memcpy(bomb + n, "\n---\n", 6);
    expect_error(bomb, WEFT_ELIMIT, "nested deeper");
    free(bomb);

    /* Billion laughs: 9 levels of 10 aliases each would be 10^9 nodes. */
    char laughs[2048];
    n = (size_t)snprintf(laughs, sizeof laughs, "---\nl0: &l0 \"lol\"\n");
    for (int lvl = 1; lvl <= 9; lvl++) {
        n += (size_t)snprintf(laughs + n, sizeof laughs - n, "l%d: &l%d [", lvl, lvl);
        for (int k = 0; k < 10; k++)
            n += (size_t)snprintf(laughs + n, sizeof laughs - n, "%s*l%d", k ? ", " : "", lvl - 1);
        n += (size_t)snprintf(laughs + n, sizeof laughs - n, "]\n");
    }
    snprintf(laughs + n, sizeof laughs - n, "---\n");
    expect_error(laughs, WEFT_ELIMIT, "nodes");
    /* Big text aliased many times hits the byte bound. */
    size_t cap = 600000;
    char *big = malloc(cap);
    assert_non_null(big);
    n = (size_t)snprintf(big, cap, "---\ns: &s \"");
    memset(big + n, 'x', 500000);
    n += 500000;
    n += (size_t)snprintf(big + n, cap - n, "\"\nl: [");
    for (int k = 0; k < 40; k++)
        n += (size_t)snprintf(big + n, cap - n, "%s*s", k ? ", " : "");
    snprintf(big + n, cap - n, "]\n---\n");
    expect_error(big, WEFT_ELIMIT, "bytes");
    free(big);

    /* Many plain nodes. */
    size_t many = 100001;
    char *list = malloc(many * 3 + 64);
    assert_non_null(list);
    n = (size_t)snprintf(list, 64, "---\na: [");
    for (size_t k = 0; k < many; k++) {
        list[n++] = '1';
        list[n++] = ',';
    }
    memcpy(list + n, "1]\n---\n", 8);
    expect_error(list, WEFT_ELIMIT, "nodes");
    free(list);

    /* Front matter over 1 MiB: refused; a long README body is fine. */
    size_t huge = (1u << 20) + 100;
    char *h = malloc(huge + 64);
    assert_non_null(h);
    n = (size_t)snprintf(h, 64, "---\na: \"");
    memset(h + n, 'y', huge);
    n += huge;
    memcpy(h + n, "\"\n---\n", 7);
    expect_error(h, WEFT_ELIMIT, "1048576");
    n = (size_t)snprintf(h, 64, "---\na: 1\n---\n");
    memset(h + n, 'z', huge - n);
    h[huge] = '\0';
    t = parse_text(h);
    assert_string_equal(t, "{\"a\":1}");
    free(t);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repo_card_values),
        cmocka_unit_test(test_repo_card_front_matter),
        cmocka_unit_test(test_repo_card_errors),
        cmocka_unit_test(test_repo_card_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
