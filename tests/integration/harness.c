/*
 * harness.c: the integration-test harness (see harness.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "harness.h"
#include "harness_internal.h"
#include "harness_podman.h"
#include "harness_cluster.h"
#include "servers.h"

it_env it;

static double now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static int run_apache(const char *conf, const char *action, char *output, size_t output_size);

static void stop_pid(pid_t *pid)
{
    srv_stop(*pid);
    *pid = 0;
}

char *it_path_in_dir(const char *name)
{
    static char buf[4][400];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, 400, "%s/%s", it.dir, name);
    return out;
}

static void start_redis(void)
{
    if (it_cluster_mode()) {
        it_cluster_start();
        return;
    }
    it.redis_pid = srv_start_redis(it.redis_port, it.dir, it_path_in_dir("redis.log"));
    ck_assert_msg(srv_wait_port(it.redis_port, 5000), "redis-server did not start");
}

const char *it_plugin_dir(void)
{
    static char dir[300];
    snprintf(dir, sizeof(dir), "%s/plugins", it.dir);
    return dir;
}

/* Gathers the plugins of every build directory into one CloudBasePluginDir. */
static void link_plugins(void)
{
    const char *dirs = getenv("CB_PLUGIN_DIRS");
    char *copy, *state;
    mkdir(it_plugin_dir(), 0755);
    ck_assert_msg(dirs != NULL, "CB_PLUGIN_DIRS is not set (scripts/test.sh sets it)");
    copy = strdup(dirs);
    for (char *dir = strtok_r(copy, ":", &state); dir; dir = strtok_r(NULL, ":", &state)) {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "ln -sf '%s'/*.so '%s'/ 2>/dev/null", dir, it_plugin_dir());
        if (system(cmd) != 0)
            fprintf(stderr, "no plugins in %s\n", dir);
    }
    free(copy);
}

/* A failing test's process ends before its checked teardown runs, so
 * every test directory is listed in the run's registry (CB_IT_REGISTRY)
 * with the pids of what it started; it_cleanup_registry stops them all. */
static void register_dir(void)
{
    const char *registry = getenv("CB_IT_REGISTRY");
    FILE *f = registry ? fopen(registry, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", it.dir);
        fclose(f);
    }
}

static void record_helper_pids(void)
{
    FILE *f = fopen(it_path_in_dir("helpers.pid"), "w");
    if (f) {
        fprintf(f, "%d %d\n", (int)it.redis_pid, (int)it.upstream_pid);
        fclose(f);
    }
}

pid_t it_spawn_helper(const char *dir, const char *command, const char *log_name)
{
    char line[2048];
    char *argv[] = {"/bin/sh", "-c", line, NULL};
    pid_t pid;
    FILE *f;
    snprintf(line, sizeof(line), "cd '%s' && exec %s", dir, command);
    pid = srv_spawn(argv, it_path_in_dir(log_name));
    ck_assert_int_gt(pid, 0);
    ck_assert_int_lt(it.extras, 8);
    it.extra_pids[it.extras++] = pid;
    if ((f = fopen(it_path_in_dir("extra.pid"), "a"))) {
        fprintf(f, "%d\n", (int)pid);
        fclose(f);
    }
    return pid;
}

const char *it_auth_site(const char *auth_lines, const char *blocks)
{
    static char site[16384];
    int n;
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", IT_ADMIN_KEY "\n");
    n = snprintf(site, sizeof(site),
                 "%s<CloudBasePlugin auth>\n"
                 "  jwt_secret file:%s/jwt.key\n"
                 "  admin_key file:%s/admin.key\n"
                 "%s"
                 "</CloudBasePlugin>\n"
                 "%s",
                 it_default_site(), it.dir, it.dir, auth_lines ? auth_lines : "", blocks);
    ck_assert_msg(n > 0 && (size_t)n < sizeof(site), "the test site does not fit");
    return site;
}

