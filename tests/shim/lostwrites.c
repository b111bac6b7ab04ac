/*
 * lostwrites: an LD_PRELOAD shim that records, without changing them, the
 * file-system operations a process makes on files under one folder, so that
 * a test can rebuild what a power loss would have left (see
 * tests/tests/common/lostwrites.rs, which replays the log).
 *
 *   LOSTWRITES_LOG   file the records are appended to (created if absent)
 *   LOSTWRITES_ROOT  absolute, canonical folder: only files under it are recorded
 *
 * Every call is passed on to the real function unchanged; a record is written
 * only after the call returned successfully, so a record says "this
 * happened". Syncs are recorded twice in effect: the record written after
 * the sync returned carries the number of records logged before the sync
 * began, so the replay counts as covered only the writes that had completed
 * before the sync started.
 *
 * Record layout (native byte order, x86-64/aarch64 little-endian):
 *   u32 magic 0x3152574c ("LWR1"), u8 op, u8[3] zero, i32 fd, i32 flags,
 *   i64 a, i64 b, u32 path_len, u32 path2_len, u64 data_len,
 *   then path, path2 and data bytes.
 * The ops and the meaning of a and b are listed in `enum op` below.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum op {
    OP_OPEN = 1,      /* fd, path, flags = open flags */
    OP_CLOSE = 2,     /* fd */
    OP_WRITE = 3,     /* fd, path (current name), a = offset, data */
    OP_TRUNCATE = 4,  /* fd, path, a = new length */
    OP_FSYNC = 5,     /* fd, path, flags = 0 fsync / 1 fdatasync, a = records before it began */
    OP_RANGE = 6,     /* sync_file_range: fd, path, a = offset, b = length (not a barrier) */
    OP_SYNCFS = 7,    /* syncfs or sync: a = records before it began */
    OP_RENAME = 9,    /* path -> path2 */
    OP_UNLINK = 10,   /* path */
    OP_MKDIR = 11,    /* path */
    OP_RMDIR = 12,    /* path */
};

struct record {
    uint32_t magic;
    uint8_t op;
    uint8_t pad[3];
    int32_t fd;
    int32_t flags;
    int64_t a;
    int64_t b;
    uint32_t path_len;
    uint32_t path2_len;
    uint64_t data_len;
};

#define TRACKED_MAX 65536
static unsigned char tracked[TRACKED_MAX];
static int log_fd = -1;
static char root[PATH_MAX];
static size_t root_len;
static int64_t records;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_creat)(const char *, mode_t);
static int (*real_creat64)(const char *, mode_t);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_sync_file_range)(int, off_t, off_t, unsigned int);
static int (*real_syncfs)(int);
static void (*real_sync)(void);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_rmdir)(const char *);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_mkdirat)(int, const char *, mode_t);

#define RESOLVE(name) real_##name = dlsym(RTLD_NEXT, #name)

static void init(void) {
    RESOLVE(open); RESOLVE(open64); RESOLVE(openat); RESOLVE(openat64);
    RESOLVE(creat); RESOLVE(creat64); RESOLVE(close); RESOLVE(write);
    RESOLVE(pwrite); RESOLVE(pwrite64); RESOLVE(writev); RESOLVE(pwritev);
    RESOLVE(pwritev64); RESOLVE(ftruncate); RESOLVE(ftruncate64);
    RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(sync_file_range);
    RESOLVE(syncfs); RESOLVE(sync); RESOLVE(rename); RESOLVE(renameat);
    RESOLVE(renameat2); RESOLVE(unlink); RESOLVE(unlinkat); RESOLVE(rmdir);
    RESOLVE(mkdir); RESOLVE(mkdirat);
    const char *log = getenv("LOSTWRITES_LOG");
    const char *dir = getenv("LOSTWRITES_ROOT");
    if (log == NULL || dir == NULL || strlen(dir) >= sizeof root) {
        return; /* nothing to record: behave as if not loaded */
    }
    strcpy(root, dir);
    root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/') {
        root[--root_len] = '\0';
    }
    log_fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void ensure_init(void) { pthread_once(&once, init); }

