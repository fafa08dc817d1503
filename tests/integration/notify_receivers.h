/*
 * notify_receivers.h: the notifier's real receivers for integration tests
 * (the suites notify and uptime_notify): the Discord-compatible and signed
 * webhook receiver (notify_receiver.js, Node) and the SMTP server with
 * AUTH (smtp_receiver.py, python3-aiosmtpd), started in the test's
 * directory, and readers of what they received (deliveries.log, the
 * mail-N.eml files).
 */
#ifndef IT_NOTIFY_RECEIVERS_H
#define IT_NOTIFY_RECEIVERS_H

#define HOOK_KEY "it-notify-hook-key-0123456789"
#define SMTP_USER "alerts"
#define SMTP_PASSWORD "it-smtp-password-0123456789"

/* Ports of the two receivers once started. */
extern int nr_receiver_port, nr_smtp_port;
/* The email line's TLS settings: STARTTLS when offered, unless a test
 * starts the SMTP server with a certificate and requires it. */
extern char nr_email_tls[600];

/* The directory holding the test helpers (that of CB_TEST_UPSTREAM). */
const char *nr_tests_dir(void);
int nr_file_exists(const char *name);
/* Waits up to 10 s for a file in the test's directory; fails without it. */
void nr_wait_for_file(const char *name);
/* Starts both receivers in it.dir and writes hook.key and smtp.pass there.
 * with_tls: the SMTP server gets a fresh self-signed certificate for
 * 127.0.0.1 and requires STARTTLS. */
void nr_start_receivers_tls(int with_tls);
void nr_start_receivers(void);
/* Lines of deliveries.log for path with the given answer (NULL: any)
 * that contain every one of the NULL-terminated words (words may be NULL). */
int nr_deliveries(const char *path, const char *answer, const char *const *words);
/* The same, polled for up to 15 s until there are n. */
int nr_wait_deliveries(const char *path, const char *answer, const char *const *words, int n);
int nr_count_in(const char *text, const char *needle);
/* How often needle occurs in the lines of deliveries.log for path. */
int nr_occurrences(const char *path, const char *needle);

#endif
