/*
 * workspace_reaper.c: the end of /invoke/stdout's thread workspaces
 * (BASE/ENV/OWNER/THREAD, clone.c). A run holds its thread for its whole
 * length: a shared flock on THREAD/.cb-lock, taken before it uses the
 * thread and released when the request ends, and it sets the thread
 * directory's mtime at its start and its end, so the mtime is the
 * thread's last use. The reaper task (reaper.c, one process per node)
 * removes every thread of its environment idle longer than
 * invoke_workspace_ttl: it takes the lock exclusively without waiting (a
 * running task keeps its thread), checks the mtime again under the lock,
 * renames the thread out of the way (".reaped-THREAD", a name no
 * thread_id can have) and then deletes that tree. The walk never follows
 * a symbolic link: every directory is opened with O_NOFOLLOW relative to
 * its parent and links are unlinked, not entered, so nothing outside the
 * base directory is touched. A run that waited for the lock while the
 * reaper took its thread finds its lock file renamed away and answers
 * 404, like any unknown thread. Owner directories are left in place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/log.h"
#include "containers.h"

#define LOCK_NAME ".cb-lock"
#define REAPED_PREFIX ".reaped-"
#define MAX_DEPTH 128

typedef struct thread_hold {
    int fd;
    const char *dir;
} thread_hold;

static void touch(const char *dir)
{
    utimensat(AT_FDCWD, dir, NULL, AT_SYMLINK_NOFOLLOW);
}

static apr_status_t release_thread(void *data)
{
    thread_hold *h = data;
    touch(h->dir);   /* the end of the run is the thread's last use */
    close(h->fd);    /* and the shared lock goes with the descriptor */
    return APR_SUCCESS;
}

int ct_thread_hold(apr_pool_t *p, const char *thread_dir)
{
    const char *path = apr_pstrcat(p, thread_dir, "/" LOCK_NAME, NULL);
    struct stat held, named;
    thread_hold *h;
    int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    while (flock(fd, LOCK_SH) != 0 && errno == EINTR)
        ;
    /* the reaper may have taken the thread while this run waited */
    if (fstat(fd, &held) != 0 || lstat(path, &named) != 0 || held.st_ino != named.st_ino ||
        held.st_dev != named.st_dev) {
        close(fd);
        return 0;
    }
    h = apr_palloc(p, sizeof(*h));
    h->fd = fd;
    h->dir = apr_pstrdup(p, thread_dir);
    apr_pool_cleanup_register(p, h, release_thread, apr_pool_cleanup_null);
    touch(thread_dir);
    return 1;
}

/* Removes name in the directory parent_fd, a tree or not, never following
 * a link. 0, or -1 when something stayed. */
static int remove_tree_at(int parent_fd, const char *name, int depth)
{
    struct dirent *e;
    DIR *d;
    int fd, failed = 0;
    if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if ((errno != EISDIR && errno != EPERM) || depth > MAX_DEPTH)
        return -1;
    fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    fchmod(fd, 0700); /* a task may have left it read-only */
    if (!(d = fdopendir(fd))) {
        close(fd);
        return -1;
    }
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            remove_tree_at(dirfd(d), e->d_name, depth + 1) != 0)
            failed = 1;
    closedir(d);
    if (unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        failed = 1;
    return failed ? -1 : 0;
}

/* The thread `name` of owner_fd if idle since before cutoff (seconds) and
 * not held by a run: renamed away, then deleted. 1 when it was taken. */
static int reap_thread(int owner_fd, const char *name, time_t cutoff, apr_pool_t *p)
{
    const char *reaped = apr_pstrcat(p, REAPED_PREFIX, name, NULL);
    struct stat st;
    int thread_fd, lock_fd, created = 0, taken = 0;
    thread_fd = openat(owner_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (thread_fd < 0)
        return 0;
    lock_fd = openat(thread_fd, LOCK_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (lock_fd < 0 && errno == ENOENT) {
        /* a thread no run has held since locks exist: make its lock */
        lock_fd = openat(thread_fd, LOCK_NAME, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0600);
        created = lock_fd >= 0;
    }
    if (lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB) == 0 &&
        /* used since the first look? (making the lock file above changed
         * the mtime itself, and then no run had held the thread) */
        (created || (fstat(thread_fd, &st) == 0 && st.st_mtime < cutoff)) &&
        renameat(owner_fd, name, owner_fd, reaped) == 0)
        taken = 1;
    if (lock_fd >= 0)
        close(lock_fd);
    close(thread_fd);
    if (taken && remove_tree_at(owner_fd, reaped, 0) != 0)
        cb_log(CB_LOG_WARNING, "containers: the reaped workspace %s is not all gone (the next "
                               "pass tries again)", name);
    return taken;
}

/* Every idle thread of one owner directory; *removed counts them. */
static void reap_owner(int env_fd, const char *owner, time_t cutoff, apr_pool_t *p, int *removed)
{
    struct dirent *e;
    struct stat st;
    DIR *d;
    int fd = openat(env_fd, owner, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    if (!(d = fdopendir(fd))) {
        close(fd);
        return;
    }
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        if (strncmp(name, REAPED_PREFIX, strlen(REAPED_PREFIX)) == 0) {
            remove_tree_at(dirfd(d), name, 0); /* a pass that stopped half way */
            continue;
        }
        if (!ct_invoke_is_name(name) ||
            fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
            st.st_mtime >= cutoff)
            continue; /* not a thread (links are never entered), or in use lately */
        if (reap_thread(dirfd(d), name, cutoff, p))
            (*removed)++;
    }
    closedir(d);
}

void ct_reap_workspaces(ct_plugin *ct, apr_pool_t *p)
{
    struct dirent *e;
    struct stat st;
    DIR *d;
    int env_fd, removed = 0;
    time_t cutoff;
    if (!*ct->invoke_workspaces || ct->invoke_workspace_ttl_ms <= 0)
        return;
    cutoff = (time_t)((apr_time_as_msec(apr_time_now()) - ct->invoke_workspace_ttl_ms) / 1000);
    env_fd = open(apr_pstrcat(p, ct->invoke_workspaces, "/", ct->env, NULL),
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (env_fd < 0)
        return; /* no run yet */
    if (!(d = fdopendir(env_fd))) {
        close(env_fd);
        return;
    }
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' &&
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            reap_owner(dirfd(d), e->d_name, cutoff, p, &removed);
    closedir(d);
    if (removed)
        cb_log(CB_LOG_INFO, "containers: %d idle /invoke/stdout workspace(s) removed", removed);
}