void it_write_file(const char *name, const char *text)
{
    FILE *f = fopen(it_path_in_dir(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

char *it_read_file(const char *name)
{
    FILE *f = fopen(it_path_in_dir(name), "r");
    char *text;
    long size;
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)size + 1);
    if (size > 0 && fread(text, 1, (size_t)size, f) != (size_t)size)
        text[0] = '\0';
    fclose(f);
    return text;
}

int it_upstream_saw(const char *text)
{
    char *log = it_read_file("upstream.log");
    int saw = strstr(log, text) != NULL;
    free(log);
    return saw;
}

void it_upstream_control(const char *marker, const char *method, const char *path,
                         const char *const *headers, const char *body)
{
    it_response r;
    ck_assert_msg(!it_upstream_saw(marker), "control marker %s is not unique", marker);
    it_request(method, path, headers, body, &r);
    ck_assert_msg(r.status >= 200 && r.status < 300, "control request %s %s: %ld %s", method, path,
                  r.status, r.body ? r.body : "");
    it_free(&r);
    ck_assert_msg(it_upstream_saw(marker),
                  "control request %s %s was answered but is not in the upstream's log", method, path);
}

void it_assert_upstream_never_saw(const char *marker)
{
    ck_assert_msg(!it_upstream_saw(marker), "%s reached the upstream", marker);
}

static size_t discard_body(char *data, size_t size, size_t n, void *unused)
{
    (void)data; (void)unused;
    return size * n;
}

void it_parallel(const int *ports, int nports, const char *method, const char *path,
                 const char *const *headers, const char *body, int total, int parallel,
                 long *statuses)
{
    CURLM *multi = curl_multi_init();
    struct curl_slist *list = NULL;
    int started = 0, running = 0, done = 0;
    for (int i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    memset(statuses, 0, sizeof(long) * (size_t)total);
    while (done < total) {
        CURLMsg *msg;
        int left;
        while (started < total && started - done < parallel) {
            char url[512];
            CURL *h = curl_easy_init();
            snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ports[started % nports], path);
            curl_easy_setopt(h, CURLOPT_URL, url);
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
            if (body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
            }
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
            curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)(long)started);
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
            curl_multi_add_handle(multi, h);
            started++;
        }
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
        while ((msg = curl_multi_info_read(multi, &left))) {
            void *index;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &index);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
                              &statuses[(long)index]);
            curl_multi_remove_handle(multi, msg->easy_handle);
            curl_easy_cleanup(msg->easy_handle);
            done++;
        }
    }
    curl_slist_free_all(list);
    curl_multi_cleanup(multi);
}

/* Unmounts what it_mount_tmpfs mounted in dir (listed in dir/mounts). */
static void unmount_recorded(const char *dir)
{
    char path[400], mount_point[400];
    FILE *f;
    snprintf(path, sizeof(path), "%s/mounts", dir);
    if (!(f = fopen(path, "r")))
        return;
    while (fgets(mount_point, sizeof(mount_point), f)) {
        mount_point[strcspn(mount_point, "\n")] = '\0';
        if (*mount_point)
            umount2(mount_point, MNT_DETACH);
    }
    fclose(f);
}

const char *it_mount_tmpfs(const char *name, const char *size)
{
    static char mount_point[400];
    char options[64];
    FILE *f;
    ck_assert_msg(geteuid() == 0, "mounting a tmpfs needs root");
    snprintf(mount_point, sizeof(mount_point), "%s/%s", it.dir, name);
    ck_assert_int_eq(mkdir(mount_point, 0777), 0);
    snprintf(options, sizeof(options), "size=%s,mode=0777", size);
    ck_assert_msg(mount("tmpfs", mount_point, "tmpfs", 0, options) == 0,
                  "mount -t tmpfs on %s failed", mount_point);
    f = fopen(it_path_in_dir("mounts"), "a");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", mount_point);
    fclose(f);
    return mount_point;
}

void it_cleanup_registry(void)
{
    const char *registry = getenv("CB_IT_REGISTRY");
    char dir[300], path[400], cmd[700];
    FILE *f = registry ? fopen(registry, "r") : NULL;
    while (f && fgets(dir, sizeof(dir), f)) {
        FILE *pids;
        int a = 0, b = 0;
        dir[strcspn(dir, "\n")] = '\0';
        for (int n = 0; n < 2; n++) {
            snprintf(path, sizeof(path), n ? "%s/httpd2.pid" : "%s/httpd.pid", dir);
            if ((pids = fopen(path, "r"))) {
                if (fscanf(pids, "%d", &a) == 1 && a > 0)
                    kill(a, SIGTERM);
                fclose(pids);
            }
        }
        snprintf(path, sizeof(path), "%s/extra.pid", dir);
        if ((pids = fopen(path, "r"))) {
            while (fscanf(pids, "%d", &a) == 1)
                if (a > 0)
                    srv_stop(a);
            fclose(pids);
        }
        snprintf(path, sizeof(path), "%s/helpers.pid", dir);
        if ((pids = fopen(path, "r"))) {
            if (fscanf(pids, "%d %d", &a, &b) == 2) {
                if (a > 0) srv_stop(a);
                if (b > 0) srv_stop(b);
            }
            fclose(pids);
        }
        it_podman_cleanup_dir(dir);
        unmount_recorded(dir);
        if (!getenv("CB_IT_KEEP")) {
            snprintf(cmd, sizeof(cmd), "sleep 0.2; rm -rf '%s'", dir);
            if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", dir);
        }
    }
    if (f) {
        fclose(f);
        unlink(registry);
    }
}

