/* The mmap lab's memory ceiling as a plain C program, the reference `syslab bench` sets the lab's ceiling
 * against: SIZE_MIB of anonymous memory (asked for in huge pages, as the lab asks), filled, then read the two
 * ways the lab's ceiling reads it, three times each: copied through a 64 KiB buffer with a sum of the buffer's
 * 64-bit words, and summed in place. No recording, no chunks.
 *
 *   memory_ceiling SIZE_MIB
 *
 * Prints one JSON line: {"copy_gbps": C, "scan_gbps": S} (the best of the three rounds of each). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BUFFER (64 << 10)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t sum(const uint64_t *words, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += words[i];
    return s;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: memory_ceiling SIZE_MIB\n");
        return 2;
    }
    size_t size = (size_t)strtoull(argv[1], NULL, 10) << 20;
    uint64_t *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    madvise(memory, size, MADV_HUGEPAGE);
    uint64_t x = 1;
    for (size_t i = 0; i < size / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memory[i] = x;
    }
    static uint64_t buffer[BUFFER / 8];
    volatile uint64_t sink = 0;
    double copy = 0, scan = 0;
    for (int round = 0; round < 3; round++) {
        double t = now_s();
        for (size_t at = 0; at < size; at += BUFFER) {
            memcpy(buffer, (const char *)memory + at, BUFFER);
            sink += sum(buffer, BUFFER / 8);
        }
        double rate = (double)size / (now_s() - t) / 1e9;
        if (rate > copy) copy = rate;
        t = now_s();
        sink += sum(memory, size / 8);
        rate = (double)size / (now_s() - t) / 1e9;
        if (rate > scan) scan = rate;
    }
    printf("{\"copy_gbps\": %.3f, \"scan_gbps\": %.3f}\n", copy, scan);
    munmap(memory, size);
    return sink == 42;
}
