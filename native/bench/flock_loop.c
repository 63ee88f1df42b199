/* The lock lab's workload as a plain C program, the reference `syslab bench` sets the lab's real run against:
 * N processes, each with its own open file description of one file, loop flock(LOCK_EX) (blocking, or LOCK_NB
 * retried after a busy wait), read the 20-byte counter, hold for a busy wait, write the counter back, unlock.
 * No recording at all. Waits spin on CLOCK_MONOTONIC, as the lab's do for waits this short.
 *
 *   flock_loop PROCS HOLD_NS NONBLOCKING(0|1) RETRY_NS DURATION_MS FILE
 *
 * Prints one JSON line: {"acquisitions": N, "failed": F, "seconds": S}. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin(uint64_t ns) {
    uint64_t until = now_ns() + ns;
    while (now_ns() < until) {
    }
}

static int worker(const char *path, uint64_t hold, int nonblocking, uint64_t retry, uint64_t deadline, int out) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return 1;
    uint64_t acquisitions = 0, failed = 0;
    char counter[21];
    while (now_ns() < deadline) {
        if (nonblocking) {
            int got = 0;
            while (now_ns() < deadline) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) { got = 1; break; }
                if (errno != EWOULDBLOCK) return 1;
                failed++;
                spin(retry);
            }
            if (!got) break;
        } else if (flock(fd, LOCK_EX) != 0) {
            return 1;
        }
        if (pread(fd, counter, 20, 0) != 20) return 1;
        counter[20] = '\0';
        uint64_t value = strtoull(counter, NULL, 10) + 1;
        spin(hold);
        snprintf(counter, sizeof counter, "%020" PRIu64, value);
        if (pwrite(fd, counter, 20, 0) != 20) return 1;
        flock(fd, LOCK_UN);
        acquisitions++;
    }
    uint64_t counts[2] = {acquisitions, failed};
    return write(out, counts, sizeof counts) == sizeof counts ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s PROCS HOLD_NS NONBLOCKING RETRY_NS DURATION_MS FILE\n", argv[0]);
        return 2;
    }
    int procs = atoi(argv[1]);
    uint64_t hold = strtoull(argv[2], NULL, 10), retry = strtoull(argv[4], NULL, 10);
    int nonblocking = atoi(argv[3]);
    uint64_t duration = strtoull(argv[5], NULL, 10) * 1000000u;
    const char *path = argv[6];
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "00000000000000000000", 20) != 20) return 1;
    close(fd);
    int pipes[2];
    if (pipe(pipes) != 0) return 1;
    uint64_t start = now_ns(), deadline = start + duration;
    for (int i = 0; i < procs; i++) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) _exit(worker(path, hold, nonblocking, retry, deadline, pipes[1]));
    }
    close(pipes[1]);
    uint64_t total = 0, failed = 0, counts[2];
    while (read(pipes[0], counts, sizeof counts) == sizeof counts) {
        total += counts[0];
        failed += counts[1];
    }
    int status, ok = 1;
    while (wait(&status) > 0) ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    double seconds = (double)(now_ns() - start) / 1e9;
    printf("{\"acquisitions\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"seconds\": %.6f}\n", total, failed, seconds);
    return ok ? 0 : 1;
}
