/*
 * notify_receivers.c: the notifier's real receivers for integration tests
 * (notify_receivers.h): starting notify_receiver.js and smtp_receiver.py
 * in the test's directory and reading what they received.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "notify_receivers.h"
#include "servers.h"

int nr_receiver_port, nr_smtp_port;
char nr_email_tls[600];

const char *nr_tests_dir(void)
{
    static char dir[600];
    const char *upstream = getenv("CB_TEST_UPSTREAM");
    char copy[512];
    ck_assert_msg(upstream != NULL, "CB_TEST_UPSTREAM is not set (scripts/test.sh sets it)");
    snprintf(copy, sizeof(copy), "%s", upstream);
    snprintf(dir, sizeof(dir), "%s", dirname(copy));
    return dir;
}

int nr_file_exists(const char *name)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", it.dir, name);
    return access(path, F_OK) == 0;
}

void nr_wait_for_file(const char *name)
{
    for (int i = 0; i < 400 && !nr_file_exists(name); i++)
        usleep(25 * 1000);
    ck_assert_msg(nr_file_exists(name), "%s never appeared", name);
}

/* with_tls: the SMTP server gets a fresh self-signed certificate for
 * 127.0.0.1 and requires STARTTLS. */
void nr_start_receivers_tls(int with_tls)
{
    char cmd[1600], tls_args[800] = "";
    nr_receiver_port = srv_free_port();
    nr_smtp_port = srv_free_port();
    snprintf(nr_email_tls, sizeof(nr_email_tls), "tls=starttls");
    if (with_tls) {
        snprintf(cmd, sizeof(cmd),
                 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                 "-addext subjectAltName=IP:127.0.0.1 -keyout '%s/smtp.key' -out '%s/smtp.crt' "
                 ">/dev/null 2>&1", it.dir, it.dir);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(tls_args, sizeof(tls_args), " '%s/smtp.crt' '%s/smtp.key'", it.dir, it.dir);
        snprintf(nr_email_tls, sizeof(nr_email_tls), "tls=required ca=%s/smtp.crt", it.dir);
    }
    snprintf(cmd, sizeof(cmd), "node '%s/notify_receiver.js' %d '%s' %s", nr_tests_dir(),
             nr_receiver_port, it.dir, HOOK_KEY);
    it_spawn_helper(it.dir, cmd, "receiver.log");
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/smtp_receiver.py' %d '%s' %s %s%s",
             nr_tests_dir(), nr_smtp_port, it.dir, SMTP_USER, SMTP_PASSWORD, tls_args);
    it_spawn_helper(it.dir, cmd, "smtp-receiver.log");
    nr_wait_for_file("receiver.ready");
    nr_wait_for_file("smtp.ready");
    it_write_file("hook.key", HOOK_KEY "\n");
    it_write_file("smtp.pass", SMTP_PASSWORD "\n");
}

void nr_start_receivers(void)
{
    nr_start_receivers_tls(0);
}

/* Lines of deliveries.log for path with the given answer (NULL: any)
 * that contain every one of the NULL-terminated words. */
int nr_deliveries(const char *path, const char *answer, const char *const *words)
{
    char *log = it_read_file("deliveries.log"), *line, *save = NULL;
    char want_path[128], want_answer[64];
    int n = 0;
    snprintf(want_path, sizeof(want_path), "\"path\":\"%s\"", path);
    snprintf(want_answer, sizeof(want_answer), "\"answer\":\"%s\"", answer ? answer : "");
    for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int ok = strstr(line, want_path) && (!answer || strstr(line, want_answer));
        for (const char *const *w = words; ok && w && *w; w++)
            ok = strstr(line, *w) != NULL;
        n += ok;
    }
    free(log);
    return n;
}

int nr_wait_deliveries(const char *path, const char *answer, const char *const *words, int n)
{
    int got = 0;
    for (int i = 0; i < 600 && (got = nr_deliveries(path, answer, words)) < n; i++)
        usleep(25 * 1000);
    return got;
}

int nr_count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *at = text; (at = strstr(at, needle)); at++)
        n++;
    return n;
}

/* How often needle occurs in the lines of deliveries.log for path. */
int nr_occurrences(const char *path, const char *needle)
{
    char *log = it_read_file("deliveries.log"), *line, *save = NULL, want[128];
    int n = 0;
    snprintf(want, sizeof(want), "\"path\":\"%s\"", path);
    for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strstr(line, want))
            n += nr_count_in(line, needle);
    free(log);
    return n;
}