void it_setup(void)
{
    memset(&it, 0, sizeof(it));
    snprintf(it.dir, sizeof(it.dir), "/tmp/cb-it-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(it.dir));
    register_dir();
    chmod(it.dir, 0777); /* httpd's children run as www-data when we are root */
    mkdir(it_path_in_dir("docroot"), 0755);
    {
        FILE *f = fopen(it_path_in_dir("docroot/index.html"), "w");
        ck_assert_ptr_nonnull(f);
        fputs("<h1>static site</h1>\n", f);
        fclose(f);
    }
    link_plugins();
    it.http_port = srv_free_port();
    it.redis_port = srv_free_port();
    it.upstream_port = srv_free_port();
    it.site_port = srv_free_port();
    start_redis();
    it.upstream_pid = srv_start_upstream(it.upstream_port, it_path_in_dir("upstream.log"));
    record_helper_pids();
    ck_assert_msg(srv_wait_port(it.upstream_port, 10000), "upstream did not start");
}

/* Sanitizer and crash reports land in httpd's error log (its stderr). */
static const char *crash_report(const char *log)
{
    static const char *const markers[] = {"AddressSanitizer", "runtime error:",
                                          "LeakSanitizer", "Segmentation fault",
                                          "exit signal", NULL};
    for (int i = 0; markers[i]; i++)
        if (strstr(log, markers[i]))
            return markers[i];
    return NULL;
}

/* With CB_IT_LOG_DIR set, every error log of the test (error.log and a
 * second server's) is copied there, named after the test's directory, so
 * that scripts/check-log-secrets.sh can read the whole run's logs. */
static void keep_error_logs(void)
{
    const char *to = getenv("CB_IT_LOG_DIR");
    const char *name = strrchr(it.dir, '/');
    char cmd[1400];
    if (!to || !*to)
        return;
    snprintf(cmd, sizeof(cmd),
             "for f in '%s'/error*.log; do [ -f \"$f\" ] && cp \"$f\" '%s/%s-'\"${f##*/}\"; done; true",
             it.dir, to, name ? name + 1 : "test");
    if (system(cmd) != 0)
        fprintf(stderr, "could not copy the error logs of %s to %s\n", it.dir, to);
}

void it_teardown(void)
{
    char cmd[700];
    char *log;
    const char *crash;
    if (it.second_conf[0])
        it_httpd_stop(it.second_conf);
    if (it.conf_path[0])
        it_httpd_stop(it.conf_path);
    log = it_error_log();
    crash = crash_report(log);
    if (crash) {
        fprintf(stderr, "httpd error log shows '%s':\n%s\n", crash, log);
        free(log);
        it_cluster_stop();
        stop_pid(&it.redis_pid);
        stop_pid(&it.upstream_pid);
        for (int i = 0; i < it.extras; i++)
            stop_pid(&it.extra_pids[i]);
        ck_abort_msg("httpd reported '%s' (log above)", crash);
    }
    free(log);
    keep_error_logs();
    it_cluster_stop();
    stop_pid(&it.redis_pid);
    stop_pid(&it.upstream_pid);
    for (int i = 0; i < it.extras; i++)
        stop_pid(&it.extra_pids[i]);
    it.extras = 0;
    if (getenv("CB_IT_KEEP")) {
        fprintf(stderr, "kept %s\n", it.dir);
        return;
    }
    unmount_recorded(it.dir);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", it.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", it.dir);
}

const char *it_database_value(void)
{
    static char sqlite[400];
    if (it.database[0])
        return it.database;
    snprintf(sqlite, sizeof(sqlite), "sqlite3:%s/site.db", it.dir);
    return sqlite;
}

