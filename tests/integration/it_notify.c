/*
 * it_notify.c: the core notifier (include/cloudbase/notify.h) end to end,
 * with real receivers on 127.0.0.1: a Discord-compatible webhook receiver
 * and a signed-webhook receiver (tests/integration/notify_receiver.js,
 * Node), and a real SMTP server with AUTH (smtp_receiver.py, Debian's
 * python3-aiosmtpd). Messages are triggered through the test plugin's
 * POST /v1/test/notify (testplug_notify.c). Covered: the Discord shape and
 * grouping of messages sent together, the HMAC signature, both parts of
 * the mail (also over required STARTTLS with a private CA), idempotency keys, the per-source cap, 429 with retry_after,
 * 500 retried with backoff, 404 disabling a channel (logged once), httpd
 * killed with SIGKILL during a delivery (delivered after the restart), and
 * bad channel lines refused at configtest (also plain http:// where HTTPS
 * is required).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "notify_receivers.h"
#include "servers.h"

/* The default site with the test plugin's notify lines (extra: more
 * testplug lines). */
static const char *notify_site(const char *extra)
{
    static char site[16384];
    const char *base = it_default_site();
    const char *end = strstr(base, "</CloudBasePlugin>");
    ck_assert_ptr_nonnull(end);
    snprintf(site, sizeof(site),
             "%.*s"
             "  notify discord ops http://127.0.0.1:%d/discord/ops username=Uptime "
             "private=127.0.0.0/8\n"
             "  notify webhook hook http://127.0.0.1:%d/hook/hook secret=file:%s/hook.key "
             "private=127.0.0.0/8\n"
             "  notify email mail smtp://127.0.0.1:%d from=alerts@example.com "
             "to=oncall@example.com,boss@example.com user=" SMTP_USER " password=file:%s/smtp.pass "
             "%s private=127.0.0.0/8\n"
             "  notify_group_window 3s\n" /* wide: three requests on a busy machine */
             "%s"
             "%s",
             (int)(end - base), base, nr_receiver_port, nr_receiver_port, it.dir, nr_smtp_port,
             it.dir, nr_email_tls, extra ? extra : "", end);
    return site;
}

static void start_notifier_gateway(const char *extra)
{
    const char *conf;
    it_setup();
    nr_start_receivers();
    conf = it_write_config("httpd.conf", "event", notify_site(extra));
    ck_assert_msg(it_httpd_start(conf), "httpd did not start:\n%s", it_error_log());
}

/* Sends one message; returns the outcome word from the answer. */
static const char *notify(const char *kind, const char *source, const char *key)
{
    static char outcome[32];
    it_response r;
    char body[512];
    const char *at;
    snprintf(body, sizeof(body),
             "{\"kind\":\"%s\",\"source\":\"%s\",\"url\":\"https://%s.example.com/health\","
             "\"detail\":\"HTTP 503 from %s\",\"ping_ms\":42,\"key\":\"%s\"}",
             kind, source, source, source, key);
    it_request("POST", "/v1/test/notify", (const char *const[]){"Content-Type: application/json",
                                                               NULL}, body, &r);
    ck_assert_msg(r.status == 200, "notify answered %ld: %s", r.status, r.body);
    at = strstr(r.body, "\"outcome\":\"");
    ck_assert_ptr_nonnull(at);
    snprintf(outcome, sizeof(outcome), "%.*s", (int)strcspn(at + 11, "\""), at + 11);
    it_free(&r);
    return outcome;
}

