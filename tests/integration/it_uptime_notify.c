/*
 * it_uptime_notify.c: the uptime plugin's transitions through the core
 * notifier, end to end with real parts: a flapping upstream
 * (upstream.py's /flap), the Discord-compatible receiver
 * (notify_receiver.js) and a real SMTP server (smtp_receiver.py,
 * python3-aiosmtpd). Covered: exactly one DOWN (red) and one UP (green,
 * with the downtime) message with Uptime Kuma's fields, a reminder while
 * DOWN (resend=3), nothing for a monitor in maintenance, a monitor's own
 * Discord webhook and address next to the plugin's channels, a project's
 * notify_email set through the TOSE API, and two
 * gateway nodes on one Redis sending each transition once, also when the
 * node that saw the DOWN stops and the other finishes the outage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "notify_receivers.h"
#include "servers.h"

#define ADMIN_KEY "it-admin-key-0123456789abcdef"

/* The uptime plugin with the notify channels (discord ops, email mail)
 * and the given monitor lines (after other plugins' blocks). */
static const char *notify_uptime_site_after(const char *plugins_before,
                                            const char *monitor_lines)
{
    static char site[16384];
    snprintf(site, sizeof(site),
             "%s%s<CloudBasePlugin uptime>\n"
             "  allow_private 127.0.0.0/8\n"
             "  tick 100ms\n"
             "  notify discord ops http://127.0.0.1:%d/discord/ops username=Uptime "
             "private=127.0.0.0/8\n"
             "  notify email mail smtp://127.0.0.1:%d from=alerts@example.com "
             "to=oncall@example.com user=" SMTP_USER " password=file:%s/smtp.pass %s "
             "private=127.0.0.0/8\n"
             "  notify_group_window 300ms\n"
             "%s"
             "</CloudBasePlugin>\n",
             it_default_site(), plugins_before, nr_receiver_port, nr_smtp_port, it.dir,
             nr_email_tls, monitor_lines);
    return site;
}

static const char *notify_uptime_site(const char *monitor_lines)
{
    return notify_uptime_site_after("", monitor_lines);
}

/* A test directory with both receivers running (their ports fill the
 * notify lines; the upstream's the monitor lines). */
static void start_receivers(void)
{
    it_setup();
    nr_start_receivers();
}

static void start_gateway(const char *monitor_lines)
{
    const char *conf = it_write_config("httpd.conf", "event", notify_uptime_site(monitor_lines));
    ck_assert_msg(it_httpd_start(conf), "httpd did not start:\n%s", it_error_log());
}

/* Polls deliveries.log until path has n lines with every word, for up to
 * seconds: a monitor's transitions take several check intervals. */
static int wait_messages(const char *path, const char *const *words, int n, int seconds)
{
    int got = 0;
    for (int i = 0; i < seconds * 10 && (got = nr_deliveries(path, NULL, words)) < n; i++)
        usleep(100 * 1000);
    return got;
}

/* How many mails (mail-N.eml) the SMTP server received. */
static int mail_count(void)
{
    char name[32];
    int n = 0;
    for (;;) {
        snprintf(name, sizeof(name), "mail-%d.eml", n + 1);
        if (!nr_file_exists(name))
            return n;
        n++;
    }
}

/* How many received mails contain needle. */
static int mails_with(const char *needle)
{
    int n = 0, total = mail_count();
    for (int i = 1; i <= total; i++) {
        char name[32], *mail;
        snprintf(name, sizeof(name), "mail-%d.eml", i);
        mail = it_read_file(name);
        n += strstr(mail, needle) != NULL;
        free(mail);
    }
    return n;
}

static const char *const kuma_fields[] = {"\"shape\":\"ok\"", "Service Name", "Service URL",
                                          "Time (UTC)", "<t:", "Ping", NULL};

