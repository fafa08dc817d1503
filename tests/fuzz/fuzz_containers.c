/*
 * fuzz_containers.c: libFuzzer target for the containers plugin's parsers:
 * the engine's multiplexed stream (plugins/containers/frames.c), the
 * `agent_type` lines (agent_type.c), the API's create and PATCH bodies
 * (api_body.c), MCP server objects (mcp.c), npm package names
 * (packages.c), the tar reader and workspace paths (tar.c), the line
 * splitter (lines.c) and /invoke/stdout's body (invoke_body.c).
 *
 * Invariants: the demultiplexer gives the same payload bytes, streams and
 * verdict whether the input comes whole, byte by byte or in chunks of 7;
 * every payload byte it passes on belongs to stream 1 or 2 and is no more
 * than the input minus the 8-byte headers; an accepted agent type has a
 * name of 1-48 safe characters and, for the engine driver, no url, an
 * image, 1-32 command words, memory of 6m or more when set, and 1 nano-CPU
 * to 64 CPUs when set; for the static driver an http(s) URL without a
 * trailing slash, query or fragment, and none of the engine's settings. An accepted create
 * body has an agent type, a workspace under /workspace and a timeout of
 * 1 s to 24 h; an accepted PATCH body changes the model or the effort and
 * holds no other field. No tar entry's data reaches outside the archive,
 * and a one-file archive of any bytes reads back as one entry. An accepted
 * workspace path is /workspace or under it, without ., .. or empty
 * segments. An accepted MCP server has a safe name and is local, or hosted
 * at an http(s) URL that is not link-local. An accepted package name is at
 * most 214 characters without spaces or shell metacharacters, and only a
 * scope holds a '/' (no path can be named). The line splitter gives the
 * same lines whether its input comes whole or byte by byte, and no line
 * holds a newline or is longer than CT_LINE_MAX. An accepted invoke body
 * has 1-16 tasks with distinct safe names and non-empty prompts, a branch
 * that cannot be read as an option or climb (no leading '-', no ".."), and
 * a safe thread id when it has one.
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cloudbase/values.h"
#include "containers.h"

#define FUZZ_TARGET_NAME "fuzz_containers"
#include "fuzz_support.h"

typedef struct sink {
    char *out;
    size_t len, cap;
    int bad_stream;
} sink;

static int take(void *baton, int stream, const char *data, size_t len)
{
    sink *s = baton;
    if (stream != CT_FRAME_STDOUT && stream != CT_FRAME_STDERR)
        s->bad_stream = 1;
    if (s->len + 2 * len <= s->cap) {
        for (size_t i = 0; i < len; i++) {
            s->out[s->len++] = (char)('0' + stream);
            s->out[s->len++] = data[i];
        }
    }
    return 0;
}

static int demux(const char *data, size_t size, size_t chunk, sink *s)
{
    ct_frames f;
    int rc = 0;
    s->cap = 2 * size + 2;
    s->out = apr_palloc(iteration_pool, s->cap);
    s->len = 0;
    s->bad_stream = 0;
    ct_frames_init(&f, take, s);
    for (size_t at = 0; at < size && rc == 0; at += chunk)
        rc = ct_frames_feed(&f, data + at, size - at < chunk ? size - at : chunk);
    return rc;
}

static void check_frames(const char *data, size_t size, const char *text)
{
    sink whole, bytes, sevens;
    int a = demux(data, size, size ? size : 1, &whole);
    int b = demux(data, size, 1, &bytes);
    int c = demux(data, size, 7, &sevens);
    require(a == b && b == c, "the verdict depends on the chunking", text);
    require(whole.len == bytes.len && bytes.len == sevens.len &&
                memcmp(whole.out, bytes.out, whole.len) == 0 &&
                memcmp(whole.out, sevens.out, whole.len) == 0,
            "the payload depends on the chunking", text);
    require(!whole.bad_stream, "a payload of stream 0 or 3+ was passed on", text);
    require(whole.len / 2 <= size, "more payload than input", text);
}

static void check_agent_type(const char *text)
{
    ct_agent_type t;
    if (ct_agent_type_parse(iteration_pool, text, &t))
        return;
    require(t.name && *t.name && strlen(t.name) <= 48 && strspn(t.name,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
            strlen(t.name), "an agent type name outside its shape was accepted", text);
    if (t.driver == CT_DRIVER_STATIC) {
        cb_url parsed;
        size_t n;
        require(t.url && !cb_parse_url(iteration_pool, t.url, &parsed),
                "a static agent type without an http(s) URL was accepted", text);
        n = strlen(t.url);
        require(n > 0 && t.url[n - 1] != '/' && !strpbrk(t.url, "?# \t\r\n"),
                "a static URL with a trailing slash, query, fragment or space was kept", text);
        require(!t.image && !t.command && !t.memory_bytes && !t.nano_cpus && !t.host_network,
                "a static agent type took the engine driver's settings", text);
        return;
    }
    require(t.driver == CT_DRIVER_ENGINE && !t.url, "an engine agent type took a url", text);
    require(t.image && *t.image, "an agent type without an image was accepted", text);
    require(t.command && t.command->nelts >= 1 && t.command->nelts <= 32,
            "an agent type without 1-32 command words was accepted", text);
    require(t.memory_bytes == 0 || t.memory_bytes >= 6 * 1024 * 1024,
            "memory below 6m was accepted", text);
    require(t.nano_cpus >= 0 && t.nano_cpus <= 64LL * 1000000000,
            "cpus out of range were accepted", text);
}

static void check_create_body(const char *data, size_t size, const char *text)
{
    cb_json *body = cb_json_parse(iteration_pool, data, size, NULL);
    ct_record r = {0};
    if (!body || !cb_json_is_object(body) ||
        ct_parse_create_body(iteration_pool, body, "worker", &r))
        return;
    require(r.agent_type && *r.agent_type, "a body without an agent type was accepted", text);
    require(r.workspace && strncmp(r.workspace, "/workspace", 10) == 0 &&
                (r.workspace[10] == '\0' || r.workspace[10] == '/'),
            "a workspace outside /workspace was accepted", text);
    require(r.timeout_ms >= 1000 && r.timeout_ms <= 86400000, "a timeout out of range was accepted",
            text);
    memset(&r, 0, sizeof(r));
    if (ct_parse_patch_body(iteration_pool, body, &r))
        return;
    require(r.model || r.reasoning_effort, "a PATCH body changing nothing was accepted", text);
    require(cb_json_object_size(body) <= 2, "a PATCH body with other fields was accepted", text);
}

static void check_mcp_server(const char *data, size_t size, const char *text)
{
    cb_json *server = cb_json_parse(iteration_pool, data, size, NULL);
    const char *name, *type, *url;
    if (!server || !cb_json_is_object(server) ||
        ct_mcp_server_parse(iteration_pool, server, &name))
        return;
    require(name && *name && strlen(name) <= 64 && !strchr(name, '/') && !strchr(name, '.'),
            "an MCP server name outside its shape was accepted", text);
    type = cb_json_get_string(server, "type");
    require(type && (strcmp(type, "hosted") == 0 || strcmp(type, "local") == 0),
            "an MCP server of another type was accepted", text);
    url = cb_json_get_string(server, "url");
    if (strcmp(type, "hosted") == 0) {
        cb_url parsed;
        require(url && !cb_parse_url(iteration_pool, url, &parsed),
                "a hosted MCP server without an http(s) URL was accepted", text);
        /* names are checked again on what they resolve to; literals here */
        require(strspn(parsed.host, "0123456789.") != strlen(parsed.host) ||
                    (strncmp(parsed.host, "169.254.", 8) != 0 &&
                     strncmp(parsed.host, "127.", 4) != 0 && strncmp(parsed.host, "10.", 3) != 0),
                "a hosted MCP server at a link-local, loopback or private address was accepted",
                text);
    }
}

