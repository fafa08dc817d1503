/*
 * servers.c: helper processes for unit tests (see servers.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "servers.h"

int srv_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int srv_wait_port(int port, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        struct sockaddr_in a;
        int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((unsigned short)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return 1;
        usleep(20 * 1000);
    }
    return 0;
}

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

pid_t srv_start_redis(int port, const char *dir)
{
    char port_text[16];
    char *argv[] = {"redis-server", "--port", port_text, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", (char *)dir, NULL};
    snprintf(port_text, sizeof(port_text), "%d", port);
    return spawn(argv);
}

pid_t srv_start_upstream(int port)
{
    char port_text[16];
    const char *script = getenv("CB_TEST_UPSTREAM");
    char *argv[] = {"python3", (char *)(script ? script : "tests/integration/upstream.py"),
                    port_text, NULL};
    snprintf(port_text, sizeof(port_text), "%d", port);
    return spawn(argv);
}

void srv_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
