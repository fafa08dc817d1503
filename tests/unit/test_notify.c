/*
 * test_notify.c: the notifier's message building and parsing, without
 * network or Redis: Discord's embed (Uptime Kuma's colours and fields,
 * grouping capped at 25 fields), the generic webhook body and its
 * HMAC-SHA256 signature (checked against a vector computed with Python's
 * hmac module), the multipart/alternative mail (headers, both parts, CRLF,
 * escaping, header injection), the 429 wait (Retry-After and retry_after)
 * and the channel lines (accepted shapes and the errors for bad ones).
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "notify_internal.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static cb_notify_item item(cb_notify_kind kind, const char *source, const char *detail)
{
    cb_notify_item m = {kind, source, NULL, "https://api.example.com/health", detail, 123,
                        1733050000};
    return m;
}

static const char *field(const cb_json *fields, size_t i, const char *member)
{
    return cb_json_get_string(cb_json_array_get(fields, i), member);
}

START_TEST(discord_down_has_kuma_fields)
{
    cb_notify_item m = item(CB_NOTIFY_DOWN, "api", "HTTP 503");
    const char *body = cb_notify_discord_body(pool, "Uptime", &m, 1);
    cb_json *doc = cb_json_parse(pool, body, strlen(body), NULL), *embed, *fields;
    int64_t color;
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(cb_json_get_string(doc, "username"), "Uptime");
    ck_assert_uint_eq(cb_json_array_size(cb_json_get(doc, "embeds")), 1);
    embed = cb_json_array_get(cb_json_get(doc, "embeds"), 0);
    ck_assert(cb_json_get_int(embed, "color", &color));
    ck_assert_int_eq(color, 16711680);
    ck_assert_str_eq(cb_json_get_string(embed, "title"), "api is DOWN");
    ck_assert_str_eq(cb_json_get_string(embed, "timestamp"), "2024-12-01T10:46:40Z");
    fields = cb_json_get(embed, "fields");
    ck_assert_uint_eq(cb_json_array_size(fields), 5);
    ck_assert_str_eq(field(fields, 0, "name"), "Service Name");
    ck_assert_str_eq(field(fields, 0, "value"), "api");
    ck_assert_str_eq(field(fields, 1, "value"), "https://api.example.com/health");
    ck_assert_str_eq(field(fields, 2, "value"), "<t:1733050000:F>");
    ck_assert_str_eq(field(fields, 3, "name"), "Error");
    ck_assert_str_eq(field(fields, 3, "value"), "HTTP 503");
    ck_assert_str_eq(field(fields, 4, "name"), "Ping");
    ck_assert_str_eq(field(fields, 4, "value"), "123 ms");
}
END_TEST

START_TEST(discord_up_is_green_with_downtime)
{
    cb_notify_item m = item(CB_NOTIFY_UP, "api", "5 minutes");
    const char *body;
    cb_json *embed, *fields;
    int64_t color;
    m.ping_ms = -1;
    body = cb_notify_discord_body(pool, NULL, &m, 1);
    embed = cb_json_array_get(cb_json_get(cb_json_parse(pool, body, strlen(body), NULL),
                                          "embeds"), 0);
    ck_assert(cb_json_get_int(embed, "color", &color));
    ck_assert_int_eq(color, 65280);
    fields = cb_json_get(embed, "fields");
    ck_assert_str_eq(field(fields, 3, "name"), "Downtime Duration");
    ck_assert_str_eq(field(fields, 3, "value"), "5 minutes");
    ck_assert_str_eq(field(fields, 4, "value"), "N/A");
}
END_TEST

START_TEST(discord_group_is_one_embed_with_capped_fields)
{
    cb_notify_item many[30];
    const char *body;
    cb_json *doc, *embed, *fields;
    for (int i = 0; i < 30; i++)
        many[i] = item(CB_NOTIFY_DOWN, apr_psprintf(pool, "svc%d", i), "timed out");
    body = cb_notify_discord_body(pool, NULL, many, 30);
    doc = cb_json_parse(pool, body, strlen(body), NULL);
    ck_assert_uint_eq(cb_json_array_size(cb_json_get(doc, "embeds")), 1);
    embed = cb_json_array_get(cb_json_get(doc, "embeds"), 0);
    ck_assert_str_eq(cb_json_get_string(embed, "title"), "30 services are DOWN");
    fields = cb_json_get(embed, "fields");
    ck_assert_uint_eq(cb_json_array_size(fields), 25);
    ck_assert_str_eq(field(fields, 0, "name"), "svc0");
    ck_assert_ptr_nonnull(strstr(field(fields, 0, "value"), "<t:1733050000:F>"));
    ck_assert_str_eq(field(fields, 24, "value"), "and 6 more");
}
END_TEST

START_TEST(long_detail_is_clipped_for_discord)
{
    char *longtext = apr_palloc(pool, 3001);
    cb_notify_item m;
    const char *body, *value;
    memset(longtext, 'x', 3000);
    longtext[3000] = '\0';
    m = item(CB_NOTIFY_DOWN, "api", longtext);
    body = cb_notify_discord_body(pool, NULL, &m, 1);
    value = field(cb_json_get(cb_json_array_get(cb_json_get(cb_json_parse(pool, body,
                  strlen(body), NULL), "embeds"), 0), "fields"), 3, "value");
    ck_assert_uint_eq(strlen(value), 1024);
    ck_assert_str_eq(value + 1021, "...");
}
END_TEST

START_TEST(webhook_signature_matches_vector)
{
    /* python3: hmac.new(b'k3y', b'1700000000.{"kind":"down"}', sha256) */
    const char *body = "{\"kind\":\"down\"}";
    ck_assert_str_eq(cb_notify_webhook_signature(pool, "k3y", 1700000000, body, strlen(body)),
                     "sha256=f8d9b639fbfe348d5bc2cfe8fd847b228960dfdbd00ace593e5f35b7cbe2c03d");
}
END_TEST

