/*
 * harness_processes.c: the gateway httpd's processes as the integration
 * tests see them from outside (see harness.h): the resident memory of the
 * main process and its children, and SIGKILL of them all.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_internal.h"

static long process_rss_kib(int pid, int *parent)
{
    char path[64], line[256];
    long rss = 0;
    FILE *f;
    *parent = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            rss = atol(line + 6);
        else if (strncmp(line, "PPid:", 5) == 0)
            *parent = atoi(line + 5);
    }
    fclose(f);
    return rss;
}

long it_httpd_rss_kib(void)
{
    pid_t main_pid = it_read_pid("httpd.pid");
    long total = 0;
    DIR *proc;
    struct dirent *entry;
    int parent;
    if (main_pid <= 0)
        return 0;
    total = process_rss_kib(main_pid, &parent);
    /* and every process whose parent is httpd's main process */
    proc = opendir("/proc");
    ck_assert_ptr_nonnull(proc);
    while ((entry = readdir(proc))) {
        int pid = atoi(entry->d_name);
        long rss;
        if (pid <= 0 || pid == main_pid)
            continue;
        rss = process_rss_kib(pid, &parent);
        if (parent == main_pid)
            total += rss;
    }
    closedir(proc);
    return total;
}

/* 1 while pid exists and is not a zombie. */
static int process_alive(int pid)
{
    char path[64], line[256];
    FILE *f;
    int alive = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "State:", 6) == 0)
            alive = !strchr(line, 'Z');
    fclose(f);
    return alive;
}

int it_httpd_kill9(void)
{
    pid_t main_pid = it_read_pid("httpd.pid");
    int pids[64], count = 0, parent;
    DIR *proc;
    struct dirent *entry;
    if (main_pid <= 0)
        return 0;
    proc = opendir("/proc");
    ck_assert_ptr_nonnull(proc);
    while ((entry = readdir(proc)) && count < 63) {
        int pid = atoi(entry->d_name);
        if (pid <= 0 || pid == main_pid)
            continue;
        process_rss_kib(pid, &parent);
        if (parent == main_pid)
            pids[count++] = pid;
    }
    closedir(proc);
    /* The parent first, so that it cannot start new children. */
    kill(main_pid, SIGKILL);
    for (int i = 0; i < count; i++)
        kill(pids[i], SIGKILL);
    pids[count++] = main_pid;
    for (int i = 0; i < count; i++)
        for (int tries = 0; tries < 200 && process_alive(pids[i]); tries++)
            usleep(25 * 1000);
    for (int i = 0; i < count; i++)
        ck_assert_msg(!process_alive(pids[i]), "httpd process %d survived SIGKILL", pids[i]);
    /* The parent may stay a zombie when nobody reaps orphans (a container
     * without an init), and "apache2 -k start" would take that pid for a
     * running httpd: drop the stale pid file. */
    unlink(it_path_in_dir("httpd.pid"));
    it.conf_path[0] = '\0';
    return count;
}
