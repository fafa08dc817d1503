/*
 * tls_server.h: a real TLS upstream for tests, made with the openssl CLI:
 * a short-lived self-signed certificate for 127.0.0.1 and `openssl
 * s_server -www` serving it on a loopback port (it answers GET with a 200
 * status page).
 */
#ifndef CB_TEST_TLS_SERVER_H
#define CB_TEST_TLS_SERVER_H

#include <sys/types.h>

/* Writes DIR/NAME.crt and DIR/NAME.key, a self-signed certificate for IP
 * 127.0.0.1 valid for `days` days from now; 1 on success. */
int tls_make_certificate(const char *dir, const char *name, int days);
/* Serves DIR/NAME.crt on 127.0.0.1:port (stop it with srv_stop); -1 when
 * it could not start. Waits until the port accepts connections. */
pid_t tls_start_server(const char *dir, const char *name, int port);

#endif