const char *it_default_site(void)
{
    static char site[2048];
    snprintf(site, sizeof(site),
             "CloudBaseEnv demo\n"
             "CloudBasePluginDir %s\n"
             "CloudBaseRedis %s connect_timeout=100ms timeout=200ms retry=300ms\n"
             /* The auth plugin keeps users and keys here. */
             "CloudBaseDatabase %s\n"
             "CloudBaseSecureDomains https://app.example.com https://*.apps.example.org\n"
             "<CloudBasePlugin testplug>\n"
             "  greeting \"hello from the gateway\"\n"
             /* logged by /v1/test/fail on purpose: the core must scrub it */
             "  secret it-testplug-secret-0123456789abcdef\n"
             "  upstream http://127.0.0.1:%d/\n"
             "  fake_identity on\n"
             "  task_file %s/task.log\n"
             "  task_interval 100ms\n"
             "</CloudBasePlugin>\n",
             it_plugin_dir(), it_redis_url(), it_database_value(),
             it.upstream_port, it.dir);
    return site;
}

/* tag "" is the main httpd; "2" a second one with its own pid file and log. */
static const char *write_config(const char *name, const char *mpm, const char *site, int port,
                                const char *tag)
{
    static char path[400];
    const char *module = getenv("CB_MODULE");
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", it.dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "ServerRoot /etc/apache2\n"
            "ServerName 127.0.0.1\n"
            "PidFile %s/httpd%s.pid\n"
            "ErrorLog %s/error%s.log\n"
            "LogLevel warn\n"
            "%s"
            "%s"
            "Listen 127.0.0.1:%d\n"
            "LoadModule mpm_%s_module /usr/lib/apache2/modules/mod_mpm_%s.so\n"
            "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so\n"
            "LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so\n"
            "LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so\n"
            "LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so\n"
            "LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so\n"
            "LoadModule cloudbase_module %s\n"
            "TypesConfig /etc/mime.types\n"
            "DocumentRoot %s/docroot\n"
            "DirectoryIndex index.html\n"
            "<Directory %s/docroot>\n  Require all granted\n</Directory>\n"
            "%s",
            it.dir, tag, it.dir, tag, geteuid() == 0 ? "User www-data\nGroup www-data\n" : "",
            /* One child process, for scripts/valgrind.sh. */
            getenv("CB_APACHE_ONE_CHILD") ? "ServerLimit 1\nStartServers 1\n" : "",
            port, mpm, mpm, module ? module : ".libs/mod_cloudbase.so", it.dir, it.dir,
            site);
    fclose(f);
    return path;
}

const char *it_write_config(const char *name, const char *mpm, const char *site)
{
    return write_config(name, mpm, site, it.http_port, "");
}

static int run_apache(const char *conf, const char *action, char *output, size_t output_size)
{
    char cmd[1024];
    FILE *p;
    size_t used = 0;
    int status;
    const char *preload = getenv("CB_APACHE_PRELOAD");
    /* scripts/valgrind.sh runs httpd under memcheck through this prefix. */
    const char *wrapper = getenv("CB_APACHE_WRAPPER");
    if (preload && !*preload)
        preload = NULL;
    snprintf(cmd, sizeof(cmd), "%s%s%s%s%sapache2 -f '%s' %s%s 2>&1",
             preload ? "LD_PRELOAD='" : "", preload ? preload : "", preload ? "' " : "",
             wrapper ? wrapper : "", wrapper ? " " : "",
             conf, action[0] == '-' ? "" : "-k ", action);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    if (output && output_size) {
        output[0] = '\0';
        while (used + 1 < output_size) {
            size_t n = fread(output + used, 1, output_size - used - 1, p);
            if (!n)
                break;
            used += n;
        }
        output[used] = '\0';
    } else {
        char sink[512];
        while (fread(sink, 1, sizeof(sink), p))
            ;
    }
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int it_configtest(const char *conf, char *output, size_t output_size)
{
    return run_apache(conf, "-t", output, output_size);
}

int it_httpd_ready(int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        it_response r;
        it_request("GET", "/index.html", NULL, NULL, &r);
        it_free(&r);
        if (r.status == 200)
            return 1;
        usleep(50 * 1000);
    }
    return 0;
}

int it_httpd_start(const char *conf)
{
    char output[4096];
    int rc = run_apache(conf, "start", output, sizeof(output));
    snprintf(it.conf_path, sizeof(it.conf_path), "%s", conf);
    if (rc != 0) {
        fprintf(stderr, "apache2 -k start failed (%d): %s\n", rc, output);
        return 0;
    }
    return it_httpd_ready(10000);
}

int it_second_httpd_start(const char *site, int port)
{
    char output[4096];
    const char *conf = write_config("httpd2.conf", "event", site, port, "2");
    int rc = run_apache(conf, "start", output, sizeof(output));
    snprintf(it.second_conf, sizeof(it.second_conf), "%s", conf);
    it.second_port = port;
    if (rc != 0) {
        fprintf(stderr, "second apache2 -k start failed (%d): %s\n", rc, output);
        return 0;
    }
    return srv_wait_port(port, 10000);
}

