/*
 * harness_podman.c: a throwaway Podman engine in the test's directory
 * (see harness_podman.h): containers.conf, an offline busybox image, the
 * API service on a unix socket, and a teardown that removes the
 * containers and stops the service and its conmon processes by PID.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>

#include "harness_podman.h"
#include "servers.h"

static char podman_dir[320], socket_path[360];
static pid_t service_pid;

static const char containers_conf[] =
    "# written by the integration harness (harness_podman.c)\n"
    "[containers]\n"
    "default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
    "netns = \"none\"\n"
    "[engine]\n"
    "runtime = \"runc\"\n"
    "cgroup_manager = \"cgroupfs\"\n"
    "events_logger = \"file\"\n"
    "tmp_dir = \"%s/tmp\"\n"
    "volume_path = \"%s/volumes\"\n";

/* The podman command line with the configuration and storage in dir. */
static void podman_command_in(const char *dir, char *out, size_t size, const char *args)
{
    snprintf(out, size,
             "CONTAINERS_CONF='%s/containers.conf' podman --root '%s/root' --runroot '%s/run' "
             "--tmpdir '%s/tmp' --storage-driver vfs %s",
             dir, dir, dir, dir, args);
}

static void podman_command(char *out, size_t size, const char *args)
{
    podman_command_in(podman_dir, out, size, args);
}

static int run_podman_in(const char *dir, const char *args)
{
    char cmd[4096], full[4600];
    podman_command_in(dir, cmd, sizeof(cmd), args);
    snprintf(full, sizeof(full), "%s >>'%s/podman-cli.log' 2>&1", cmd, dir);
    return system(full);
}

static void run_podman(const char *args, int must_succeed)
{
    if (run_podman_in(podman_dir, args) != 0 && must_succeed)
        ck_abort_msg("podman failed: %s (see %s/podman-cli.log)", args, podman_dir);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* A root file system of busybox and a few applet links, as a tarball. */
static void make_rootfs_tarball(void)
{
    char cmd[1600];
    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s'; mkdir -p rootfs/bin rootfs/tmp rootfs/workspace; "
             "cp /bin/busybox rootfs/bin/busybox; "
             "for a in sh echo cat sleep ls printf head tail wc env ps tr grep kill; do "
             "ln -sf busybox rootfs/bin/$a; done; tar -C rootfs -cf rootfs.tar .",
             podman_dir);
    ck_assert_msg(system(cmd) == 0, "could not build the busybox root file system "
                  "(is busybox-static installed? scripts/install-deps.sh)");
}

const char *it_podman_start(void)
{
    char conf[1200], args[600], cmd[4400];
    struct timespec pause = {0, 50 * 1000 * 1000};
    snprintf(podman_dir, sizeof(podman_dir), "%s/podman", it.dir);
    snprintf(socket_path, sizeof(socket_path), "%s/engine.sock", podman_dir);
    mkdir(podman_dir, 0711); /* httpd's children (www-data) reach the socket through it */
    snprintf(conf, sizeof(conf), "%s/tmp", podman_dir);
    mkdir(conf, 0700);
    snprintf(conf, sizeof(conf), containers_conf, podman_dir, podman_dir);
    snprintf(args, sizeof(args), "%s/containers.conf", podman_dir);
    write_text(args, conf);
    make_rootfs_tarball();
    snprintf(args, sizeof(args), "import '%s/rootfs.tar' " IT_PODMAN_IMAGE, podman_dir);
    run_podman(args, 1);
    snprintf(args, sizeof(args), "system service --time=0 'unix://%s'", socket_path);
    {
        char line[4096];
        podman_command(line, sizeof(line), args);
        snprintf(cmd, sizeof(cmd), "env %s", line);
    }
    /* registered like any helper, so a failed test's run still stops it */
    service_pid = it_spawn_helper(podman_dir, cmd, "podman-service.log");
    for (int i = 0; i < 200; i++) {
        it_response r;
        struct stat st;
        if (stat(socket_path, &st) == 0) {
            it_podman_request("GET", "/v1.41/_ping", NULL, &r);
            if (r.status == 200) {
                it_free(&r);
                /* test only: httpd's children run as www-data; a site gives
                 * its httpd user the engine's group instead */
                chmod(socket_path, 0666);
                return socket_path;
            }
            it_free(&r);
        }
        nanosleep(&pause, NULL);
    }
    ck_abort_msg("the podman service did not answer on %s (see %s/podman-service.log)", socket_path,
                 it.dir);
    return NULL;
}

/* conmon processes started for the storage root in dir, by PID. */
static void stop_conmons(const char *dir)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    char root[400];
    snprintf(root, sizeof(root), "%s/root", dir);
    while (proc && (e = readdir(proc))) {
        char path[300], cmdline[8192];
        size_t n;
        FILE *f;
        pid_t pid = (pid_t)atoi(e->d_name);
        int ours = 0;
        if (pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        if (!(f = fopen(path, "r")))
            continue;
        n = fread(cmdline, 1, sizeof(cmdline) - 1, f);
        fclose(f);
        cmdline[n] = '\0';
        if (strcmp(cmdline, "/usr/bin/conmon") != 0 && strcmp(cmdline, "conmon") != 0)
            continue;
        for (size_t i = 0; i + strlen(root) <= n; i++)
            if (memcmp(cmdline + i, root, strlen(root)) == 0) {
                ours = 1;
                break;
            }
        if (ours)
            kill(pid, SIGKILL);
    }
    if (proc)
        closedir(proc);
}

void it_podman_pause(int paused)
{
    ck_assert_int_gt(service_pid, 0);
    kill(service_pid, paused ? SIGSTOP : SIGCONT);
}

void it_podman_stop_service(void)
{
    if (service_pid <= 0)
        return;
    srv_stop(service_pid);
    for (int i = 0; i < it.extras; i++)
        if (it.extra_pids[i] == service_pid)
            it.extra_pids[i] = 0; /* it_teardown must not signal a reused pid */
    service_pid = 0;
}

void it_podman_stop(void)
{
    if (!podman_dir[0])
        return;
    run_podman("rm --all --force --time 0", 0);
    it_podman_stop_service();
    stop_conmons(podman_dir);
    podman_dir[0] = '\0';
}

void it_podman_cleanup_dir(const char *test_dir)
{
    char dir[400], conf[450];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/podman", test_dir);
    snprintf(conf, sizeof(conf), "%s/containers.conf", dir);
    if (stat(conf, &st) != 0)
        return;
    run_podman_in(dir, "rm --all --force --time 0");
    stop_conmons(dir);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *baton)
{
    it_response *r = baton;
    size_t len = size * nmemb;
    char *grown = realloc(r->body, r->body_len + len + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->body_len, data, len);
    r->body = grown;
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

void it_podman_request(const char *method, const char *path, const char *json,
                       it_response *out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    char url[600];
    memset(out, 0, sizeof(*out));
    out->body = calloc(1, 1);
    ck_assert_ptr_nonnull(h);
    snprintf(url, sizeof(url), "http://engine%s", path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (json) {
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    }
    out->curl_error = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
}
