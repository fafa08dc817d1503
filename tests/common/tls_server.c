/*
 * tls_server.c: the openssl CLI as a TLS upstream for tests (see
 * tls_server.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "servers.h"
#include "tls_server.h"

int tls_make_certificate(const char *dir, const char *name, int days)
{
    char crt[512], key[512], days_text[16];
    char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", days_text, "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", NULL};
    int status = -1;
    pid_t pid;
    snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
    snprintf(key, sizeof(key), "%s/%s.key", dir, name);
    snprintf(days_text, sizeof(days_text), "%d", days);
    pid = srv_spawn(argv, NULL);
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && access(crt, R_OK) == 0;
}

pid_t tls_start_server(const char *dir, const char *name, int port)
{
    char crt[512], key[512], accept_at[64];
    char *argv[] = {"openssl", "s_server", "-accept", accept_at, "-cert", crt, "-key", key,
                    "-www", "-quiet", NULL};
    pid_t pid;
    snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
    snprintf(key, sizeof(key), "%s/%s.key", dir, name);
    snprintf(accept_at, sizeof(accept_at), "127.0.0.1:%d", port);
    pid = srv_spawn(argv, NULL);
    if (pid < 0)
        return -1;
    if (!srv_wait_port(port, 10000)) {
        srv_stop(pid);
        return -1;
    }
    return pid;
}
