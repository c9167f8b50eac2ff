/* The fs backend: objects written from many parts (more than one writev batch, empty parts
 * included) read back exactly, ranged reads, sizes, removal, listing, and bad names refused. */
#include <sys/stat.h>

#include "unit/store/store_test.h"
#include "weft/backend.h"

typedef struct names {
    int n, tmp;
    char last[128];
} names;

static int on_name(const char *name, int64_t mtime, void *payload)
{
    names *v = payload;
    assert_true(mtime > 0);
    v->n++;
    v->tmp += strstr(name, ".tmp.") != NULL;
    snprintf(v->last, sizeof v->last, "%s", name);
    return 0;
}

static void test_store_backend_parts_and_ranges(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/objects", st_dir);
    weft_backend *b = NULL;
    assert_int_equal(weft_backend_fs_open(&b, dir), 0);
    size_t n = 3 * MIB + 5;
    uint8_t *p = st_random(n, 9);
    /* 3000 parts of varied sizes, every tenth empty. */
    weft_backend_part parts[3000];
    size_t at = 0;
    for (int i = 0; i < 3000; i++) {
        size_t len = i % 10 == 0 ? 0 : (size_t)(i * 7 % 2000) + 1;
        if (i == 2999 || at + len > n)
            len = n - at;
        parts[i] = (weft_backend_part){.p = p + at, .len = len};
        at += len;
    }
    assert_int_equal(at, n);
    const char *name = "abcdef0123456789";
    assert_int_equal(b->put(b, name, parts, 3000), 0);
    uint64_t size = 0;
    assert_int_equal(b->size(b, name, &size), 0);
    assert_int_equal(size, n);
    uint8_t *q = malloc(n);
    assert_non_null(q);
    assert_int_equal(b->get(b, name, 0, q, n), 0);
    assert_memory_equal(p, q, n);
    assert_int_equal(b->get(b, name, n - 10, q, 10), 0);
    assert_memory_equal(p + n - 10, q, 10);
    assert_int_equal(b->get(b, name, n - 10, q, 11), WEFT_ECORRUPT); /* past the end */
    /* Put again (same name): replaced whole, no temp file left. */
    assert_int_equal(weft_backend_put_buf(b, name, p, 100), 0);
    assert_int_equal(b->size(b, name, &size), 0);
    assert_int_equal(size, 100);
    names v = {0};
    assert_int_equal(b->list(b, on_name, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.tmp, 0);
    assert_string_equal(v.last, name);
    assert_int_equal(b->remove(b, name), 0);
    assert_int_equal(b->remove(b, name), 0);
    assert_int_equal(b->size(b, name, &size), WEFT_ENOTFOUND);
    assert_int_equal(b->get(b, name, 0, q, 1), WEFT_ENOTFOUND);
    const char *bad[] = {"", "ab", "../../etc/passwd", ".hidden", "a/b/c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(weft_backend_put_buf(b, bad[i], p, 1), WEFT_EINVALID);
    weft_backend_close(b);
    weft_backend_close(NULL);
    free(p);
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_backend_parts_and_ranges, st_setup, st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