START_TEST(group_reaches_every_channel_once)
{
    static const char *const ok[] = {"\"shape\":\"ok\"", NULL};
    static const char *const group[] = {"\"shape\":\"ok\"", "3 services are DOWN", NULL};
    char *mail;
    start_notifier_gateway(NULL);
    ck_assert_str_eq(notify("down", "alpha", "alpha-down-1"), "queued");
    ck_assert_str_eq(notify("down", "beta", "beta-down-1"), "queued");
    ck_assert_str_eq(notify("down", "gamma", "gamma-down-1"), "queued");
    /* A repeat of a key is not queued again. */
    ck_assert_str_eq(notify("down", "alpha", "alpha-down-1"), "duplicate");

    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", "204", group, 1), 1);
    ck_assert_int_eq(nr_wait_deliveries("/hook/hook", "204", ok, 1), 1);
    nr_wait_for_file("mail-1.eml");
    /* One message for the three, and nothing else, on every channel (an UP
     * sent later is the sync point: once it arrived, the DOWNs are done). */
    ck_assert_str_eq(notify("up", "alpha", "alpha-up-1"), "queued");
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", "204",
                                     (const char *const[]){"alpha is UP", "65280", NULL}, 1), 1);
    ck_assert_int_eq(nr_wait_deliveries("/hook/hook", "204",
                                     (const char *const[]){"\\\"kind\\\":\\\"up\\\"", NULL}, 1), 1);
    nr_wait_for_file("mail-2.eml");
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, NULL), 2);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, ok), 2);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL,
                                (const char *const[]){"16711680", "alpha", "beta", "gamma",
                                                      "<t:", NULL}), 1);
    ck_assert_int_eq(nr_deliveries("/hook/hook", NULL, NULL), 2);
    ck_assert_int_eq(nr_deliveries("/hook/hook", NULL, ok), 2);
    ck_assert_int_eq(nr_deliveries("/hook/hook", NULL,
                                (const char *const[]){"\\\"count\\\":3", NULL}), 1);
    ck_assert(!nr_file_exists("mail-3.eml"));

    /* The mail: authenticated, to both, both parts. */
    mail = it_read_file("smtp.log");
    ck_assert_ptr_nonnull(strstr(mail, "mail-1.eml alerts@example.com "
                                       "oncall@example.com,boss@example.com auth=" SMTP_USER " tls=no"));
    free(mail);
    mail = it_read_file("mail-1.eml");
    ck_assert_ptr_nonnull(strstr(mail, "Subject: [down] 3 services are DOWN\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "To: oncall@example.com,boss@example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "Content-Type: multipart/alternative; boundary="));
    ck_assert_ptr_nonnull(strstr(mail, "Content-Type: text/plain; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(mail, "Content-Type: text/html; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(mail, "Error: HTTP 503 from beta\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "<td>gamma</td>"));
    free(mail);

    /* Neither secret reached the error log. */
    mail = it_error_log();
    ck_assert_ptr_null(strstr(mail, HOOK_KEY));
    ck_assert_ptr_null(strstr(mail, SMTP_PASSWORD));
    free(mail);
}
END_TEST

/* "at" of the nth (0-based) line for path. */
static long long delivery_at(const char *path, int nth)
{
    char *log = it_read_file("deliveries.log"), *line, *save = NULL, want[128];
    long long at = -1;
    snprintf(want, sizeof(want), "\"path\":\"%s\"", path);
    for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strstr(line, want) && nth-- == 0) {
            const char *a = strstr(line, "\"at\":");
            at = a ? atoll(a + 5) : -1;
            break;
        }
    free(log);
    return at;
}

START_TEST(rate_limit_429_is_honoured)
{
    long long first, second;
    start_notifier_gateway(NULL);
    it_write_file("cue-ops", "429:1.5 204");
    ck_assert_str_eq(notify("down", "alpha", "rl-1"), "queued");
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", "204", NULL, 1), 1);
    ck_assert_int_eq(nr_deliveries("/discord/ops", "429:1.5", NULL), 1);
    first = delivery_at("/discord/ops", 0);
    second = delivery_at("/discord/ops", 1);
    /* retry_after said 1.5 s; the backoff alone would have been 200 ms. */
    ck_assert_msg(second - first >= 1400, "retried after %lld ms", second - first);
}
END_TEST

START_TEST(server_errors_are_retried_with_backoff)
{
    start_notifier_gateway(NULL);
    it_write_file("cue-ops", "500 500 204");
    ck_assert_str_eq(notify("down", "alpha", "err-1"), "queued");
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", "204", NULL, 1), 1);
    ck_assert_int_eq(nr_deliveries("/discord/ops", "500", NULL), 2);
    /* Backoff 200 ms, then 400 ms. */
    ck_assert_int_ge(delivery_at("/discord/ops", 1) - delivery_at("/discord/ops", 0), 180);
    ck_assert_int_ge(delivery_at("/discord/ops", 2) - delivery_at("/discord/ops", 1), 380);
}
END_TEST

START_TEST(webhook_404_disables_the_channel)
{
    char *log;
    start_notifier_gateway(NULL);
    it_write_file("cue-ops", "404");
    ck_assert_str_eq(notify("down", "alpha", "gone-1"), "queued");
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", "404", NULL, 1), 1);
    ck_assert_int_eq(nr_wait_deliveries("/hook/hook", "204", NULL, 1), 1);
    /* Later messages reach the other channels but never the gone one. */
    ck_assert_str_eq(notify("up", "alpha", "gone-2"), "queued");
    ck_assert_str_eq(notify("info", "beta", "gone-3"), "queued");
    ck_assert_int_eq(nr_wait_deliveries("/hook/hook", "204", NULL, 3), 3);
    nr_wait_for_file("mail-3.eml");
    usleep(500 * 1000);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, NULL), 1);
    log = it_error_log();
    ck_assert_int_eq(nr_count_in(log, "channel 'ops' answered 404"), 1);
    free(log);
}
END_TEST

START_TEST(repeats_per_source_are_capped)
{
    start_notifier_gateway("  notify_cap 2\n");
    ck_assert_str_eq(notify("down", "flappy", "cap-1"), "queued");
    ck_assert_str_eq(notify("up", "flappy", "cap-2"), "queued");
    ck_assert_str_eq(notify("down", "flappy", "cap-3"), "capped");
    ck_assert_str_eq(notify("down", "steady", "cap-4"), "queued");
    /* down flappy + down steady group; up flappy alone: two messages. */
    ck_assert_int_eq(nr_wait_deliveries("/hook/hook", "204", NULL, 2), 2);
    usleep(1500 * 1000);
    ck_assert_int_eq(nr_deliveries("/hook/hook", NULL, NULL), 2);
    /* flappy's DOWN and UP went out; its third message did not. */
    ck_assert_int_eq(nr_occurrences("/hook/hook", "from flappy"), 2);
    ck_assert_int_eq(nr_occurrences("/hook/hook", "from steady"), 1);
}
END_TEST