START_TEST(webhook_body_lists_messages)
{
    cb_notify_item two[2] = {item(CB_NOTIFY_DOWN, "a", "x"), item(CB_NOTIFY_DOWN, "b", "y")};
    const char *body = cb_notify_webhook_body(pool, two, 2);
    cb_json *doc = cb_json_parse(pool, body, strlen(body), NULL), *list;
    cb_notify_item back;
    int64_t count;
    ck_assert_str_eq(cb_json_get_string(doc, "kind"), "down");
    ck_assert(cb_json_get_int(doc, "count", &count));
    ck_assert_int_eq(count, 2);
    list = cb_json_get(doc, "messages");
    ck_assert_uint_eq(cb_json_array_size(list), 2);
    ck_assert(cb_notify_item_from_json(cb_json_array_get(list, 1), &back));
    ck_assert_str_eq(back.source, "b");
    ck_assert_str_eq(back.detail, "y");
    ck_assert_int_eq(back.ping_ms, 123);
    ck_assert_int_eq(back.at_unix, 1733050000);
}
END_TEST

static cb_notify_channel mail_channel(void)
{
    cb_notify_channel ch;
    const char *err = cb_notify_channel_parse(pool, "email ops smtp://127.0.0.1:2525 "
                                              "from=alerts@example.com to=a@example.com,b@example.com",
                                              &ch);
    ck_assert_msg(err == NULL, "%s", err);
    return ch;
}

