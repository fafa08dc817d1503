/*
 * harness.h: integration-test harness. Starts a real apache2, redis-server
 * and the Python test upstream on free 127.0.0.1 ports in a temporary
 * directory, writes httpd configurations, and makes HTTP requests with
 * libcurl. Everything it starts is stopped by it_teardown.
 */
#ifndef CB_IT_HARNESS_H
#define CB_IT_HARNESS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

typedef struct it_response {
    long status;
    char *headers;       /* raw header block, as received */
    char *body;
    size_t body_len;
    double total_ms;
    double chunk_ms[16]; /* arrival time of each body chunk, from start */
    int chunks;
    int curl_error;
} it_response;

typedef struct it_env {
    char dir[256];
    int http_port, redis_port, upstream_port;
    int site_port;       /* a second port of the same httpd, for cross-origin pages */
    pid_t redis_pid, upstream_pid;
    pid_t extra_pids[8];  /* it_spawn_helper */
    int extras;
    char conf_path[300];
    char second_conf[300]; /* it_second_httpd_start */
    int second_port;
    char database[512];    /* CloudBaseDatabase of the default site; "" = SQLite in dir */
} it_env;

extern it_env it;

/* Milliseconds of the monotonic clock, for polling to a deadline. */
static inline long long it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Creates the temporary directory and picks ports; starts redis and the
 * upstream. */
void it_setup(void);
void it_teardown(void);
/* Stops what tests left running when they failed before their teardown
 * (the runner calls it once at the end). */
void it_cleanup_registry(void);

/* A directory of this test with every plugin (symlinks to the .so files in
 * the directories of CB_PLUGIN_DIRS, colon-separated). */
const char *it_plugin_dir(void);

/* Writes the httpd config: the base (modules, listen, docroot), `mpm`
 * ("event" or "prefork"), then `site` (the gateway directives). Returns
 * the path. */
const char *it_write_config(const char *name, const char *mpm, const char *site);
/* The default gateway directives: env, plugin dir, Redis, a database
 * (it.database, or sqlite3:DIR/site.db), allowlist, and a testplug block
 * proxying to the upstream. */
const char *it_default_site(void);
/* The CloudBaseDatabase value of the default site (for cloudbase-user). */
const char *it_database_value(void);
/* apache2 -t; returns the exit status and fills output (stdout+stderr). */
int it_configtest(const char *conf, char *output, size_t output_size);
int it_httpd_start(const char *conf);
/* it_setup, then httpd with `conf_name` on `mpm` and the default site;
 * on failure stops everything and fails the test with the error log. */
void it_start_gateway(const char *mpm);
/* The path of the config it_start_gateway wrote. */
const char *it_gateway_conf(void);
/* apache2 -k ACTION (graceful, restart); returns its exit status. */
int it_httpd_signal(const char *conf, const char *action);
/* A second httpd on `port` with the same Redis (its own pid file, error2.log);
 * stopped by it_teardown. */
int it_second_httpd_start(const char *site, int port);
void it_httpd_stop(const char *conf);
/* SIGKILLs httpd's parent and every child (no shutdown runs) and waits
 * until they are gone; returns how many processes were killed. */
int it_httpd_kill9(void);
/* 1 once a request to the given path answers at all. */
int it_httpd_ready(int ms);

void it_redis_kill(void);
void it_redis_restart(void);
void it_redis_pause(int paused);  /* SIGSTOP / SIGCONT */
/* How many times Redis has run command (lower case, e.g. "mget") so far
 * (INFO commandstats; 0 before the first). */
long it_redis_calls(const char *command);

/* headers: NULL-terminated "Name: value" lines. body may be NULL. */
void it_request(const char *method, const char *path, const char *const *headers,
                const char *body, it_response *out);
/* The same from a given local source address (127.0.0.2, ...), to act as
 * another client. */
void it_request_from(const char *source_ip, const char *method, const char *path,
                     const char *const *headers, const char *body, it_response *out);
/* The config file httpd was last started with. */
const char *it_gateway_conf_path(void);
/* A response header's value (first), or NULL. */
const char *it_header(const it_response *r, const char *name);
/* Loads url in headless Chromium, lets its scripts run, and returns the
 * serialised DOM (malloc'd), or NULL when Chromium could not run. */
char *it_browser_dump(const char *url);

/* Runs a shell command line (exec'd, so the pid is the program's own) in
 * dir, output to it.dir/log_name; stopped by it_teardown and, if the test
 * fails first, by it_cleanup_registry. */
pid_t it_spawn_helper(const char *dir, const char *command, const char *log_name);
/* 1 when the test upstream's request log contains text. */
int it_upstream_saw(const char *text);
/* The positive control of a "never reached the upstream" check: sends a
 * good request through the same route as the refused ones, carrying
 * `marker` (e.g. "marker=ok1" in its query), and fails the test unless it
 * is answered 2xx and the marker is in the upstream's log (and was not
 * before). The upstream logs each request before answering it, so after
 * this the log is known to be written and current, and a bad marker's
 * absence means the bad request was not forwarded. */
void it_upstream_control(const char *marker, const char *method, const char *path,
                         const char *const *headers, const char *body);
/* Fails the test when the upstream's log contains marker. */
void it_assert_upstream_never_saw(const char *marker);
/* The admin key of the auth plugin in it_auth_site. */
#define IT_ADMIN_KEY "it-admin-key-0123456789abcdef"
/* it_default_site(), then the auth plugin with a JWT secret and the admin
 * key IT_ADMIN_KEY (their files written into the test directory) and
 * auth_lines (NULL: none) in its block, then blocks (other plugins).
 * Static: valid until the next call. */
const char *it_auth_site(const char *auth_lines, const char *blocks);
/* Writes text to a file in the test directory. */
void it_write_file(const char *name, const char *text);
/* The contents of a file in the test directory (malloc'd, "" if absent). */
char *it_read_file(const char *name);

/* Sends `total` identical requests, `parallel` at a time, spread round-robin
 * over the given httpd ports; fills statuses[total] (0 = no answer). */
void it_parallel(const int *ports, int nports, const char *method, const char *path,
                 const char *const *headers, const char *body, int total, int parallel,
                 long *statuses);

/* Sends raw bytes (which libcurl would not send: a bad request line, a
 * doubled Transfer-Encoding) to the gateway's port and returns everything
 * it answered until it closed or 5 s passed (malloc'd, NUL-terminated). */
char *it_raw_request(const char *bytes, size_t len);
/* Sends one request per body (bodies[total]) from source_ip (NULL: the
 * default), `parallel` at a time, to the gateway; fills out[total] like
 * it_request (status 0 = no answer; free each with it_free). */
void it_parallel_each(const char *source_ip, const char *method, const char *path,
                      const char *const *headers, const char *const *bodies, int total,
                      int parallel, it_response *out);
/* Resident memory of the gateway httpd: its parent and every child, in KiB
 * (from /proc; 0 when the pid file cannot be read). */
long it_httpd_rss_kib(void);

/* Mounts a tmpfs of size ("1m") at it.dir/name (mode 0777; root only) and
 * returns its path; it_teardown, or the registry cleanup after a failed
 * test, unmounts it. */
const char *it_mount_tmpfs(const char *name, const char *size);

/* The error log so far. */
char *it_error_log(void);
void it_free(it_response *r);

#endif
