/*
 * servers.c: helper processes for tests (see servers.h).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "servers.h"

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* The kernel hands out bind(0) ports from the same range it uses for the
 * source port of outgoing connections, so a port chosen that way can be taken
 * by any client socket (a Redis connection, a proxied request) before the
 * server meant to listen on it binds it.  Ports are therefore chosen below
 * net.ipv4.ip_local_port_range, where the kernel never picks one itself. */
static int ephemeral_range_low(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    int low = 32768;
    if (f) {
        if (fscanf(f, "%d", &low) != 1)
            low = 32768;
        fclose(f);
    }
    return low;
}

int srv_port_bindable(int port)
{
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    if (fd < 0)
        return 0;
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* A port handed out is free only until its server binds it, and a test
 * asks for several before starting any (httpd, Redis, the upstream): the
 * last ones handed out by this process are never handed out again, or two
 * servers of one test could draw the same port and one would fail to bind. */
#define RECENT_PORTS 64

int srv_free_port(void)
{
    static unsigned int seed;
    static pid_t seeded_in;
    static int recent[RECENT_PORTS];
    static unsigned int handed_out;
    int first = 10000, last = ephemeral_range_low() - 1;
    if (seeded_in != getpid()) { /* Check forks each test: reseed per process */
        seeded_in = getpid();
        seed = (unsigned int)seeded_in * 2654435761u ^ (unsigned int)time(NULL);
        handed_out = 0;
    }
    if (last - first < 1000)
        first = 1024;
    for (int attempt = 0; attempt < 1000; attempt++) {
        int port = first + (int)(rand_r(&seed) % (unsigned int)(last - first + 1)), seen = 0;
        for (unsigned int i = 0; i < handed_out && i < RECENT_PORTS; i++)
            seen |= recent[i] == port;
        if (!seen && srv_port_bindable(port) && !srv_port_open(port)) {
            recent[handed_out++ % RECENT_PORTS] = port;
            return port;
        }
    }
    return -1;
}

int srv_port_open(int port)
{
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    if (fd < 0)
        return 0;
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

int srv_wait_port(int port, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (srv_port_open(port))
            return 1;
        usleep(20 * 1000);
    }
    return 0;
}

pid_t srv_spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setpgid(0, 0);
        /* Dies with the test process that started it, even when that one
         * is killed (a Check timeout) before its teardown runs. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

pid_t srv_start_redis(int port, const char *dir, const char *log_path)
{
    char port_text[16];
    char *argv[] = {"redis-server", "--port", port_text, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", (char *)dir, NULL};
    snprintf(port_text, sizeof(port_text), "%d", port);
    return srv_spawn(argv, log_path);
}

pid_t srv_start_upstream(int port, const char *log_path)
{
    char port_text[16];
    const char *script = getenv("CB_TEST_UPSTREAM");
    char *argv[] = {"python3", (char *)(script ? script : "tests/integration/upstream.py"),
                    port_text, NULL};
    snprintf(port_text, sizeof(port_text), "%d", port);
    return srv_spawn(argv, log_path);
}

void srv_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGCONT);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
