/* Helpers shared by the metadata database unit tests: a temp directory per test holding meta.db,
 * opening it, and reading the raw file. Header-only (static functions). */
#ifndef WEFT_META_TEST_H
#define WEFT_META_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "weft/meta.h"

/* The test's directory and database path, made by mt_setup and removed by mt_teardown. */
static char mt_dir[64];
static char mt_path[96];

static inline int mt_setup(void **state)
{
    (void)state;
    snprintf(mt_dir, sizeof mt_dir, "/tmp/weft-meta-unit-XXXXXX");
    if (mkdtemp(mt_dir) == NULL)
        return -1;
    snprintf(mt_path, sizeof mt_path, "%s/meta.db", mt_dir);
    return 0;
}

static inline int mt_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", mt_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static inline weft_meta *mt_open(void)
{
    weft_meta *m = NULL;
    int rc = weft_meta_open(&m, mt_path);
    if (rc != 0)
        print_error("weft_meta_open: %s\n", weft_err_last());
    assert_int_equal(rc, 0);
    assert_non_null(m);
    return m;
}

static inline void mt_user(weft_meta *m, const char *name)
{
    weft_account a;
    int rc = weft_meta_user_create(m, name, 0, &a);
    if (rc != 0)
        print_error("user %s: %s\n", name, weft_err_last());
    assert_int_equal(rc, 0);
}

/* Reads a whole file into a malloc'ed buffer (NULL and 0 if it does not exist). */
static inline uint8_t *mt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *p = malloc(cap);
    assert_non_null(p);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            p = realloc(p, cap);
            assert_non_null(p);
        }
        size_t got = fread(p + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return p;
}

/* 1 if needle occurs in the bytes of the file at path. */
static inline int mt_file_contains(const char *path, const char *needle)
{
    size_t len = 0, nlen = strlen(needle);
    uint8_t *p = mt_read_file(path, &len);
    int found = 0;
    for (size_t i = 0; p != NULL && !found && i + nlen <= len; i++)
        found = memcmp(p + i, needle, nlen) == 0;
    free(p);
    return found;
}

#endif