static int under_root(const char *path) {
    return log_fd >= 0 && strncmp(path, root, root_len) == 0
        && (path[root_len] == '\0' || path[root_len] == '/');
}

/* The current name of an open file, from /proc (absolute, canonical). */
static int fd_path(int fd, char *out, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, size - 1);
    if (n < 0) {
        return -1;
    }
    out[n] = '\0';
    return 0;
}

/* An absolute form of `path` as given to a *at call (not canonicalised). */
static void absolute(int dirfd, const char *path, char *out, size_t size) {
    char base[PATH_MAX];
    if (path[0] == '/') {
        snprintf(out, size, "%s", path);
        return;
    }
    if (dirfd == AT_FDCWD) {
        if (getcwd(base, sizeof base) == NULL) {
            base[0] = '\0';
        }
    } else if (fd_path(dirfd, base, sizeof base) != 0) {
        base[0] = '\0';
    }
    snprintf(out, size, "%s/%s", base, path);
}

static int is_tracked(int fd) { return fd >= 0 && fd < TRACKED_MAX && tracked[fd] && log_fd >= 0; }

/* Appends one record with one writev (atomic for an O_APPEND regular file). */
static void emit(uint8_t op, int fd, int flags, int64_t a, int64_t b, const char *path,
                 const char *path2, const struct iovec *data, int data_count) {
    struct record r;
    memset(&r, 0, sizeof r);
    r.magic = 0x3152574c;
    r.op = op;
    r.fd = fd;
    r.flags = flags;
    r.a = a;
    r.b = b;
    r.path_len = path ? (uint32_t)strlen(path) : 0;
    r.path2_len = path2 ? (uint32_t)strlen(path2) : 0;
    struct iovec iov[3 + 64];
    int n = 0;
    iov[n].iov_base = &r; iov[n++].iov_len = sizeof r;
    if (r.path_len) { iov[n].iov_base = (void *)path; iov[n++].iov_len = r.path_len; }
    if (r.path2_len) { iov[n].iov_base = (void *)path2; iov[n++].iov_len = r.path2_len; }
    for (int i = 0; i < data_count && n < (int)(sizeof iov / sizeof iov[0]); i++) {
        if (data[i].iov_len) { iov[n++] = data[i]; r.data_len += data[i].iov_len; }
    }
    pthread_mutex_lock(&log_lock);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += iov[i].iov_len;
    ssize_t done = syscall(SYS_writev, log_fd, iov, n);
    if (done != (ssize_t)total) {
        /* A short log would make the replay lie: stop loudly. */
        static const char msg[] = "lostwrites: cannot append to LOSTWRITES_LOG\n";
        syscall(SYS_write, 2, msg, sizeof msg - 1);
        abort();
    }
    records++;
    pthread_mutex_unlock(&log_lock);
}

static int64_t records_so_far(void) {
    pthread_mutex_lock(&log_lock);
    int64_t n = records;
    pthread_mutex_unlock(&log_lock);
    return n;
}

static void opened(int fd, int flags) {
    if (fd < 0 || fd >= TRACKED_MAX || log_fd < 0) return;
    char path[PATH_MAX];
    tracked[fd] = 0;
    if (fd_path(fd, path, sizeof path) == 0 && under_root(path)) {
        tracked[fd] = 1;
        emit(OP_OPEN, fd, flags, 0, 0, path, NULL, NULL, 0);
    }
}

static void fd_op(uint8_t op, int fd, int flags, int64_t a, int64_t b, const struct iovec *data, int count) {
    char path[PATH_MAX];
    if (fd_path(fd, path, sizeof path) != 0) path[0] = '\0';
    emit(op, fd, flags, a, b, path, NULL, data, count);
}

/* Records `count` bytes of `iov` written at `offset`. */
static void wrote(int fd, off_t offset, const struct iovec *iov, int iovcnt, ssize_t count) {
    struct iovec data[64];
    int n = 0;
    size_t left = (size_t)count;
    for (int i = 0; i < iovcnt && left > 0 && n < 64; i++) {
        size_t take = iov[i].iov_len < left ? iov[i].iov_len : left;
        data[n].iov_base = iov[i].iov_base;
        data[n++].iov_len = take;
        left -= take;
    }
    fd_op(OP_WRITE, fd, 0, offset, 0, data, n);
}

