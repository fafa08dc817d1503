/*
 * postgres.c: a throwaway PostgreSQL server for tests (see postgres.h).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "postgres.h"
#include "servers.h"

#define PG_BIN "/usr/lib/postgresql/15/bin/"

/* The unprivileged account the server runs as when the tests run as root. */
static const struct passwd *server_user(void)
{
    const struct passwd *pw;
    if (geteuid() != 0)
        return NULL;
    pw = getpwnam("postgres");
    return pw ? pw : getpwnam("nobody");
}

/* Forks argv as the server user; output to dir/log. */
static pid_t spawn_as_user(const srv_pg *pg, char *const argv[])
{
    const struct passwd *pw = server_user();
    char log_path[128];
    pid_t pid;
    snprintf(log_path, sizeof(log_path), "%s/log", pg->dir);
    pid = fork();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setpgid(0, 0);
        if (pw && (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)))
            _exit(126);
        /* After the uid change, which clears it: dies with the test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int run_as_user(const srv_pg *pg, char *const argv[])
{
    int status;
    pid_t pid = spawn_as_user(pg, argv);
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int srv_pg_start(srv_pg *pg)
{
    char data[96], port[16];
    char *argv[] = {PG_BIN "postgres", "-D", data, "-p", port, "-k", pg->dir,
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                    "-c", "full_page_writes=off", "-c", "synchronous_commit=off", NULL};
    char *ready[] = {PG_BIN "pg_isready", "-q", "-h", pg->dir, "-p", port, "-U", "cb", NULL};
    snprintf(data, sizeof(data), "%s/data", pg->dir);
    snprintf(port, sizeof(port), "%d", pg->port);
    pg->pid = spawn_as_user(pg, argv);
    if (pg->pid <= 0 || !srv_wait_port(pg->port, 20000))
        return -1;
    /* The port opens before recovery ends: wait until it takes sessions. */
    for (int waited = 0; waited < 20000; waited += 50) {
        if (run_as_user(pg, ready) == 0)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

int srv_pg_create(srv_pg *pg)
{
    const struct passwd *pw = server_user();
    char data[96], port[16];
    char *initdb[] = {PG_BIN "initdb", "-D", data, "-A", "trust", "-U", "cb", "-E", "UTF8",
                      "--no-sync", "--no-instructions", NULL};
    char *createdb[] = {PG_BIN "createdb", "-h", pg->dir, "-p", port, "-U", "cb",
                        "cbtest", NULL};
    memset(pg, 0, sizeof(*pg));
    strcpy(pg->dir, "/tmp/cb-pg-test-XXXXXX");
    if (!mkdtemp(pg->dir))
        return -1;
    if (pw && chown(pg->dir, pw->pw_uid, pw->pw_gid))
        return -1;
    chmod(pg->dir, 0755);
    snprintf(data, sizeof(data), "%s/data", pg->dir);
    if (run_as_user(pg, initdb))
        return -1;
    pg->port = srv_free_port();
    snprintf(port, sizeof(port), "%d", pg->port);
    if (srv_pg_start(pg))
        return -1;
    return run_as_user(pg, createdb);
}

void srv_pg_stop(srv_pg *pg)
{
    if (pg->pid <= 0)
        return;
    char pidfile[128];
    kill(pg->pid, SIGQUIT);
    if (waitpid(pg->pid, NULL, 0) != pg->pid) {
        /* Started by another process (the test runner): wait until the
         * port is closed and the postmaster removed its pid file. */
        snprintf(pidfile, sizeof(pidfile), "%s/data/postmaster.pid", pg->dir);
        for (int waited = 0; waited < 20000; waited += 20) {
            if (!srv_port_open(pg->port) && access(pidfile, F_OK) != 0)
                break;
            usleep(20 * 1000);
        }
    }
    pg->pid = 0;
}

void srv_pg_destroy(srv_pg *pg)
{
    char cmd[128];
    srv_pg_stop(pg);
    if (strncmp(pg->dir, "/tmp/cb-pg-test-", 16) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pg->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", pg->dir);
    }
}

const char *srv_pg_database_line(const srv_pg *pg, const char *options, char *buf, size_t size)
{
    snprintf(buf, size, "pgsql:host=127.0.0.1 port=%d user=cb dbname=cbtest %s", pg->port,
             options ? options : "");
    return buf;
}
