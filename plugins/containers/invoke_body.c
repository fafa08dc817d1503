/*
 * invoke_body.c: the body of POST /invoke/stdout (Cloud Coding): repo_url,
 * github_token, messages or parallel_tasks, branch, haiku, thread_id,
 * checked into a ct_invoke the handler runs (invoke.c). A `messages`
 * invocation is one task named "main" whose prompt is the last message's
 * content; each parallel task has its own prompt and task_name.
 */
#include <string.h>

#include <apr_strings.h>

#include "containers.h"

#define MAX_PROMPT (256 * 1024)
#define MAX_NAME 64

int ct_invoke_is_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MAX_NAME || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

/* A string member: NULL when absent or null; *bad when present but not a
 * string without NUL characters. */
static const char *string_member(const cb_json *o, const char *key, int *bad)
{
    const cb_json *v = cb_json_get(o, key);
    const char *s;
    size_t len = 0;
    if (!v || cb_json_typeof(v) == CB_JSON_NULL)
        return NULL;
    if (!(s = cb_json_string_value(v, &len)) || strlen(s) != len) {
        *bad = 1;
        return NULL;
    }
    return s;
}

/* A non-empty string of at most 256 KiB: NULL and *out, or what to fix. */
static const char *prompt_member(apr_pool_t *p, const cb_json *o, const char *where,
                                 const char *key, const char **out)
{
    int bad = 0;
    const char *s = string_member(o, key, &bad);
    if (bad || !s || !*s)
        return apr_psprintf(p, "%s.%s must be a non-empty string", where, key);
    if (strlen(s) > MAX_PROMPT)
        return apr_psprintf(p, "%s.%s is longer than 256 KiB", where, key);
    *out = s;
    return NULL;
}

static int branch_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 200 && s[0] != '-' && !strstr(s, "..") &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == n;
}

static const char *parse_messages(apr_pool_t *p, const cb_json *messages, ct_invoke *out)
{
    size_t n = cb_json_array_size(messages);
    ct_invoke_task *t;
    const char *err;
    if (!cb_json_is_array(messages) || n == 0)
        return "messages must be a non-empty array of {type, content}";
    for (size_t i = 0; i < n; i++)
        if (!cb_json_is_object(cb_json_array_get(messages, i)))
            return "messages must be a non-empty array of {type, content}";
    t = &APR_ARRAY_PUSH(out->tasks, ct_invoke_task);
    t->name = "main";
    if ((err = prompt_member(p, cb_json_array_get(messages, n - 1), "messages[-1]", "content",
                             &t->prompt)))
        return err;
    return NULL;
}

static const char *parse_parallel(apr_pool_t *p, const cb_json *tasks, ct_invoke *out)
{
    size_t n = cb_json_array_size(tasks);
    if (!cb_json_is_array(tasks) || n == 0 || n > CT_INVOKE_MAX_TASKS)
        return apr_psprintf(p, "parallel_tasks must be an array of 1 to %d {prompt, task_name}",
                            CT_INVOKE_MAX_TASKS);
    for (size_t i = 0; i < n; i++) {
        const cb_json *o = cb_json_array_get(tasks, i);
        const char *where = apr_psprintf(p, "parallel_tasks[%zu]", i), *err;
        ct_invoke_task *t;
        int bad = 0;
        if (!cb_json_is_object(o))
            return apr_psprintf(p, "%s must be an object {prompt, task_name}", where);
        t = &APR_ARRAY_PUSH(out->tasks, ct_invoke_task);
        if ((err = prompt_member(p, o, where, "prompt", &t->prompt)))
            return err;
        t->name = string_member(o, "task_name", &bad);
        if (bad || !ct_invoke_is_name(t->name))
            return apr_psprintf(p, "%s.task_name must be 1-64 letters, digits, '-', '_' or '.'",
                                where);
        for (size_t j = 0; j < i; j++)
            if (strcmp(APR_ARRAY_IDX(out->tasks, j, ct_invoke_task).name, t->name) == 0)
                return apr_psprintf(p, "task_name %s is used twice", t->name);
    }
    return NULL;
}

const char *ct_invoke_parse(apr_pool_t *p, const cb_json *body, ct_invoke *out)
{
    const cb_json *messages = cb_json_get(body, "messages");
    const cb_json *parallel = cb_json_get(body, "parallel_tasks");
    const cb_json *haiku = cb_json_get(body, "haiku");
    const char *err;
    int bad = 0;
    memset(out, 0, sizeof(*out));
    out->tasks = apr_array_make(p, 4, sizeof(ct_invoke_task));
    if (!messages && !parallel)
        return "send messages or parallel_tasks";
    if (messages && parallel)
        return "send messages or parallel_tasks, not both";
    if ((err = messages ? parse_messages(p, messages, out) : parse_parallel(p, parallel, out)))
        return err;
    out->repo_url = string_member(body, "repo_url", &bad);
    if (bad || (out->repo_url && (!*out->repo_url || strlen(out->repo_url) > 2048)))
        return "repo_url must be a URL of at most 2048 characters";
    out->github_token = string_member(body, "github_token", &bad);
    if (bad || (out->github_token && strlen(out->github_token) > 1024))
        return "github_token must be a string of at most 1024 characters";
    out->branch = string_member(body, "branch", &bad);
    if (bad || (out->branch && !branch_name(out->branch)))
        return "branch must be a branch name (letters, digits, '-', '_', '.', '/')";
    if (!out->branch)
        out->branch = "main";
    if (haiku && cb_json_typeof(haiku) != CB_JSON_NULL && !cb_json_bool_value(haiku, &out->haiku))
        return "haiku must be true or false";
    out->thread_id = string_member(body, "thread_id", &bad);
    if (bad || (out->thread_id && !ct_invoke_is_name(out->thread_id)))
        return "thread_id must be 1-64 letters, digits, '-', '_' or '.'";
    return NULL;
}
