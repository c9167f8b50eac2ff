/* The NDJSON commit payload as both clients send it: Python (every line ends in '\n'), JS (no
 * trailing newline), CRLF, blank lines; and the ways it can be wrong, each with a line number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "weft/commit_request.h"

static const char oid[] = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

static void test_repo_commit_request_all_kinds(void **state)
{
    (void)state;
    char body[2048];
    snprintf(
        body, sizeof body,
        "{\"key\":\"header\",\"value\":{\"summary\":\"add\",\"description\":\"d\","
        "\"parentCommit\":\"abc12\"}}\n"
        "{\"key\":\"file\",\"value\":{\"path\":\"dir/a.txt\",\"content\":\"aGVsbG8=\","
        "\"encoding\":\"base64\"}}\n"
        "{\"key\":\"lfsFile\",\"value\":{\"path\":\"m.bin\",\"algo\":\"sha256\",\"oid\":\"%s\","
        "\"size\":12}}\n"
        "{\"key\":\"lfsFile\",\"value\":{\"path\":\"copy.bin\",\"algo\":\"sha256\",\"oid\":\"%s\"}}"
        "\n"
        "{\"key\":\"deletedFile\",\"value\":{\"path\":\"old.txt\"}}\n"
        "{\"key\":\"deletedFolder\",\"value\":{\"path\":\"logs/\"}}\n",
        oid, oid);
    weft_commit_request r;
    assert_int_equal(weft_commit_request_parse(&r, body, strlen(body)), 0);
    assert_string_equal(r.summary, "add");
    assert_string_equal(r.description, "d");
    assert_string_equal(r.parent, "abc12");
    assert_int_equal(r.n_ops, 5);
    assert_int_equal(r.ops[0].kind, WEFT_REPO_OP_FILE);
    assert_int_equal(r.ops[0].len, 5);
    assert_memory_equal(r.ops[0].data, "hello", 5);
    assert_int_equal(r.ops[1].kind, WEFT_REPO_OP_LFS);
    assert_int_equal(r.ops[1].size, 12);
    assert_int_equal(r.lfs_size_given[1], 1);
    assert_int_equal(r.ops[1].sha256[0], 0x58);
    assert_int_equal(r.lfs_size_given[2], 0);
    assert_int_equal(r.ops[3].kind, WEFT_REPO_OP_DELETE_FILE);
    assert_int_equal(r.ops[4].kind, WEFT_REPO_OP_DELETE_DIR);
    assert_string_equal(r.ops[4].path, "logs/");
    weft_commit_request_dispose(&r);
}

static void test_repo_commit_request_js_and_crlf(void **state)
{
    (void)state;
    const char *js = "{\"key\":\"header\",\"value\":{\"summary\":\"x\"}}\n"
                     "{\"key\":\"file\",\"value\":{\"path\":\"a\",\"content\":\"\",\"encoding\":"
                     "\"base64\"}}";
    weft_commit_request r;
    assert_int_equal(weft_commit_request_parse(&r, js, strlen(js)), 0);
    assert_int_equal(r.n_ops, 1);
    assert_int_equal(r.ops[0].len, 0);
    assert_null(r.parent);
    assert_null(r.description);
    weft_commit_request_dispose(&r);
    const char *crlf = "\r\n{\"key\":\"deletedFile\",\"value\":{\"path\":\"a\"}}\r\n\r\n";
    assert_int_equal(weft_commit_request_parse(&r, crlf, strlen(crlf)), 0);
    assert_int_equal(r.n_ops, 1);
    assert_null(r.summary);
    weft_commit_request_dispose(&r);
    assert_int_equal(weft_commit_request_parse(&r, "", 0), 0);
    assert_int_equal(r.n_ops, 0);
    weft_commit_request_dispose(&r);
}

static void test_repo_commit_request_rejects(void **state)
{
    (void)state;
    const char *bad[] = {
        "{not json}",
        "{\"key\":\"file\"}",
        "{\"key\":\"file\",\"value\":{\"path\":\"../x\",\"content\":\"\"}}",
        "{\"key\":\"file\",\"value\":{\"path\":\".git/config\",\"content\":\"\"}}",
        "{\"key\":\"file\",\"value\":{\"path\":\"a\",\"content\":\"a===\"}}",
        "{\"key\":\"file\",\"value\":{\"path\":\"a\",\"content\":\"aGk=\",\"encoding\":\"utf-8\"}}",
        "{\"key\":\"lfsFile\",\"value\":{\"path\":\"a\",\"oid\":\"xyz\"}}",
        "{\"key\":\"lfsFile\",\"value\":{\"path\":\"a\",\"algo\":\"md5\",\"oid\":"
        "\"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"}}",
        "{\"key\":\"lfsFile\",\"value\":{\"path\":\"a\",\"size\":-4,\"oid\":"
        "\"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"}}",
        "{\"key\":\"deletedFolder\",\"value\":{\"path\":\"/\"}}",
        "{\"key\":\"copyFile\",\"value\":{\"path\":\"a\"}}",
        "{\"key\":\"deletedFile\",\"value\":{\"path\":\"a\"}}\n{\"key\":\"header\",\"value\":{}}",
        "{\"key\":\"header\",\"value\":{\"parentCommit\":\"abcd\"}}",
        "{\"key\":\"header\",\"value\":{\"parentCommit\":\"zzzzzz\"}}",
        "{\"key\":\"header\",\"value\":{\"summary\":\"a\"},\"key\":\"x\"}",
        "{\"key\":\"header\",\"value\":{\"description\":\"\"}}\n{\"key\":\"header\",\"value\":{"
        "\"description\":\"b\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_commit_request r;
        int rc = weft_commit_request_parse(&r, bad[i], strlen(bad[i]));
        if (rc != WEFT_EINVALID)
            fail_msg("case %zu (%s): rc %d", i, bad[i], rc);
        assert_non_null(strstr(weft_err_last(), "commit line"));
        assert_null(r.ops);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repo_commit_request_all_kinds),
        cmocka_unit_test(test_repo_commit_request_js_and_crlf),
        cmocka_unit_test(test_repo_commit_request_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