int it_httpd_signal(const char *conf, const char *action)
{
    return run_apache(conf, action, NULL, 0);
}

pid_t it_read_pid(const char *pid_file)
{
    FILE *f = fopen(it_path_in_dir(pid_file), "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

/* Stops the main httpd or the second one (`conf` names which) and waits
 * until its main process has exited and its port is closed. */
void it_httpd_stop(const char *conf)
{
    int second = it.second_conf[0] && strcmp(conf, it.second_conf) == 0;
    pid_t pid = it_read_pid(second ? "httpd2.pid" : "httpd.pid");
    int port = second ? it.second_port : it.http_port;
    run_apache(conf, "stop", NULL, 0);
    for (int i = 0; pid > 0 && i < 200 && kill(pid, 0) == 0; i++)
        usleep(50 * 1000);
    for (int i = 0; i < 100 && srv_port_open(port); i++)
        usleep(50 * 1000);
    if (second)
        it.second_conf[0] = '\0';
    else
        it.conf_path[0] = '\0';
}

void it_redis_kill(void)
{
    stop_pid(&it.redis_pid);
}

void it_redis_restart(void)
{
    start_redis();
    record_helper_pids();
}

void it_redis_pause(int paused)
{
    kill(it.redis_pid, paused ? SIGSTOP : SIGCONT);
}

long it_redis_calls(const char *command)
{
    char cmd[256], out[16384], key[64];
    size_t used = 0;
    const char *at;
    FILE *p;
    snprintf(cmd, sizeof(cmd), "redis-cli -h 127.0.0.1 -p %d INFO commandstats", it.redis_port);
    ck_assert_ptr_nonnull(p = popen(cmd, "r"));
    while (used + 1 < sizeof(out)) {
        size_t n = fread(out + used, 1, sizeof(out) - used - 1, p);
        if (!n)
            break;
        used += n;
    }
    out[used] = '\0';
    ck_assert_msg(pclose(p) == 0 && strstr(out, "# Commandstats"), "INFO commandstats failed: %s",
                  out);
    snprintf(key, sizeof(key), "cmdstat_%s:calls=", command);
    at = strstr(out, key);
    return at ? strtol(at + strlen(key), NULL, 10) : 0;
}

typedef struct capture {
    it_response *out;
    size_t cap;
    double start;
} capture;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    capture *c = userdata;
    size_t n = size * nmemb;
    it_response *r = c->out;
    if (r->chunks < 16)
        r->chunk_ms[r->chunks++] = now_ms() - c->start;
    if (r->body_len + n + 1 > c->cap) {
        c->cap = (r->body_len + n + 1) * 2;
        r->body = realloc(r->body, c->cap);
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    it_response *r = userdata;
    size_t n = size * nmemb, old = r->headers ? strlen(r->headers) : 0;
    r->headers = realloc(r->headers, old + n + 1);
    for (size_t i = 0; i < n; i++)
        r->headers[old + i] = data[i];
    r->headers[old + n] = '\0';
    return n;
}

void it_request(const char *method, const char *path, const char *const *headers,
                const char *body, it_response *out)
{
    it_request_from(NULL, method, path, headers, body, out);
}

const char *it_gateway_conf_path(void)
{
    static char path[400];
    snprintf(path, sizeof(path), "%s/httpd.conf", it.dir);
    return path;
}

void it_request_from(const char *source_ip, const char *method, const char *path,
                     const char *const *headers, const char *body, it_response *out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *list = NULL;
    char url[1024];
    capture c = {out, 0, now_ms()};
    memset(out, 0, sizeof(*out));
    out->body = calloc(1, 1);
    out->headers = calloc(1, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", it.http_port, path);
    for (int i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    if (source_ip)
        curl_easy_setopt(h, CURLOPT_INTERFACE, source_ip);
    out->curl_error = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    out->total_ms = now_ms() - c.start;
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
}

const char *it_header(const it_response *r, const char *name)
{
    static char value[1024];
    size_t name_len = strlen(name);
    const char *line = r->headers;
    while (line && *line) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            snprintf(value, sizeof(value), "%.*s", (int)(len - (size_t)(v - line)), v);
            return value;
        }
        line = end ? end + 2 : NULL;
    }
    return NULL;
}

char *it_raw_request(const char *bytes, size_t len)
{
    struct sockaddr_in addr;
    struct timeval tv = {5, 0};
    size_t used = 0, cap = 16384;
    char *answer = malloc(cap);
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_ptr_nonnull(answer);
    ck_assert_int_ge(fd, 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)it.http_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    /* httpd may answer and close before it read everything (a 414). */
    for (size_t sent = 0; sent < len; sent += (size_t)n)
        if ((n = send(fd, bytes + sent, len - sent, MSG_NOSIGNAL)) <= 0)
            break;
    for (;;) {
        if (cap - used < 4096) {
            cap *= 2;
            answer = realloc(answer, cap);
            ck_assert_ptr_nonnull(answer);
        }
        if ((n = read(fd, answer + used, cap - 1 - used)) <= 0)
            break;
        used += (size_t)n;
    }
    answer[used] = '\0';
    close(fd);
    return answer;
}

char *it_error_log(void)
{
    return it_read_file("error.log");
}

void it_free(it_response *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

static char gateway_conf[400];

void it_start_gateway(const char *mpm)
{
    it_setup();
    snprintf(gateway_conf, sizeof(gateway_conf), "%s",
             it_write_config("httpd.conf", mpm, it_default_site()));
    if (!it_httpd_start(gateway_conf)) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

const char *it_gateway_conf(void)
{
    return gateway_conf;
}

char *it_browser_dump(const char *url)
{
    char cmd[2048], *out = NULL;
    size_t used = 0, cap = 0;
    FILE *p;
    /* Flags as for any headless run on a closed network: no background
     * traffic, a fresh profile in the test's directory. */
    snprintf(cmd, sizeof(cmd),
             "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "
             "--no-first-run --disable-background-networking --disable-component-update "
             "--disable-sync --disable-dev-shm-usage --user-data-dir='%s/chromium' "
             "--virtual-time-budget=10000 --dump-dom '%s' 2>/dev/null", it.dir, url);
    p = popen(cmd, "r");
    if (!p)
        return NULL;
    for (;;) {
        size_t n;
        if (cap - used < 4096) {
            cap = cap ? cap * 2 : 8192;
            out = realloc(out, cap);
        }
        n = fread(out + used, 1, cap - used - 1, p);
        if (!n)
            break;
        used += n;
    }
    out[used] = '\0';
    if (pclose(p) != 0 && used == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* One request of it_parallel_each and where its answer goes. */
typedef struct parallel_slot {
    CURL *handle;
    struct curl_slist *headers;
    capture body;
} parallel_slot;

static CURL *parallel_handle(const char *source_ip, const char *method, const char *path,
                             const char *const *headers, const char *body,
                             parallel_slot *slot, it_response *out)
{
    CURL *h = curl_easy_init();
    char url[1024];
    memset(out, 0, sizeof(*out));
    out->body = calloc(1, 1);
    out->headers = calloc(1, 1);
    slot->body.out = out;
    slot->body.cap = 0;
    slot->body.start = now_ms();
    slot->headers = NULL;
    for (int i = 0; headers && headers[i]; i++)
        slot->headers = curl_slist_append(slot->headers, headers[i]);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", it.http_port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, slot->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &slot->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
    if (source_ip)
        curl_easy_setopt(h, CURLOPT_INTERFACE, source_ip);
    curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)slot);
    slot->handle = h;
    return h;
}

void it_parallel_each(const char *source_ip, const char *method, const char *path,
                      const char *const *headers, const char *const *bodies, int total,
                      int parallel, it_response *out)
{
    CURLM *multi = curl_multi_init();
    parallel_slot *slots = calloc((size_t)total, sizeof(*slots));
    int started = 0, running = 0, done = 0;
    ck_assert_ptr_nonnull(slots);
    while (done < total) {
        CURLMsg *msg;
        int left;
        while (started < total && started - done < parallel) {
            curl_multi_add_handle(multi, parallel_handle(source_ip, method, path, headers,
                                                         bodies[started], &slots[started],
                                                         &out[started]));
            started++;
        }
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
        while ((msg = curl_multi_info_read(multi, &left))) {
            parallel_slot *slot;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
            slot->body.out->curl_error = (int)msg->data.result;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &slot->body.out->status);
            slot->body.out->total_ms = now_ms() - slot->body.start;
            curl_multi_remove_handle(multi, msg->easy_handle);
            curl_easy_cleanup(msg->easy_handle);
            curl_slist_free_all(slot->headers);
            done++;
        }
    }
    free(slots);
    curl_multi_cleanup(multi);
}
