// The oracle of the power-cut-disk trials, with nothing of StateJournal in it: THREADS threads,
// each appending 100-byte records to its own file in DIR and calling fdatasync after each, then
// the confirmation CHECK (none, fchown, fallocate, pwrite0), and only then recording the size it
// has acknowledged in ACKS/<thread> (20 bytes rewritten in place, on another file system).
//
//   appender DIR ACKS THREADS CHECK
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *dir, *acks, *check;

static int confirmed(int fd, const char *record) {
    if (strcmp(check, "fchown") == 0) return fchown(fd, -1, -1) == 0;
    if (strcmp(check, "fallocate") == 0) return fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1) == 0;
    if (strcmp(check, "pwrite0") == 0) return pwrite(fd, record, 0, 0) == 0;
    return 1;
}

static void *append(void *argument) {
    long index = (long)argument;
    char path[4096], ack_path[4096], record[100], line[32];
    snprintf(path, sizeof path, "%s/f%ld", dir, index);
    snprintf(ack_path, sizeof ack_path, "%s/%ld", acks, index);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int ack = open(ack_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ack < 0) return NULL;
    memset(record, 'a' + index % 26, sizeof record);
    record[99] = '\n';
    for (long count = 1;; count++) {
        if (write(fd, record, 100) != 100 || fdatasync(fd) != 0 || !confirmed(fd, record)) return NULL;
        int length = snprintf(line, sizeof line, "%019ld\n", count * 100);
        if (pwrite(ack, line, length, 0) != length) return NULL;
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: appender DIR ACKS THREADS none|fchown|fallocate|pwrite0\n");
        return 64;
    }
    dir = argv[1];
    acks = argv[2];
    check = argv[4];
    int threads = atoi(argv[3]);
    if (threads < 1 || threads > 256) return 64;
    pthread_t thread[256];
    for (long i = 0; i < threads; i++) pthread_create(&thread[i], NULL, append, (void *)i);
    for (int i = 0; i < threads; i++) pthread_join(thread[i], NULL);
    return 0;
}
