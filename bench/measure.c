/* measure OUT CMD...: runs CMD and writes "wall_seconds peak_rss_kib cpu_seconds" to OUT; exits
 * with CMD's status (128 + the signal when it was killed). Used by bench/db.sh and
 * bench/pipeline.sh.
 *
 * Wall time is measured around fork/exec/wait4 with CLOCK_MONOTONIC. Peak RSS is the ru_maxrss
 * wait4 reports for the child (KiB on Linux): the largest of the child and of every descendant
 * it waited for, so for `sh -c 'a | b'` it is the larger of a and b (what GNU time's %M shows).
 * CPU is the child's user plus system time, descendants included. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: measure OUT CMD [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    fprintf(f, "%.3f %ld %.3f\n", wall, ru.ru_maxrss, cpu);
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 2;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
