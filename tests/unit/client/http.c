/* The Hub client's HTTP layer and configuration against an in-process lib/http server on
 * 127.0.0.1: the token goes to the endpoint only, bodies from memory and files, ranges, sinks,
 * error mapping (X-Error-Code), network failures, and the environment order of the config. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "weft/client.h"
#include "weft/http.h"

static weft_http_server *server;
static char endpoint[64];

/* /echo: answers what it saw (method, auth, range, body length, body sha of bytes) as JSON;
 * /missing: 404 RepoNotFound; /big: 1 MiB of a pattern. */
static void echo_handler(weft_http_req *req)
{
    size_t len = 0;
    const uint8_t *body = weft_http_req_body(req, &len);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = sum * 31 + body[i];
    const char *auth = weft_http_req_header(req, "Authorization");
    const char *range = weft_http_req_header(req, "Range");
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "method", weft_http_req_method(req),
                          "auth", auth ? auth : "", "range", range ? range : "", "len",
                          (json_int_t)len, "sum", (json_int_t)sum);
    weft_http_resp_header(req, "X-Test", "yes");
    weft_http_respond_json(req, 200, o);
}

static void dispatch(weft_http_req *req, void *app)
{
    (void)app;
    const char *p = weft_http_req_path(req);
    if (strcmp(p, "/echo") == 0) {
        weft_http_req_buffer_body(req, 16u << 20, echo_handler);
    } else if (strcmp(p, "/big") == 0) {
        size_t n = 1u << 20;
        uint8_t *b = malloc(n);
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)(i * 7);
        weft_http_respond_owned(req, 200, "application/octet-stream", b, n);
    } else {
        weft_http_respond_error(req, 404, "RepoNotFound", "repository x/y not found");
    }
}

static int setup(void **state)
{
    (void)state;
    weft_http_config cfg = {.listen = "127.0.0.1:0", .threads = 2, .quiet = 1,
                            .dispatch = dispatch};
    if (weft_http_server_start(&server, &cfg) != 0)
        return -1;
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u", weft_http_server_port(server));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weft_http_server_stop(server);
    return 0;
}

static weft_client *client_with_token(const char *token)
{
    weft_client_config cfg;
    assert_int_equal(weft_client_config_load(&cfg, endpoint, token), 0);
    weft_client *c = NULL;
    assert_int_equal(weft_client_new(&c, &cfg), 0);
    weft_client_config_dispose(&cfg);
    return c;
}

static void test_client_http_token_to_endpoint_only(void **state)
{
    (void)state;
    weft_client *c = client_with_token("hf_secret");
    json_t *j = NULL;
    assert_int_equal(weft_client_json(c, &j, "GET", "/echo", NULL), 0);
    assert_string_equal(json_string_value(json_object_get(j, "auth")), "Bearer hf_secret");
    json_decref(j);
    /* The same server under another name (localhost) is not the endpoint: no token. */
    char other[96];
    snprintf(other, sizeof other, "http://localhost:%u/echo", weft_http_server_port(server));
    assert_int_equal(weft_client_json(c, &j, "GET", other, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(j, "auth")), "");
    json_decref(j);
    weft_client_free(c);
}

static void test_client_http_bodies_and_ranges(void **state)
{
    (void)state;
    weft_client *c = client_with_token(NULL);
    json_t *body = json_pack("{s:s}", "k", "v");
    json_t *j = NULL;
    assert_int_equal(weft_client_json(c, &j, "POST", "/echo", body), 0);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
    assert_int_equal(json_integer_value(json_object_get(j, "len")), strlen("{\"k\":\"v\"}"));
    json_decref(j);
    json_decref(body);

    /* A body read from a file range, with a Range header. */
    char path[] = "/tmp/weft-client-test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "0123456789abcdef";
    assert_int_equal(write(fd, text, 16), 16);
    weft_client_req req;
    weft_client_req_init(&req, "PUT", "/echo");
    req.body_fd = fd;
    req.body_fd_offset = 10;
    req.body_len = 6;
    req.has_range = 1;
    req.range_start = 5;
    req.range_end = UINT64_MAX;
    weft_client_resp resp;
    assert_int_equal(weft_client_send(c, &resp, &req), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(weft_client_resp_header(&resp, "x-test"), "yes");
    j = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(j, "range")), "bytes=5-");
    assert_int_equal(json_integer_value(json_object_get(j, "len")), 6);
    unsigned sum = 0;
    for (int i = 10; i < 16; i++)
        sum = sum * 31 + (unsigned char)text[i];
    assert_int_equal(json_integer_value(json_object_get(j, "sum")), sum);
    json_decref(j);
    weft_client_resp_dispose(&resp);
    close(fd);
    unlink(path);
    weft_client_free(c);
}