START_TEST(down_reminder_up_once_and_nothing_in_maintenance)
{
    char lines[1024], *upstream;
    /* checks 1-2 up; 3 fails: DOWN; 4-6 fail: a reminder at the third
     * (resend=3); 7-8 fail; 9 passes: UP after 6 s down; then up */
    start_receivers();
    snprintf(lines, sizeof(lines),
             "  monitor web http://127.0.0.1:%d/flap?tag=web&pattern=UUDDDDDDU interval=1s "
             "timeout=800ms resend=3\n"
             "  monitor quiet http://127.0.0.1:%d/flap?tag=quiet&pattern=D interval=1s "
             "timeout=800ms maintenance=on\n",
             it.upstream_port, it.upstream_port);
    start_gateway(lines);
    ck_assert_msg(wait_messages("/discord/ops", (const char *const[]){"web is UP", NULL}, 1, 40),
                  "no UP message:\n%s", it_read_file("deliveries.log"));
    usleep(1500 * 1000); /* later checks pass: nothing more may come */
    /* DOWN: red, Uptime Kuma's fields, the error */
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, (const char *const[]){
                                       "web is DOWN", "16711680", NULL}), 1);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, kuma_fields), 3);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, (const char *const[]){
                                       "web is DOWN", "Error", "status 500 is not accepted",
                                       "/flap?tag=web", NULL}), 1);
    /* the reminder: red, "still DOWN", how long so far */
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, (const char *const[]){
                                       "web is still DOWN", "16711680", "(down for ", NULL}), 1);
    /* UP: green, with the downtime */
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, (const char *const[]){
                                       "web is UP", "65280", "Downtime Duration", NULL}), 1);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, NULL), 3);
    /* the same three by mail */
    nr_wait_for_file("mail-3.eml");
    ck_assert_msg(mail_count() == 3, "%d mails", mail_count());
    ck_assert_int_eq(mails_with("Subject: [down] web is DOWN\r\n"), 1);
    ck_assert_int_eq(mails_with("Subject: [down] web is still DOWN\r\n"), 1);
    ck_assert_int_eq(mails_with("Subject: [up] web is UP\r\n"), 1);
    ck_assert_int_eq(mails_with("To: oncall@example.com\r\n"), 3);
    /* maintenance: not checked, never announced */
    ck_assert_int_eq(nr_occurrences("/discord/ops", "quiet"), 0);
    ck_assert_int_eq(mails_with("quiet"), 0);
    upstream = it_read_file("upstream.log");
    ck_assert_ptr_null(strstr(upstream, "tag=quiet"));
    free(upstream);
}
END_TEST

START_TEST(monitor_destinations_get_its_messages)
{
    char lines[1024], *log;
    start_receivers();
    snprintf(lines, sizeof(lines),
             "  monitor own http://127.0.0.1:%d/flap?tag=own&pattern=UD interval=1s "
             "timeout=800ms discord_webhook_url=http://127.0.0.1:%d/discord/own "
             "notify_email=owner@example.com\n",
             it.upstream_port, nr_receiver_port);
    start_gateway(lines);
    ck_assert_msg(wait_messages("/discord/own", (const char *const[]){"own is DOWN", NULL}, 1,
                                30), "no DOWN at the monitor's webhook:\n%s",
                  it_read_file("deliveries.log"));
    ck_assert_int_eq(wait_messages("/discord/ops", (const char *const[]){"own is DOWN", NULL},
                                   1, 10), 1);
    nr_wait_for_file("mail-2.eml");
    usleep(1000 * 1000);
    /* one DOWN at each webhook, Kuma-shaped, shown as "Uptime" */
    ck_assert_int_eq(nr_deliveries("/discord/own", NULL, NULL), 1);
    ck_assert_int_eq(nr_deliveries("/discord/own", NULL, kuma_fields), 1);
    ck_assert_int_eq(nr_deliveries("/discord/own", NULL, (const char *const[]){
                                       "\\\"username\\\":\\\"Uptime\\\"", "16711680", NULL}), 1);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, NULL), 1);
    /* one mail to the monitor's address (through the mail channel's
     * server and sender) and one to the channel's own */
    ck_assert_int_eq(mail_count(), 2);
    log = it_read_file("smtp.log");
    ck_assert_msg(strstr(log, " alerts@example.com owner@example.com auth=" SMTP_USER),
                  "smtp.log: %s", log);
    ck_assert_msg(strstr(log, " alerts@example.com oncall@example.com auth=" SMTP_USER),
                  "smtp.log: %s", log);
    free(log);
    ck_assert_int_eq(mails_with("Subject: [down] own is DOWN\r\n"), 2);
}
END_TEST

