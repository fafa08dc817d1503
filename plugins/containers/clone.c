/*
 * clone.c: the workspaces of /invoke/stdout on the gateway's host and the
 * git clone that fills them. A task's workspace is the directory
 * BASE/ENV/OWNER/THREAD/TASK (OWNER the first 32 hex of the SHA-256 of the
 * caller's owner key), bound into the task's container at /workspace, so
 * a later call with the same thread_id continues in it. The clone runs
 * `git clone` on the host (agent images need no git); the GitHub token
 * reaches git only through its environment, as an Authorization header
 * (GIT_CONFIG_COUNT/KEY/VALUE), never on a command line, in the clone's
 * .git/config, or in a log line (git's own message is scrubbed of it).
 */
#include <signal.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include "cloudbase/crypto.h"
#include "cloudbase/encoding.h"
#include "containers.h"

#define GIT_MESSAGE_MAX 300

const char *ct_thread_dir(apr_pool_t *p, const char *base, const char *env, const char *owner,
                          const char *thread_id)
{
    const char *owner_hash = apr_pstrndup(p, cb_sha256_hex(p, owner, strlen(owner)), 32);
    return apr_pstrcat(p, base, "/", env, "/", owner_hash, "/", thread_id, NULL);
}

int ct_dir_exists(apr_pool_t *p, const char *dir)
{
    apr_finfo_t info;
    return apr_stat(&info, dir, APR_FINFO_TYPE, p) == APR_SUCCESS && info.filetype == APR_DIR;
}

/* Replaces every occurrence of secret in text by "***". */
static const char *scrub(apr_pool_t *p, const char *text, const char *secret)
{
    const char *hit;
    char *out = apr_pstrdup(p, "");
    if (!secret || !*secret)
        return apr_pstrdup(p, text);
    while ((hit = strstr(text, secret))) {
        out = apr_pstrcat(p, out, apr_pstrndup(p, text, (apr_size_t)(hit - text)), "***", NULL);
        text = hit + strlen(secret);
    }
    return apr_pstrcat(p, out, text, NULL);
}

/* git's first words on stderr, without control characters or the token. */
static const char *git_message(apr_pool_t *p, apr_file_t *err, const char *token)
{
    char buf[GIT_MESSAGE_MAX + 1];
    apr_size_t n = GIT_MESSAGE_MAX;
    apr_off_t start = 0;
    apr_file_seek(err, APR_SET, &start);
    if (apr_file_read(err, buf, &n) != APR_SUCCESS)
        n = 0;
    buf[n] = '\0';
    for (apr_size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20)
            buf[i] = ' ';
    return scrub(p, buf, token);
}

static const char **clone_env(apr_pool_t *p, const char *home, const char *token)
{
    apr_array_header_t *env = apr_array_make(p, 10, sizeof(const char *));
    APR_ARRAY_PUSH(env, const char *) = "PATH=/usr/local/bin:/usr/bin:/bin";
    APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(p, "HOME=", home, NULL);
    APR_ARRAY_PUSH(env, const char *) = "GIT_TERMINAL_PROMPT=0";
    APR_ARRAY_PUSH(env, const char *) = "GIT_CONFIG_NOSYSTEM=1";
    if (token && *token) {
        const char *basic = apr_pstrcat(p, "x-access-token:", token, NULL);
        APR_ARRAY_PUSH(env, const char *) = "GIT_CONFIG_COUNT=1";
        APR_ARRAY_PUSH(env, const char *) = "GIT_CONFIG_KEY_0=http.extraHeader";
        APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(
            p, "GIT_CONFIG_VALUE_0=Authorization: Basic ",
            cb_base64_encode(p, (const unsigned char *)basic, strlen(basic)), NULL);
    }
    APR_ARRAY_PUSH(env, const char *) = NULL;
    return (const char **)env->elts;
}

const char *ct_git_clone(apr_pool_t *p, const ct_clone_spec *c, const char *dir,
                         const char **log_detail)
{
    const char *argv[] = {c->git, "clone", "--quiet", "--single-branch", "--branch",
                          c->branch, "--", c->url, dir, NULL};
    apr_procattr_t *attr;
    apr_proc_t proc;
    apr_file_t *err;
    apr_time_t deadline = apr_time_now() + apr_time_from_msec(c->timeout_ms);
    apr_exit_why_e why;
    int code = -1, waited = 0;
    char *err_path = apr_pstrcat(p, dir, ".git-err.XXXXXX", NULL);
    *log_detail = "";
    if (apr_file_mktemp(&err, err_path, APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE |
                                             APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE, p)
        != APR_SUCCESS)
        return "the workspace could not be prepared";
    if (apr_procattr_create(&attr, p) != APR_SUCCESS ||
        apr_procattr_io_set(attr, APR_NO_FILE, APR_NO_FILE, APR_NO_PIPE) != APR_SUCCESS ||
        apr_procattr_child_err_set(attr, err, NULL) != APR_SUCCESS ||
        apr_procattr_cmdtype_set(attr, APR_PROGRAM) != APR_SUCCESS ||
        apr_proc_create(&proc, c->git, argv, clone_env(p, c->home, c->token), attr, p)
            != APR_SUCCESS) {
        apr_file_close(err);
        return "git could not be started on the gateway";
    }
    while (!waited) {
        apr_status_t rv = apr_proc_wait(&proc, &code, &why, APR_NOWAIT);
        if (APR_STATUS_IS_CHILD_DONE(rv)) {
            waited = 1;
        } else if (apr_time_now() > deadline || (c->stop && c->stop(c->stop_baton))) {
            apr_proc_kill(&proc, SIGKILL);
            apr_proc_wait(&proc, &code, &why, APR_WAIT);
            apr_file_close(err);
            return "cloning the repository took too long";
        } else {
            apr_sleep(apr_time_from_msec(20));
        }
    }
    if (why != APR_PROC_EXIT || code != 0) {
        *log_detail = apr_psprintf(p, "git exited %d: %s", code, git_message(p, err, c->token));
        apr_file_close(err);
        return "the repository could not be cloned (check repo_url, branch and github_token)";
    }
    apr_file_close(err);
    return NULL;
}