typedef struct sink_state {
    size_t got;
    size_t stop_after;
    int ok;
} sink_state;

static int count_sink(const uint8_t *data, size_t len, void *payload)
{
    sink_state *s = payload;
    for (size_t i = 0; i < len; i++)
        if (data[i] != (uint8_t)((s->got + i) * 7))
            s->ok = 0;
    s->got += len;
    if (s->stop_after && s->got >= s->stop_after)
        return weft_err_set(WEFT_ECORRUPT, "sink saw enough");
    return 0;
}

static void test_client_http_sink_and_abort(void **state)
{
    (void)state;
    weft_client *c = client_with_token(NULL);
    weft_client_req req;
    weft_client_req_init(&req, "GET", "/big");
    sink_state s = {.ok = 1};
    req.sink = count_sink;
    req.sink_payload = &s;
    weft_client_resp resp;
    assert_int_equal(weft_client_send(c, &resp, &req), 0);
    assert_int_equal(s.got, 1u << 20);
    assert_true(s.ok);
    assert_int_equal(resp.body.len, 0);
    assert_int_equal(resp.bytes_received, 1u << 20);
    weft_client_resp_dispose(&resp);

    /* A sink's own error comes back as the call's error. */
    sink_state stop = {.ok = 1, .stop_after = 1000};
    req.sink_payload = &stop;
    assert_int_equal(weft_client_send(c, &resp, &req), WEFT_ECORRUPT);
    assert_string_equal(weft_err_last(), "sink saw enough");
    weft_client_resp_dispose(&resp);
    weft_client_free(c);
}

static void test_client_http_errors(void **state)
{
    (void)state;
    weft_client *c = client_with_token(NULL);
    json_t *j = NULL;
    assert_int_equal(weft_client_json(c, &j, "GET", "/api/models/x/y", NULL), WEFT_ENOTFOUND);
    assert_non_null(strstr(weft_err_last(), "404 RepoNotFound: repository x/y not found"));
    assert_null(j);
    weft_client_free(c);

    /* Nothing listens on port 1: a network failure, not an HTTP status. */
    weft_client_config cfg;
    assert_int_equal(weft_client_config_load(&cfg, "http://127.0.0.1:1", NULL), 0);
    assert_int_equal(weft_client_new(&c, &cfg), 0);
    weft_client_config_dispose(&cfg);
    assert_int_equal(weft_client_json(c, &j, "GET", "/api/whoami-v2", NULL), WEFT_ENETWORK);
    assert_non_null(strstr(weft_err_last(), "127.0.0.1:1"));
    weft_client_free(c);
}

