/* download: the --include/--exclude filter follows huggingface_hub's filter_repo_objects
 * (fnmatch without path semantics, folder patterns ending in '/'). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "weft/download.h"

static int wanted(const char *path, const char *inc, const char *exc)
{
    const char *i[] = {inc}, *e[] = {exc};
    return weft_download_path_wanted(path, i, inc ? 1 : 0, e, exc ? 1 : 0);
}

static void test_client_download_filter_globs(void **state)
{
    (void)state;
    assert_true(wanted("config.json", NULL, NULL));
    assert_true(wanted("config.json", "*.json", NULL));
    assert_false(wanted("model.bin", "*.json", NULL));
    /* '*' crosses '/', as Python's fnmatch does */
    assert_true(wanted("sub/dir/config.json", "*.json", NULL));
    assert_true(wanted("onnx/model.onnx", "*model*", NULL));
    /* a pattern ending in '/' is the folder's content */
    assert_true(wanted("onnx/model.onnx", "onnx/", NULL));
    assert_false(wanted("onnx.txt", "onnx/", NULL));
    assert_false(wanted("onnx/model.onnx", NULL, "onnx/"));
    /* exclude wins over include */
    assert_false(wanted("weights/big.bin", "weights/*", "*big*"));
    assert_true(wanted("weights/small.bin", "weights/*", "*big*"));
    /* character classes and '?' */
    assert_true(wanted("shard-3.safetensors", "shard-[0-9].safetensors", NULL));
    assert_false(wanted("shard-x.safetensors", "shard-?.bin", NULL));
}

static void test_client_download_filter_several(void **state)
{
    (void)state;
    const char *inc[] = {"*.json", "*.safetensors"};
    const char *exc[] = {"*test*", "old/"};
    assert_true(weft_download_path_wanted("a.json", inc, 2, exc, 2));
    assert_true(weft_download_path_wanted("m.safetensors", inc, 2, exc, 2));
    assert_false(weft_download_path_wanted("m.bin", inc, 2, exc, 2));
    assert_false(weft_download_path_wanted("test.json", inc, 2, exc, 2));
    assert_false(weft_download_path_wanted("old/m.safetensors", inc, 2, exc, 2));
    assert_true(weft_download_path_wanted("m.bin", NULL, 0, exc, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_download_filter_globs),
        cmocka_unit_test(test_client_download_filter_several),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