/* A project's notify_email set through the TOSE API gets the project's
 * messages (through the mail channel), next to the channels. */
START_TEST(api_notify_email_gets_its_messages)
{
    const char *headers[] = {"Content-Type: application/json",
                             "Authorization: Bearer " ADMIN_KEY, NULL};
    char auth[1024], body[512], *log;
    const char *conf;
    it_response r;
    int found = 0;
    start_receivers();
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", ADMIN_KEY "\n");
    snprintf(auth, sizeof(auth),
             "<CloudBasePlugin auth>\n  jwt_secret file:%s/jwt.key\n"
             "  admin_key file:%s/admin.key\n</CloudBasePlugin>\n", it.dir, it.dir);
    conf = it_write_config("httpd.conf", "event",
                           notify_uptime_site_after(auth, "  api_reload 500ms\n"));
    ck_assert_msg(it_httpd_start(conf), "httpd did not start:\n%s", it_error_log());
    snprintf(body, sizeof(body),
             "{\"enabled\":true,\"check_interval_sec\":1,"
             "\"check_url\":\"http://127.0.0.1:%d/flap?tag=api&pattern=UD\","
             "\"notify_email\":\"tenant@example.com\"}", it.upstream_port);
    it_request("PUT", "/api/workspaces/acme/projects/shop/uptime", headers, body, &r);
    ck_assert_msg(r.status == 200, "PUT: %ld %s", r.status, r.body);
    it_free(&r);
    ck_assert_msg(wait_messages("/discord/ops", (const char *const[]){"api:acme/shop is DOWN",
                                                                      NULL}, 1, 30),
                  "no DOWN message:\n%s", it_read_file("deliveries.log"));
    nr_wait_for_file("mail-2.eml");
    for (int i = 0; i < 50 && !found; i++) {
        log = it_read_file("smtp.log");
        found = strstr(log, " alerts@example.com tenant@example.com auth=" SMTP_USER) != NULL;
        free(log);
        if (!found)
            usleep(100 * 1000);
    }
    ck_assert_msg(found, "no mail to the project's address: %s", it_read_file("smtp.log"));
    ck_assert_int_eq(mails_with("Subject: [down] api:acme/shop is DOWN\r\n"), 2);
}
END_TEST

START_TEST(two_nodes_send_each_transition_once)
{
    char lines[1024];
    int port2 = srv_free_port();
    /* a 7-check outage; the first node stops in the middle of it */
    start_receivers();
    snprintf(lines, sizeof(lines),
             "  monitor shared http://127.0.0.1:%d/flap?tag=shared&pattern=UUDDDDDDDU "
             "interval=1s timeout=800ms\n", it.upstream_port);
    start_gateway(lines);
    ck_assert(it_second_httpd_start(notify_uptime_site(lines), port2));
    ck_assert_msg(wait_messages("/discord/ops", (const char *const[]){"shared is DOWN", NULL}, 1,
                                30), "no DOWN message:\n%s", it_read_file("deliveries.log"));
    /* the node that most likely holds the lease goes; the other carries
     * on from the state in Redis */
    it_httpd_stop(it_gateway_conf_path());
    ck_assert_msg(wait_messages("/discord/ops", (const char *const[]){"shared is UP", NULL}, 1,
                                30), "no UP message:\n%s", it_read_file("deliveries.log"));
    usleep(1500 * 1000);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, (const char *const[]){
                                       "shared is DOWN", "16711680", NULL}), 1);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, (const char *const[]){
                                       "shared is UP", "65280", NULL}), 1);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, kuma_fields), 2);
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, NULL), 2);
    nr_wait_for_file("mail-2.eml");
    ck_assert_int_eq(mail_count(), 2);
}
END_TEST

Suite *uptime_notify_suite(void)
{
    Suite *s = suite_create("uptime_notify");
    TCase *tc = tcase_create("transitions");
    tcase_add_checked_fixture(tc, NULL, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, down_reminder_up_once_and_nothing_in_maintenance);
    tcase_add_test(tc, monitor_destinations_get_its_messages);
    tcase_add_test(tc, api_notify_email_gets_its_messages);
    tcase_add_test(tc, two_nodes_send_each_transition_once);
    suite_add_tcase(s, tc);
    return s;
}