static void test_client_config_environment_order(void **state)
{
    (void)state;
    char home[] = "/tmp/weft-client-home.XXXXXX";
    assert_non_null(mkdtemp(home));
    setenv("HF_HOME", home, 1);
    unsetenv("HF_HUB_CACHE");
    unsetenv("HF_TOKEN_PATH");
    unsetenv("WEFT_CHUNK_CACHE");
    unsetenv("HF_TOKEN");
    unsetenv("HUGGING_FACE_HUB_TOKEN");
    unsetenv("HUGGINGFACE_API_KEY");
    setenv("HF_ENDPOINT", "http://hub.example:8080/", 1);

    weft_client_config cfg;
    assert_int_equal(weft_client_config_load(&cfg, NULL, NULL), 0);
    assert_string_equal(cfg.endpoint, "http://hub.example:8080");
    assert_null(cfg.token);
    char want[256];
    snprintf(want, sizeof want, "%s/hub", home);
    assert_string_equal(cfg.hub_cache, want);
    snprintf(want, sizeof want, "%s/token", home);
    assert_string_equal(cfg.token_path, want);

    /* The token file, written 0600, is read back; the variables beat it, in their order. */
    assert_int_equal(weft_client_token_save(&cfg, "hf_fromfile"), 0);
    struct stat st;
    assert_int_equal(stat(want, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    weft_client_config_dispose(&cfg);
    assert_int_equal(weft_client_config_load(&cfg, NULL, NULL), 0);
    assert_string_equal(cfg.token, "hf_fromfile");
    assert_string_equal(cfg.token_source, "token file");
    weft_client_config_dispose(&cfg);
    setenv("HUGGINGFACE_API_KEY", "hf_c", 1);
    setenv("HUGGING_FACE_HUB_TOKEN", "hf_b", 1);
    assert_int_equal(weft_client_config_load(&cfg, NULL, NULL), 0);
    assert_string_equal(cfg.token, "hf_b");
    weft_client_config_dispose(&cfg);
    setenv("HF_TOKEN", "hf_a", 1);
    assert_int_equal(weft_client_config_load(&cfg, NULL, NULL), 0);
    assert_string_equal(cfg.token, "hf_a");
    assert_string_equal(cfg.token_source, "HF_TOKEN");
    weft_client_config_dispose(&cfg);
    assert_int_equal(weft_client_config_load(&cfg, "http://other", "hf_arg"), 0);
    assert_string_equal(cfg.token, "hf_arg");
    assert_string_equal(cfg.endpoint, "http://other");
    assert_int_equal(weft_client_token_delete(&cfg), 0);
    assert_int_equal(weft_client_token_delete(&cfg), 0);
    weft_client_config_dispose(&cfg);

    assert_int_equal(weft_client_config_load(&cfg, "ftp://x", NULL), WEFT_EINVALID);
    unsetenv("HF_TOKEN");
    unsetenv("HUGGING_FACE_HUB_TOKEN");
    unsetenv("HUGGINGFACE_API_KEY");
    unsetenv("HF_ENDPOINT");
    rmdir(home);
}

static void test_client_repo_parse(void **state)
{
    (void)state;
    weft_client_repo r;
    char path[300];
    assert_int_equal(weft_client_repo_parse(&r, "acme/bert", NULL), 0);
    assert_int_equal(weft_client_repo_api_path(path, sizeof path, &r), 0);
    assert_string_equal(path, "/api/models/acme/bert");
    assert_string_equal(weft_client_repo_prefix(&r), "");
    assert_int_equal(weft_client_repo_parse(&r, "datasets/acme/wiki", NULL), 0);
    assert_string_equal(r.type, "dataset");
    assert_string_equal(r.id, "acme/wiki");
    assert_string_equal(weft_client_repo_prefix(&r), "datasets/");
    assert_int_equal(weft_client_repo_parse(&r, "acme/app", "spaces"), 0);
    assert_string_equal(r.type, "space");
    assert_int_equal(weft_client_repo_parse(&r, "acme/x", "widget"), WEFT_EINVALID);
    assert_int_equal(weft_client_repo_parse(&r, "../x", NULL), WEFT_EINVALID);
    assert_int_equal(weft_client_repo_parse(&r, "a/b/c", NULL), WEFT_EINVALID);
    assert_int_equal(weft_client_repo_parse(&r, "a b/c", NULL), WEFT_EINVALID);
    assert_int_equal(weft_client_repo_parse(&r, "", NULL), WEFT_EINVALID);
    char *e = NULL;
    assert_int_equal(weft_client_url_escape(&e, "refs/pr/1 x", 0), 0);
    assert_string_equal(e, "refs%2Fpr%2F1%20x");
    free(e);
    assert_int_equal(weft_client_url_escape(&e, "a b/c.txt", 1), 0);
    assert_string_equal(e, "a%20b/c.txt");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_http_token_to_endpoint_only),
        cmocka_unit_test(test_client_http_bodies_and_ranges),
        cmocka_unit_test(test_client_http_sink_and_abort),
        cmocka_unit_test(test_client_http_errors),
        cmocka_unit_test(test_client_config_environment_order),
        cmocka_unit_test(test_client_repo_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
