/*
 * test_host.c: the in-memory test host (see test_host.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "test_host.h"

typedef struct mem_req {
    cb_req req;
    const char *body;
    size_t body_len, body_pos;
    char *out;
    size_t out_len, out_cap;
    int flushes;
    const char *content_type;
} mem_req;

static apr_status_t mem_read(cb_req *req, char *buf, apr_size_t *len)
{
    mem_req *m = (mem_req *)req;
    size_t left = m->body_len - m->body_pos;
    size_t n = left < *len ? left : *len;
    memcpy(buf, m->body + m->body_pos, n);
    m->body_pos += n;
    *len = n;
    return APR_SUCCESS;
}

static apr_status_t mem_write(cb_req *req, const void *data, apr_size_t len)
{
    mem_req *m = (mem_req *)req;
    if (m->out_len + len + 1 > m->out_cap) {
        size_t cap = (m->out_cap + len + 1) * 2;
        char *grown = apr_palloc(req->pool, cap);
        if (m->out_len)
            memcpy(grown, m->out, m->out_len);
        m->out = grown;
        m->out_cap = cap;
    }
    memcpy(m->out + m->out_len, data, len);
    m->out_len += len;
    m->out[m->out_len] = '\0';
    return APR_SUCCESS;
}

static apr_status_t mem_flush(cb_req *req)
{
    ((mem_req *)req)->flushes++;
    return APR_SUCCESS;
}

static void mem_set_content_type(cb_req *req, const char *type)
{
    ((mem_req *)req)->content_type = type;
}

int th_client_gone_after_flushes;

static int mem_aborted(const cb_req *req)
{
    const mem_req *m = (const mem_req *)req;
    return th_client_gone_after_flushes > 0 && m->flushes >= th_client_gone_after_flushes;
}

static const cb_req_ops mem_ops = {mem_read, mem_write, mem_flush, mem_set_content_type,
                                   mem_aborted, NULL, NULL};

const char *th_plugin_dir(void)
{
    const char *dir = getenv("CB_TEST_PLUGIN_DIR");
    return dir ? dir : "tests/plugins/.libs";
}

cb_env *th_env_create(apr_pool_t *p, const char *env_id)
{
    cb_env *env = apr_pcalloc(p, sizeof(*env));
    env->id = env_id;
    env->health_path = "/health";
    env->allowlist = cb_allowlist_create(p);
    env->instances = apr_array_make(p, 2, sizeof(cb_instance *));
    return env;
}

const char *th_env_add_plugin(cb_env *env, apr_pool_t *p, const char *plugin,
                              const char *const *options)
{
    cb_loaded_plugin *lp;
    cb_instance *inst;
    const char *err = cb_plugin_load(p, th_plugin_dir(), plugin, &lp);
    if (err)
        return err;
    inst = apr_pcalloc(p, sizeof(*inst));
    inst->plugin = lp;
    inst->options = cb_options_create(p, lp->desc->options);
    inst->config_file = "test";
    inst->config_line = 1;
    for (int i = 0; options && options[i]; i += 2)
        if ((err = cb_options_set(inst->options, p, options[i], options[i + 1])))
            return err;
    if ((err = cb_options_finish(inst->options, p)))
        return err;
    APR_ARRAY_PUSH(env->instances, cb_instance *) = inst;
    return NULL;
}

void th_request(cb_env *env, apr_pool_t *p, const char *method, const char *target,
                const char *const *headers, const char *body, th_response *out)
{
    mem_req *m = apr_pcalloc(p, sizeof(*m));
    cb_req *req = &m->req;
    const char *q = strchr(target, '?');
    cb_req_init(req, p, env);
    req->ops = &mem_ops;
    req->method = method;
    req->path = q ? apr_pstrmemdup(p, target, (size_t)(q - target)) : target;
    req->query = q ? q + 1 : "";
    req->client_ip = "127.0.0.1";
    req->scheme = "http";
    req->headers_in = apr_table_make(p, 8);
    req->headers_out = apr_table_make(p, 8);
    apr_table_set(req->headers_in, "Host", "gateway.test");
    for (int i = 0; headers && headers[i]; i += 2)
        apr_table_set(req->headers_in, headers[i], headers[i + 1]);
    m->body = body ? body : "";
    m->body_len = body ? strlen(body) : 0;
    if (body)
        apr_table_set(req->headers_in, "Content-Length", apr_ltoa(p, (long)m->body_len));

    memset(out, 0, sizeof(*out));
    out->req = req;
    out->action = cb_dispatch_match(req);
    if (out->action != CB_DISPATCH_DECLINE) {
        out->action = cb_dispatch_policies(req);
        if (out->action == CB_DISPATCH_RESPOND)
            out->status = cb_dispatch_respond(req);
        else
            out->status = 0;
        /* What the host counts for the response record. */
        req->record.bytes_in = (int64_t)m->body_pos;
        req->record.bytes_out = (int64_t)m->out_len;
        cb_dispatch_after(req);
    }
    out->headers = req->headers_out;
    if (m->content_type)
        apr_table_set(out->headers, "Content-Type", m->content_type);
    out->body = m->out ? m->out : "";
    out->body_len = m->out_len;
    out->flushes = m->flushes;
    out->proxy_url = req->proxy_url;
    out->upstream_headers = apr_table_copy(p, req->headers_in);
    cb_req_apply_upstream_headers(req, out->upstream_headers);
}

/* ---------------------------------------------------------------- log */

static char *log_text;
static size_t log_len;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_append(int level, char kind, const char *line)
{
    char head[16];
    size_t n = strlen(line), h = (size_t)snprintf(head, sizeof(head), "%d %c ", level, kind);
    pthread_mutex_lock(&log_lock);
    char *grown = realloc(log_text, log_len + h + n + 2);
    if (grown) {
        log_text = grown;
        memcpy(log_text + log_len, head, h);
        memcpy(log_text + log_len + h, line, n);
        log_len += h + n;
        log_text[log_len++] = '\n';
        log_text[log_len] = '\0';
    }
    pthread_mutex_unlock(&log_lock);
}

static void log_request(cb_req *req, int level, const char *line)
{
    (void)req;
    log_append(level, 'R', line);
}

static void log_process(int level, const char *line)
{
    log_append(level, 'P', line);
}

static const cb_log_host recording_log = {log_request, log_process};

void th_log_start(void)
{
    th_log_stop();
    cb_log_set_host(&recording_log);
}

const char *th_log_text(apr_pool_t *p)
{
    const char *copy;
    pthread_mutex_lock(&log_lock);
    copy = apr_pstrdup(p, log_text ? log_text : "");
    pthread_mutex_unlock(&log_lock);
    return copy;
}

void th_log_stop(void)
{
    cb_log_set_host(NULL);
    pthread_mutex_lock(&log_lock);
    free(log_text);
    log_text = NULL;
    log_len = 0;
    pthread_mutex_unlock(&log_lock);
}