static mode_t mode_arg(int flags, va_list ap) {
    if (flags & (O_CREAT | O_TMPFILE)) return (mode_t)va_arg(ap, int);
    return 0;
}

int open(const char *path, int flags, ...) {
    ensure_init();
    va_list ap; va_start(ap, flags); mode_t mode = mode_arg(flags, ap); va_end(ap);
    int fd = real_open(path, flags, mode);
    opened(fd, flags);
    return fd;
}
int open64(const char *path, int flags, ...) {
    ensure_init();
    va_list ap; va_start(ap, flags); mode_t mode = mode_arg(flags, ap); va_end(ap);
    int fd = real_open64(path, flags, mode);
    opened(fd, flags);
    return fd;
}
int openat(int dirfd, const char *path, int flags, ...) {
    ensure_init();
    va_list ap; va_start(ap, flags); mode_t mode = mode_arg(flags, ap); va_end(ap);
    int fd = real_openat(dirfd, path, flags, mode);
    opened(fd, flags);
    return fd;
}
int openat64(int dirfd, const char *path, int flags, ...) {
    ensure_init();
    va_list ap; va_start(ap, flags); mode_t mode = mode_arg(flags, ap); va_end(ap);
    int fd = real_openat64(dirfd, path, flags, mode);
    opened(fd, flags);
    return fd;
}
int creat(const char *path, mode_t mode) {
    ensure_init();
    int fd = real_creat(path, mode);
    opened(fd, O_CREAT | O_WRONLY | O_TRUNC);
    return fd;
}
int creat64(const char *path, mode_t mode) {
    ensure_init();
    int fd = real_creat64(path, mode);
    opened(fd, O_CREAT | O_WRONLY | O_TRUNC);
    return fd;
}

int close(int fd) {
    ensure_init();
    int was = is_tracked(fd);
    if (fd >= 0 && fd < TRACKED_MAX) tracked[fd] = 0;
    int rc = real_close(fd);
    if (was) emit(OP_CLOSE, fd, 0, 0, 0, NULL, NULL, NULL, 0);
    return rc;
}

ssize_t write(int fd, const void *buf, size_t count) {
    ensure_init();
    ssize_t n = real_write(fd, buf, count);
    if (n > 0 && is_tracked(fd)) {
        off_t end = lseek(fd, 0, SEEK_CUR);
        struct iovec iov = {(void *)buf, (size_t)n};
        wrote(fd, end - n, &iov, 1, n);
    }
    return n;
}
ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
    ensure_init();
    ssize_t n = real_writev(fd, iov, iovcnt);
    if (n > 0 && is_tracked(fd)) {
        off_t end = lseek(fd, 0, SEEK_CUR);
        wrote(fd, end - n, iov, iovcnt, n);
    }
    return n;
}
ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    ensure_init();
    ssize_t n = real_pwrite(fd, buf, count, offset);
    if (n > 0 && is_tracked(fd)) {
        struct iovec iov = {(void *)buf, (size_t)n};
        wrote(fd, offset, &iov, 1, n);
    }
    return n;
}
ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    ensure_init();
    ssize_t n = real_pwrite64(fd, buf, count, offset);
    if (n > 0 && is_tracked(fd)) {
        struct iovec iov = {(void *)buf, (size_t)n};
        wrote(fd, offset, &iov, 1, n);
    }
    return n;
}
ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
    ensure_init();
    ssize_t n = real_pwritev(fd, iov, iovcnt, offset);
    if (n > 0 && is_tracked(fd)) wrote(fd, offset, iov, iovcnt, n);
    return n;
}
ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
    ensure_init();
    ssize_t n = real_pwritev64(fd, iov, iovcnt, offset);
    if (n > 0 && is_tracked(fd)) wrote(fd, offset, iov, iovcnt, n);
    return n;
}