typedef struct walked {
    const char *archive;
    size_t len;
    int entries;
    int outside;
} walked;

static int count_entry(void *baton, const ct_tar_entry *e)
{
    walked *w = baton;
    w->entries++;
    if (e->size < 0 || e->data < w->archive || e->data + e->size > w->archive + w->len)
        w->outside = 1;
    return 0;
}

static void check_tar(const char *data, size_t size, const char *text)
{
    walked w = {.archive = data, .len = size};
    const char *archive;
    size_t archive_len;
    ct_tar_walk(iteration_pool, data, size, count_entry, &w);
    require(!w.outside, "a tar entry's data reaches outside the archive", text);
    /* a one-file archive of the input reads back as that file */
    archive = ct_tar_one_file(iteration_pool, "f.txt", data, size, 1700000000, &archive_len);
    require(archive != NULL, "a one-file archive was not built", text);
    {
        walked back = {.archive = archive, .len = archive_len};
        require(ct_tar_walk(iteration_pool, archive, archive_len, count_entry, &back) == NULL &&
                    back.entries == 1,
                "a one-file archive does not read back as one entry", text);
    }
}

static void check_package_name(const char *text)
{
    if (ct_package_name_problem(text))
        return;
    require(strlen(text) <= 214 && !strpbrk(text, " \t\n\r;&|$`'\"\\<>*?(){}[]!#,:=") &&
                text[0] != '.' && text[0] != '_' && !strstr(text, "/.") &&
                (text[0] == '@' || !strchr(text, '/')),
            "a package name npm would refuse (or a shell would read) was accepted", text);
}

