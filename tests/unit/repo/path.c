/* Pure checks: repo path rules, branch/tag name rules, git's wildmatch and .gitattributes
 * matching as commits use it (which paths already go through LFS, the pattern added otherwise). */
#include "unit/repo/repo_test.h"

static void test_repo_path_valid(void **state)
{
    (void)state;
    static const char *const good[] = {"a",
                                       "a/b/c.txt",
                                       ".gitattributes",
                                       "dir/.gitignore",
                                       "..a",
                                       "a..",
                                       "a b/c d",
                                       "é/日本.bin",
                                       "x.git",
                                       ".gitx",
                                       "a\\b",
                                       "...",
                                       "saved_model/variables/v.data"};
    static const char *const bad[] = {
        "",       "/x",    "x/",       "a//b",        "../x",        "a/../b",
        "./a",    "a/.",   ".git",     ".git/config", "a/.git/b",    ".GIT/x",
        "a/.Git", ".git.", ".git ",    "git~1/x",     "a\nb",        "a\tb",
        "a\x01",  "a\x7f", "\xff\xfe", "a/\xc0\xaf",  "\xed\xa0\x80"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!weft_repo_path_valid(good[i]))
            fail_msg("should be valid: %s", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (weft_repo_path_valid(bad[i]))
            fail_msg("should be invalid: %s", bad[i]);
    }
    assert_false(weft_repo_path_valid(NULL));
    char long_path[4200];
    memset(long_path, 'a', sizeof long_path);
    long_path[4096] = '\0';
    assert_true(weft_repo_path_valid(long_path));
    long_path[4096] = 'a';
    long_path[4097] = '\0';
    assert_false(weft_repo_path_valid(long_path));
}

static void test_repo_path_ref_names(void **state)
{
    (void)state;
    static const char *const good[] = {"main", "dev",      "feature/x", "v1.0", "release-2024_01",
                                       "a@b",  "deadbeef", "été"};
    static const char *const bad[] = {"",           "refs/heads/x",
                                      "refs/pr/5",  "HEAD",
                                      "@",          "-x",
                                      "a..b",       "a b",
                                      "a~1",        "a^",
                                      "a:b",        "a?",
                                      "a*",         "a[",
                                      "a\\b",       "a@{1}",
                                      "/a",         "a/",
                                      "a//b",       ".a",
                                      "a/.b",       "a.lock",
                                      "a/b.lock/c", "a.",
                                      "a\x01",      "0123456789abcdef0123456789abcdef01234567"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!weft_repo_ref_name_valid(good[i]))
            fail_msg("should be valid: %s", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (weft_repo_ref_name_valid(bad[i]))
            fail_msg("should be invalid: %s", bad[i]);
    }
    assert_false(weft_repo_ref_name_valid(NULL));
}

typedef struct wm_case {
    const char *pattern, *text;
    int pathname, match;
} wm_case;