int ftruncate(int fd, off_t length) {
    ensure_init();
    int rc = real_ftruncate(fd, length);
    if (rc == 0 && is_tracked(fd)) fd_op(OP_TRUNCATE, fd, 0, length, 0, NULL, 0);
    return rc;
}
int ftruncate64(int fd, off_t length) {
    ensure_init();
    int rc = real_ftruncate64(fd, length);
    if (rc == 0 && is_tracked(fd)) fd_op(OP_TRUNCATE, fd, 0, length, 0, NULL, 0);
    return rc;
}

int fsync(int fd) {
    ensure_init();
    int64_t before = records_so_far();
    int rc = real_fsync(fd);
    if (rc == 0 && is_tracked(fd)) fd_op(OP_FSYNC, fd, 0, before, 0, NULL, 0);
    return rc;
}
int fdatasync(int fd) {
    ensure_init();
    int64_t before = records_so_far();
    int rc = real_fdatasync(fd);
    if (rc == 0 && is_tracked(fd)) fd_op(OP_FSYNC, fd, 1, before, 0, NULL, 0);
    return rc;
}
int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags) {
    ensure_init();
    int rc = real_sync_file_range(fd, offset, nbytes, flags);
    if (rc == 0 && is_tracked(fd)) fd_op(OP_RANGE, fd, (int)flags, offset, nbytes, NULL, 0);
    return rc;
}
int syncfs(int fd) {
    ensure_init();
    int64_t before = records_so_far();
    int rc = real_syncfs(fd);
    if (rc == 0 && log_fd >= 0) emit(OP_SYNCFS, fd, 0, before, 0, NULL, NULL, NULL, 0);
    return rc;
}
void sync(void) {
    ensure_init();
    int64_t before = records_so_far();
    real_sync();
    if (log_fd >= 0) emit(OP_SYNCFS, -1, 0, before, 0, NULL, NULL, NULL, 0);
}

static void renamed(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    char from[PATH_MAX], to[PATH_MAX];
    absolute(olddirfd, oldpath, from, sizeof from);
    absolute(newdirfd, newpath, to, sizeof to);
    if (under_root(from) || under_root(to)) emit(OP_RENAME, -1, 0, 0, 0, from, to, NULL, 0);
}
int rename(const char *oldpath, const char *newpath) {
    ensure_init();
    int rc = real_rename(oldpath, newpath);
    if (rc == 0) renamed(AT_FDCWD, oldpath, AT_FDCWD, newpath);
    return rc;
}
int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    ensure_init();
    int rc = real_renameat(olddirfd, oldpath, newdirfd, newpath);
    if (rc == 0) renamed(olddirfd, oldpath, newdirfd, newpath);
    return rc;
}
int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    ensure_init();
    int rc = real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
    if (rc == 0) renamed(olddirfd, oldpath, newdirfd, newpath);
    return rc;
}

static void path_op(uint8_t op, int dirfd, const char *path) {
    char full[PATH_MAX];
    absolute(dirfd, path, full, sizeof full);
    if (under_root(full)) emit(op, -1, 0, 0, 0, full, NULL, NULL, 0);
}
int unlink(const char *path) {
    ensure_init();
    int rc = real_unlink(path);
    if (rc == 0) path_op(OP_UNLINK, AT_FDCWD, path);
    return rc;
}
int unlinkat(int dirfd, const char *path, int flags) {
    ensure_init();
    int rc = real_unlinkat(dirfd, path, flags);
    if (rc == 0) path_op((flags & AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK, dirfd, path);
    return rc;
}
int rmdir(const char *path) {
    ensure_init();
    int rc = real_rmdir(path);
    if (rc == 0) path_op(OP_RMDIR, AT_FDCWD, path);
    return rc;
}
int mkdir(const char *path, mode_t mode) {
    ensure_init();
    int rc = real_mkdir(path, mode);
    if (rc == 0) path_op(OP_MKDIR, AT_FDCWD, path);
    return rc;
}
int mkdirat(int dirfd, const char *path, mode_t mode) {
    ensure_init();
    int rc = real_mkdirat(dirfd, path, mode);
    if (rc == 0) path_op(OP_MKDIR, dirfd, path);
    return rc;
}