START_TEST(mail_has_both_parts_and_headers)
{
    cb_notify_channel ch = mail_channel();
    cb_notify_item m = item(CB_NOTIFY_DOWN, "api", "<script>alert(1)</script>");
    const char *mail = cb_notify_mail(pool, &ch, &m, 1, 1733050000, "id1@example.com", "BOUND");
    const char *html;
    ck_assert_ptr_nonnull(strstr(mail, "From: alerts@example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "To: a@example.com,b@example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "Subject: [down] api is DOWN\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "Date: Sun, 01 Dec 2024 10:46:40 GMT\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "Message-ID: <id1@example.com>\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "Content-Type: multipart/alternative; boundary=\"BOUND\""));
    ck_assert_ptr_nonnull(strstr(mail, "--BOUND\r\nContent-Type: text/plain; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(mail, "Error: <script>alert(1)</script>\r\n"));
    html = strstr(mail, "--BOUND\r\nContent-Type: text/html; charset=utf-8");
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    ck_assert_ptr_null(strstr(html, "<script>"));
    ck_assert_ptr_nonnull(strstr(mail, "--BOUND--\r\n"));
    for (const char *c = mail; *c; c++)
        if (*c == '\n')
            ck_assert_msg(c > mail && c[-1] == '\r', "bare LF at %ld", (long)(c - mail));
}
END_TEST

START_TEST(mail_subject_cannot_inject_headers)
{
    cb_notify_channel ch = mail_channel();
    cb_notify_item m = item(CB_NOTIFY_INFO, "x", "line1\nline2");
    const char *mail;
    m.title = "hi\r\nBcc: victim@example.com";
    mail = cb_notify_mail(pool, &ch, &m, 1, 1733050000, "id", "B");
    /* In the headers the title is one line; in the text part it is text. */
    ck_assert_ptr_null(strstr(apr_pstrndup(pool, mail, strstr(mail, "\r\n\r\n") - mail),
                              "\r\nBcc:"));
    ck_assert_ptr_nonnull(strstr(mail, "Subject: [info] hi  Bcc: victim@example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(mail, "Message: line1\r\nline2\r\n"));
    m.title = "caf\xc3\xa9";
    mail = cb_notify_mail(pool, &ch, &m, 1, 1733050000, "id", "B");
    ck_assert_ptr_nonnull(strstr(mail, "Subject: =?UTF-8?B?"));
}
END_TEST

START_TEST(retry_after_from_header_and_body)
{
    const char *body = "{\"message\":\"You are being rate limited.\",\"retry_after\":0.25,"
                       "\"global\":false}";
    ck_assert_int_eq(cb_notify_retry_after_ms("2", NULL, 0), 2000);
    ck_assert_int_eq(cb_notify_retry_after_ms(" 1.5 ", NULL, 0), 1500);
    ck_assert_int_eq(cb_notify_retry_after_ms(NULL, body, strlen(body)), 250);
    ck_assert_int_eq(cb_notify_retry_after_ms("1", body, strlen(body)), 1000);
    ck_assert_int_eq(cb_notify_retry_after_ms("0", "{\"retry_after\":3}", 17), 3000);
    ck_assert_int_eq(cb_notify_retry_after_ms(NULL, "not json", 8), -1);
    ck_assert_int_eq(cb_notify_retry_after_ms("soon", NULL, 0), -1);
    ck_assert_int_eq(cb_notify_retry_after_ms("-3", NULL, 0), -1);
    ck_assert_int_eq(cb_notify_retry_after_ms("99999999", NULL, 0), 3600000);
    ck_assert_int_eq(cb_notify_retry_after_ms(NULL, "{\"retry_after\":1e300}", 21), 3600000);
    ck_assert_int_eq(cb_notify_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL, 0), 0);
}
END_TEST

START_TEST(channel_lines_accepted)
{
    cb_notify_channel ch;
    setenv("CB_TEST_NOTIFY_KEY", "hook-secret", 1);
    ck_assert_ptr_null(cb_notify_channel_parse(pool, "discord ops https://discord.com/api/webhooks/1/x"
                                               " username=Uptime", &ch));
    ck_assert_int_eq(ch.type, CB_CHANNEL_DISCORD);
    ck_assert_str_eq(ch.username, "Uptime");
    ck_assert_ptr_null(cb_notify_channel_parse(pool, "webhook hook http://127.0.0.1:9/x "
                                               "secret=env:CB_TEST_NOTIFY_KEY private=127.0.0.0/8",
                                               &ch));
    ck_assert_str_eq(ch.secret, "hook-secret");
    ck_assert_int_eq(cb_cidr_list_count(ch.allowed_private), 1);
    ck_assert_ptr_null(cb_notify_channel_parse(pool, "email m smtps://mail.example.com:465 "
                                               "from=a@b.c to=d@e.f user=u password=env:"
                                               "CB_TEST_NOTIFY_KEY tls=required", &ch));
    ck_assert_int_eq(ch.tls, CB_SMTP_TLS_REQUIRED);
    ck_assert_str_eq(ch.smtp_password, "hook-secret");
}
END_TEST

static void refused(const char *line, const char *expected)
{
    cb_notify_channel ch;
    const char *err = cb_notify_channel_parse(pool, line, &ch);
    ck_assert_msg(err != NULL, "accepted: %s", line);
    ck_assert_msg(strstr(err, expected) != NULL, "%s: '%s' lacks '%s'", line, err, expected);
}

START_TEST(channel_lines_refused)
{
    refused("slack x https://a.example/", "unknown channel type");
    refused("discord x", "3 words");
    refused("discord x ftp://a.example/", "webhook URL");
    refused("discord x http://metadata.google.internal/hook", "metadata");
    refused("discord x https://a.example/ colour=red", "unknown setting 'colour'");
    refused("discord x/y https://a.example/", "channel name");
    refused("discord x http://169.254.169.254/hook", "link-local");
    refused("discord x http://10.1.2.3/hook", "private");
    refused("discord x http://127.0.0.1:9/hook private=10.0.0.0/8", "private");
    refused("discord x http://a.example/\r\nX:y", "webhook URL");
    refused("webhook x https://a.example/", "needs secret=");
    refused("webhook x https://a.example/ secret=env:CB_TEST_NOTIFY_NOT_SET", "secret=");
    refused("webhook x https://a.example/ secret=k private=10.0.0.1/8", "private=");
    refused("email x http://mail.example.com from=a@b.c to=d@e.f", "smtp://");
    refused("email x smtp://mail.example.com:25/path from=a@b.c to=d@e.f", "smtp://");
    refused("email x smtp://mail.example.com from=nobody to=d@e.f", "from=");
    refused("email x smtp://mail.example.com from=a@b.c to=d@e.f,<x>@y", "not an e-mail");
    refused("email x smtp://mail.example.com from=a@b.c", "to=");
    refused("email x smtp://mail.example.com from=a@b.c to=d@e.f tls=maybe", "tls=");
    refused("email x smtp://mail.example.com from=a@b.c to=d@e.f password=p", "needs user=");
    refused("email x smtp://mail.example.com from=a@b.c to=d@e.f ca=/nonexistent/ca.pem",
            "cannot be read");
}
END_TEST

START_TEST(secret_never_in_errors)
{
    cb_notify_channel ch;
    const char *err = cb_notify_channel_parse(pool, "webhook x not-a-url secret=TOPSECRET", &ch);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err, "TOPSECRET"));
    err = cb_notify_channel_parse(pool, "email x smtp://h:25 from=a@b.c to=d@e.f "
                                  "password=TOPSECRET", &ch);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err, "TOPSECRET"));
}
END_TEST