START_TEST(sigkill_during_delivery_delivers_after_restart)
{
    static const char *const ok[] = {"\"shape\":\"ok\"", "killed-while-sending", NULL};
    it_setup();
    nr_start_receivers();
    it_write_file("cue-ops", "hold");
    /* A delivery's HTTP timeout is half the visibility: 5 s, longer than
     * the test needs to kill httpd while the request is held. */
    ck_assert_msg(it_httpd_start(it_write_config("httpd.conf", "event",
                                                 notify_site("  notify_visibility 10s\n"))),
                  "httpd did not start");
    ck_assert_str_eq(notify("down", "killed-while-sending", "kill-1"), "queued");
    /* The receiver holds the Discord request: the delivery is in flight. */
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", "held", NULL, 1), 1);
    ck_assert_int_ge(it_httpd_kill9(), 2);
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", "aborted", NULL, 1), 1);
    ck_assert_int_eq(nr_deliveries("/discord/ops", "204", NULL), 0);
    ck_assert_msg(it_httpd_start(it_gateway_conf_path()), "httpd did not start after SIGKILL");
    /* The in-flight delivery comes back after its visibility deadline;
     * the channels queued behind it go out at once. */
    ck_assert_int_eq(nr_wait_deliveries("/hook/hook", "204", NULL, 1), 1);
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", "204", ok, 1), 1);
    nr_wait_for_file("mail-1.eml");
    ck_assert_int_eq(nr_deliveries("/hook/hook", NULL, NULL), 1);
    ck_assert(!nr_file_exists("mail-2.eml"));
}
END_TEST

START_TEST(mail_over_required_starttls)
{
    char *log, *mail;
    it_setup();
    nr_start_receivers_tls(1);
    ck_assert_msg(it_httpd_start(it_write_config("httpd.conf", "event", notify_site(NULL))),
                  "httpd did not start:\n%s", it_error_log());
    ck_assert_str_eq(notify("down", "alpha", "tls-1"), "queued");
    nr_wait_for_file("mail-1.eml");
    /* The server refuses AUTH and MAIL before STARTTLS: the mail came over
     * TLS, checked against the configured CA, and authenticated. */
    log = it_read_file("smtp.log");
    ck_assert_msg(strstr(log, "mail-1.eml alerts@example.com oncall@example.com,boss@example.com "
                              "auth=" SMTP_USER " tls=yes"), "smtp.log: %s", log);
    free(log);
    mail = it_read_file("mail-1.eml");
    ck_assert_ptr_nonnull(strstr(mail, "Subject: [down] alpha is DOWN\r\n"));
    free(mail);
}
END_TEST

START_TEST(bad_channel_lines_fail_configtest)
{
    static const struct {
        const char *line, *expected;
    } cases[] = {
        {"  notify discord meta http://169.254.169.254/hook\n", "link-local"},
        {"  notify discord priv http://10.0.0.5/hook\n", "private"},
        {"  notify webhook nokey https://hooks.example.com/x\n", "needs secret="},
        {"  notify email m smtp://127.0.0.1:25 from=a@b.c to=not-an-address private=127.0.0.0/8\n",
         "not an e-mail address"},
        {"  notify pager p https://hooks.example.com/x\n", "unknown channel type"},
        {"  notify_require_https on\n  notify discord plain http://hooks.example.com/x\n",
         "HTTPS is required"},
        {"  notify_require_https on\n  notify email m smtp://mail.example.com:25 from=a@b.c "
         "to=d@e.f tls=off\n", "HTTPS is required"},
    };
    it_setup();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static char site[16384], out[8192];
        const char *base = it_default_site(), *end = strstr(base, "</CloudBasePlugin>");
        const char *conf;
        snprintf(site, sizeof(site), "%.*s%s%s", (int)(end - base), base, cases[i].line, end);
        conf = it_write_config("bad.conf", "event", site);
        ck_assert_int_ne(it_configtest(conf, out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, cases[i].expected) && strstr(out, "notify channel"),
                      "%s: configtest said:\n%s", cases[i].line, out);
    }
}
END_TEST

Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("delivery");
    tcase_add_checked_fixture(tc, NULL, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, group_reaches_every_channel_once);
    tcase_add_test(tc, rate_limit_429_is_honoured);
    tcase_add_test(tc, server_errors_are_retried_with_backoff);
    tcase_add_test(tc, webhook_404_disables_the_channel);
    tcase_add_test(tc, repeats_per_source_are_capped);
    tcase_add_test(tc, sigkill_during_delivery_delivers_after_restart);
    tcase_add_test(tc, mail_over_required_starttls);
    suite_add_tcase(s, tc);
    tc = tcase_create("config");
    tcase_add_checked_fixture(tc, NULL, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bad_channel_lines_fail_configtest);
    suite_add_tcase(s, tc);
    return s;
}