static void check_workspace_path(const char *text)
{
    const char *out;
    if (ct_workspace_path(iteration_pool, text, &out))
        return;
    require(strncmp(out, "/workspace", 10) == 0 && (out[10] == '\0' || out[10] == '/'),
            "a path outside /workspace was accepted", text);
    require(!strstr(out, "/../") && !strstr(out, "/./") && !strstr(out, "//") &&
                (strlen(out) < 3 || strcmp(out + strlen(out) - 3, "/..") != 0),
            "an accepted path holds . or .. segments or empty ones", text);
}

typedef struct joined {
    char *out;
    size_t len, cap;
    int bad;
} joined;

static int join_line(void *baton, int stream, const char *line, size_t len)
{
    joined *j = baton;
    if (stream != 1 || len > CT_LINE_MAX || memchr(line, '\n', len))
        j->bad = 1;
    if (j->len + len + 1 <= j->cap) {
        memcpy(j->out + j->len, line, len);
        j->len += len;
        j->out[j->len++] = '\1';
    }
    return 0;
}

static void split_lines(const char *data, size_t size, size_t chunk, joined *j)
{
    ct_lines l;
    j->cap = 2 * size + 2;
    j->out = apr_palloc(iteration_pool, j->cap);
    j->len = 0;
    j->bad = 0;
    ct_lines_init(&l, iteration_pool, join_line, j);
    for (size_t at = 0; at < size; at += chunk)
        ct_lines_feed_frame(&l, CT_FRAME_STDOUT, data + at, size - at < chunk ? size - at : chunk);
    ct_lines_flush(&l);
}

static void check_lines(const char *data, size_t size, const char *text)
{
    joined whole, bytes;
    split_lines(data, size, size ? size : 1, &whole);
    split_lines(data, size, 1, &bytes);
    require(!whole.bad && !bytes.bad, "a line holds a newline or is too long", text);
    require(whole.len == bytes.len && memcmp(whole.out, bytes.out, whole.len) == 0,
            "the lines depend on the chunking", text);
}

static void check_invoke_body(const char *data, size_t size, const char *text)
{
    cb_json *body = cb_json_parse(iteration_pool, data, size, NULL);
    ct_invoke in;
    if (!body || !cb_json_is_object(body) || ct_invoke_parse(iteration_pool, body, &in))
        return;
    require(in.tasks->nelts >= 1 && in.tasks->nelts <= CT_INVOKE_MAX_TASKS,
            "an invoke body with 0 or too many tasks was accepted", text);
    for (int i = 0; i < in.tasks->nelts; i++) {
        const ct_invoke_task *t = &APR_ARRAY_IDX(in.tasks, i, ct_invoke_task);
        require(ct_invoke_is_name(t->name) && t->prompt && *t->prompt,
                "a task without a safe name or a prompt was accepted", text);
        for (int j = 0; j < i; j++)
            require(strcmp(APR_ARRAY_IDX(in.tasks, j, ct_invoke_task).name, t->name) != 0,
                    "two tasks of one name were accepted", text);
    }
    require(in.branch && *in.branch && in.branch[0] != '-' && !strstr(in.branch, ".."),
            "a branch git could read as an option or a climb was accepted", text);
    require(!in.thread_id || ct_invoke_is_name(in.thread_id),
            "a thread id outside its shape was accepted", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    check_frames((const char *)data, size, text);
    check_agent_type(text);
    check_create_body((const char *)data, size, text);
    check_mcp_server((const char *)data, size, text);
    check_tar((const char *)data, size, text);
    check_workspace_path(text);
    check_package_name(text);
    check_lines((const char *)data, size, text);
    check_invoke_body((const char *)data, size, text);
    apr_pool_clear(iteration_pool);
    return 0;
}