/* Argument checks come before any Redis call. (This test also links
 * core/notify.c into unit_tests, whose exported symbols the test plugin
 * resolves cb_notifier_create and cb_notify against.) */
START_TEST(notify_refuses_incomplete_messages)
{
    cb_notify_message m = {.kind = CB_NOTIFY_DOWN, .source = "api", .ping_ms = -1,
                           .idempotency_key = "k"};
    cb_notify_outcome outcome = CB_NOTIFY_CAPPED;
    ck_assert_int_eq(cb_notify(NULL, pool, &m, &outcome), APR_EINVAL);
    ck_assert_int_eq(outcome, CB_NOTIFY_QUEUED);
    ck_assert_ptr_nonnull((void *)cb_notifier_create);
}
END_TEST

Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("render");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, discord_down_has_kuma_fields);
    tcase_add_test(tc, discord_up_is_green_with_downtime);
    tcase_add_test(tc, discord_group_is_one_embed_with_capped_fields);
    tcase_add_test(tc, long_detail_is_clipped_for_discord);
    tcase_add_test(tc, webhook_signature_matches_vector);
    tcase_add_test(tc, webhook_body_lists_messages);
    tcase_add_test(tc, mail_has_both_parts_and_headers);
    tcase_add_test(tc, mail_subject_cannot_inject_headers);
    tcase_add_test(tc, retry_after_from_header_and_body);
    tcase_add_test(tc, notify_refuses_incomplete_messages);
    suite_add_tcase(s, tc);
    tc = tcase_create("channels");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, channel_lines_accepted);
    tcase_add_test(tc, channel_lines_refused);
    tcase_add_test(tc, secret_never_in_errors);
    suite_add_tcase(s, tc);
    return s;
}
