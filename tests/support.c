/*
 * support.c: test helpers (see support.h). Test-only code.
 */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RC_SOURCE_DIR
#define RC_SOURCE_DIR "."
#endif
#ifndef RC_BINARY_DIR
#define RC_BINARY_DIR "."
#endif

const char *rc_test_mseed_dir(void)
{
    static char path[4096];
    const char *env = getenv("RC_MSEED_DIR");
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else
        snprintf(path, sizeof path, "%s/../shared/data/mseed", RC_SOURCE_DIR);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return path;
}

char *rc_test_mseed_path(const char *name)
{
    const char *d = rc_test_mseed_dir();
    if (!d) return NULL;
    size_t n = strlen(d) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", d, name);
    return p;
}

char *rc_test_tmpdir(const char *tag)
{
    char base[4096];
    snprintf(base, sizeof base, "%s/test-tmp", RC_BINARY_DIR);
    mkdir(base, 0755);
    char *p = malloc(4200);
    if (!p) return NULL;
    snprintf(p, 4200, "%s/%s.XXXXXX", base, tag);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

void rc_test_rmtree(const char *path)
{
    if (!path || !strstr(path, "/test-tmp/")) return;
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
}

int rc_test_read_file(const char *path, rc_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rc_buf_append(out, tmp, n);
    fclose(f);
    return 0;
}

int rc_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

const char *rc_test_bin(const char *name)
{
    static char path[8][4096];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 4096, "%s/%s", RC_BINARY_DIR, name);
    return p;
}

static void drain(int fd, rc_buf *b)
{
    char tmp[8192];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0)
        if (b) rc_buf_append(b, tmp, (size_t)n);
}

int rc_test_sh(const char *cmd, rc_buf *out, rc_buf *err)
{
    char errpath[4200] = "";
    char full[16384];
    if (err) {
        snprintf(errpath, sizeof errpath, "%s/test-tmp/stderr.%d.%ld", RC_BINARY_DIR, (int)getpid(),
                 (long)time(NULL));
        mkdir(RC_BINARY_DIR "/test-tmp", 0755);
        snprintf(full, sizeof full, "(%s) 2>'%s'", cmd, errpath);
    } else {
        snprintf(full, sizeof full, "(%s) 2>/dev/null", cmd);
    }
    FILE *p = popen(full, "r");
    if (!p) return -1;
    drain(fileno(p), out);
    int st = pclose(p);
    if (err) {
        rc_test_read_file(errpath, err);
        unlink(errpath);
    }
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

pid_t rc_test_server_start(char *const argv[], int timeout_s, int *port)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char line[256];
    size_t used = 0;
    time_t deadline = time(NULL) + timeout_s;
    *port = 0;
    while (time(NULL) < deadline && used < sizeof line - 1) {
        struct pollfd pf = {fds[0], POLLIN, 0};
        if (poll(&pf, 1, 200) <= 0) continue;
        ssize_t n = read(fds[0], line + used, 1);
        if (n <= 0) break;
        if (line[used] == '\n') {
            line[used] = '\0';
            if (sscanf(line, "READY %d", port) == 1) break;
            used = 0;
            continue;
        }
        used++;
    }
    close(fds[0]);
    if (*port <= 0) {
        rc_test_server_stop(pid);
        return -1;
    }
    return pid;
}

void rc_test_server_stop(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int rc_test_rgw_env(char *bucket, size_t nb, char *endpoint, size_t ne)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/rgw/env", RC_BINARY_DIR);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        if (strncmp(p, "export ", 7) == 0) p += 7;
        char *eq = strchr(p, '=');
        if (!eq) continue;
        *eq = '\0';
        setenv(p, eq + 1, 1);
    }
    fclose(f);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_SESSION_TOKEN");
    const char *b = getenv("RC_TEST_BUCKET"), *ep = getenv("AWS_ENDPOINT_URL");
    snprintf(bucket, nb, "%s", b ? b : "");
    snprintf(endpoint, ne, "%s", ep ? ep : "");
    return 0;
}

pid_t rc_test_fdsn_start(const char *sds, const char *const *extra, int *port)
{
    char script[4200];
    snprintf(script, sizeof script, "%s/tests/fdsn_server.py", RC_SOURCE_DIR);
    char *argv[24] = {"python3", script, "--sds", (char *)sds, "--port", "0"};
    size_t n = 6;
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    return rc_test_server_start(argv, 20, port);
}

int rc_test_r2cache(const char *args, rc_buf *out, rc_buf *err)
{
    size_t n = strlen(args) + 4300;
    char *cmd = malloc(n);
    if (!cmd) return -1;
    snprintf(cmd, n, "%s %s", rc_test_bin("r2cache"), args);
    int rc = rc_test_sh(cmd, out, err);
    free(cmd);
    return rc;
}

pid_t rc_test_serve_start(const char *args, const char *env, const char *logpath, int timeout_s,
                          int *port)
{
    size_t n = strlen(args) + strlen(env) + 4400;
    char *cmd = malloc(n);
    if (!cmd) return -1;
    snprintf(cmd, n, "exec env %s %s serve %s --listen 127.0.0.1:0 --log-format text", env,
             rc_test_bin("r2cache"), args);
    off_t start = 0;
    struct stat st;
    if (stat(logpath, &st) == 0) start = st.st_size;
    pid_t pid = fork();
    if (pid < 0) {
        free(cmd);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        int lf = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (lf < 0 || nul < 0) _exit(127);
        dup2(nul, STDIN_FILENO);
        dup2(nul, STDOUT_FILENO);
        dup2(lf, STDERR_FILENO);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    free(cmd);
    *port = 0;
    time_t deadline = time(NULL) + timeout_s;
    while (time(NULL) < deadline && *port <= 0) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return -1; /* exited before listening */
        rc_buf log = RC_BUF_INIT;
        if (rc_test_read_file(logpath, &log) == 0 && log.len > (size_t)start) {
            const char *p = strstr(log.data + start, "listening on http://");
            const char *colon = p ? strchr(p + strlen("listening on http://"), ':') : NULL;
            if (colon) *port = atoi(colon + 1);
        }
        rc_buf_free(&log);
        if (*port <= 0) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (*port <= 0) {
        rc_test_serve_stop(pid, 5);
        return -1;
    }
    return pid;
}

int rc_test_serve_stop(pid_t pid, int timeout_s)
{
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < timeout_s * 10; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}