static void test_repo_path_wildmatch(void **state)
{
    (void)state;
    static const wm_case cases[] = {
        {"*.bin", "a.bin", 1, 1},
        {"*.bin", "a.bin.x", 1, 0},
        {"*.tar.*", "x.tar.gz", 1, 1},
        {"*tfevents*", "events.out.tfevents.123.host", 1, 1},
        {"saved_model/**/*", "saved_model/a", 1, 1},
        {"saved_model/**/*", "saved_model/a/b/c", 1, 1},
        {"saved_model/**/*", "other/saved_model/a", 1, 0},
        {"a/*.bin", "a/b.bin", 1, 1},
        {"a/*.bin", "a/c/b.bin", 1, 0},
        {"a/*.bin", "a/c/b.bin", 0, 1},
        {"**/x.bin", "x.bin", 1, 1},
        {"**/x.bin", "p/q/x.bin", 1, 1},
        {"a/**", "a/b/c", 1, 1},
        {"a/**", "a", 1, 0},
        {"a**b", "a/x/b", 1, 0},
        {"a?c", "abc", 1, 1},
        {"a?c", "a/c", 1, 0},
        {"[abc]x", "bx", 1, 1},
        {"[!abc]x", "bx", 1, 0},
        {"[^abc]x", "dx", 1, 1},
        {"[a-c]x", "cx", 1, 1},
        {"[a-c]x", "dx", 1, 0},
        {"[]]x", "]x", 1, 1},
        {"a[[:space:]]b", "a b", 1, 1},
        {"a[[:space:]]b", "a_b", 1, 0},
        {"[[:digit:][:upper:]]", "Q", 1, 1},
        {"[[:bogus:]]", "a", 1, 0},
        {"[abc", "a", 1, 0},
        {"\\*x", "*x", 1, 1},
        {"\\*x", "ax", 1, 0},
        {"a\\", "a", 1, 0},
        {"", "", 1, 1},
        {"*", "", 1, 1},
        {"*", "a/b", 1, 0},
        {"**", "a/b", 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wm_case *c = &cases[i];
        if (weft_repo__wildmatch(c->pattern, c->text, c->pathname) != c->match)
            fail_msg("wildmatch(%s, %s, %d) should be %d", c->pattern, c->text, c->pathname,
                     c->match);
    }
    /* A pattern built to backtrack exponentially finishes at once. */
    char text[4001];
    memset(text, 'a', 4000);
    text[4000] = '\0';
    assert_false(weft_repo__wildmatch("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text, 1));
    assert_false(weft_repo__wildmatch("**/**/**/**/**/**/**/**/**/b", text, 1));
}

static void test_repo_path_gitattributes(void **state)
{
    (void)state;
    static const char text[] = "# comment\n"
                               "\n"
                               "*.bin filter=lfs diff=lfs merge=lfs -text\n"
                               "  *.pt   filter=lfs\r\n"
                               "docs/*.bin -filter\n"
                               "/top.dat filter=lfs\n"
                               "deep/ filter=lfs\n"
                               "!neg.bin -filter\n"
                               "[attr]mine filter=lfs\n"
                               "*.txt text\n"
                               "x.bin filter=other\n"
                               "sub/y.dat filter=lfs\n"
                               "*.h5 filter=lfs diff=lfs merge=lfs -text"; /* no newline */
    weft_repo_attrs *a = NULL;
    assert_int_equal(weft_repo__attrs_parse(&a, text, sizeof text - 1), 0);
    assert_true(weft_repo__attrs_is_lfs(a, "m.bin"));
    assert_true(weft_repo__attrs_is_lfs(a, "a/b/m.bin"));
    assert_true(weft_repo__attrs_is_lfs(a, "w.pt"));
    assert_false(weft_repo__attrs_is_lfs(a, "docs/m.bin")); /* a later line unsets it */
    assert_true(weft_repo__attrs_is_lfs(a, "docs/sub/m.bin"));
    assert_true(weft_repo__attrs_is_lfs(a, "top.dat"));
    assert_false(weft_repo__attrs_is_lfs(a, "a/top.dat")); /* anchored */
    assert_false(weft_repo__attrs_is_lfs(a, "deep/f"));    /* directory patterns match no file */
    assert_true(weft_repo__attrs_is_lfs(a, "neg.bin"));    /* negative patterns are ignored */
    assert_false(weft_repo__attrs_is_lfs(a, "mine"));
    assert_false(weft_repo__attrs_is_lfs(a, "x.bin")); /* filter=other wins */
    assert_true(weft_repo__attrs_is_lfs(a, "sub/y.dat"));
    assert_false(weft_repo__attrs_is_lfs(a, "other/sub/y.dat"));
    assert_true(weft_repo__attrs_is_lfs(a, "k.h5"));
    assert_false(weft_repo__attrs_is_lfs(a, "notes.txt"));
    weft_repo__attrs_free(a);

    /* The pattern added for a path matches exactly that path. */
    static const char *const paths[] = {"plain.dat", "dir/with space.dat", "star*.dat",
                                        "q?.dat",    "br[ack]et.dat",      "#hash.dat",
                                        "!bang.dat", "back\\slash.dat",    "\"quoted\".dat"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char pat[256], line[400];
        size_t n = weft_repo__attrs_pattern(pat, sizeof pat, paths[i]);
        assert_true(n > 0);
        assert_null(strchr(pat, ' '));
        snprintf(line, sizeof line, "%s filter=lfs diff=lfs merge=lfs -text\n", pat);
        assert_int_equal(weft_repo__attrs_parse(&a, line, strlen(line)), 0);
        if (!weft_repo__attrs_is_lfs(a, paths[i]))
            fail_msg("pattern %s does not match %s", pat, paths[i]);
        assert_false(weft_repo__attrs_is_lfs(a, "plainXdat"));
        weft_repo__attrs_free(a);
    }
    char small[4];
    assert_int_equal(weft_repo__attrs_pattern(small, sizeof small, "with space"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repo_path_valid),
        cmocka_unit_test(test_repo_path_ref_names),
        cmocka_unit_test(test_repo_path_wildmatch),
        cmocka_unit_test(test_repo_path_gitattributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
