// sync-limits: what one round of "append one record to each of N files, then make them all
// durable" costs on this machine, by every way of syncing a round that StateJournal could use.
// Nothing of the library runs here: these are the limits its sync rounds are measured against.
//
//   syncfs     one syncfs(2) of the file system for the whole round (what SyncMethod.automatic
//              shares on file systems where syncfs is proven to persist every file)
//   sequential fdatasync(2) of each file, one after another
//   threads    fdatasync(2) of each file, 32 threads at once (SyncMethod.perFile)
//   uring      one io_uring submission of an IORING_OP_FSYNC (datasync) per file, waited for
//              together; with --workers, io_uring's bounded worker pool set to that many
//   uring-linked the same, each fsync linked behind the write of its record (one submission
//              for writes and syncs)
//
// Build (liburing-dev for the io_uring modes; without it they report that they were not built):
//   cc -O2 -o /tmp/sync-limits tools/sync-limits/sync-limits.c -lpthread $(pkg-config --libs liburing 2>/dev/null)
// Run:
//   /tmp/sync-limits --files 64,1024 --seconds 2 --dir /tmp/sync-limits-data
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if !defined(SYNC_LIMITS_WITHOUT_URING) && __has_include(<liburing.h>)
#include <liburing.h>
#define HAVE_URING 1
#else
#define HAVE_URING 0
#endif

enum { RECORD = 150, THREADS = 32 };

static int file_count;
static int *fds;
static off_t *offsets;
static char record[RECORD];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what, int code) {
    fprintf(stderr, "sync-limits: %s: %s\n", what, strerror(code));
    exit(1);
}

static void write_each(void) {
    for (int i = 0; i < file_count; i++) {
        ssize_t n = pwrite(fds[i], record, RECORD, offsets[i]);
        if (n != RECORD) fail("pwrite", n < 0 ? errno : EIO);
        offsets[i] += RECORD;
    }
}

// The threads mode: THREADS threads take the round's files from a shared index.
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t round_started = PTHREAD_COND_INITIALIZER;
static pthread_cond_t round_done = PTHREAD_COND_INITIALIZER;
static int round_number;
static atomic_int next_file;
static atomic_int files_done;

static void *sync_thread(void *unused) {
    (void)unused;
    int seen = 0;
    for (;;) {
        pthread_mutex_lock(&mutex);
        while (round_number == seen) pthread_cond_wait(&round_started, &mutex);
        seen = round_number;
        pthread_mutex_unlock(&mutex);
        for (;;) {
            int i = atomic_fetch_add(&next_file, 1);
            if (i >= file_count) break;
            if (fdatasync(fds[i]) != 0) fail("fdatasync", errno);
            if (atomic_fetch_add(&files_done, 1) + 1 == file_count) {
                pthread_mutex_lock(&mutex);
                pthread_cond_signal(&round_done);
                pthread_mutex_unlock(&mutex);
            }
        }
    }
    return NULL;
}

static void threads_round(void) {
    atomic_store(&next_file, 0);
    atomic_store(&files_done, 0);
    pthread_mutex_lock(&mutex);
    round_number++;
    pthread_cond_broadcast(&round_started);
    while (atomic_load(&files_done) < file_count) pthread_cond_wait(&round_done, &mutex);
    pthread_mutex_unlock(&mutex);
}

#if HAVE_URING
static struct io_uring ring;

static void uring_round(int linked) {
    int submitted = 0;
    for (int i = 0; i < file_count; i++) {
        struct io_uring_sqe *sqe;
        if (linked) {
            sqe = io_uring_get_sqe(&ring);
            io_uring_prep_write(sqe, fds[i], record, RECORD, offsets[i]);
            sqe->flags |= IOSQE_IO_LINK;
            offsets[i] += RECORD;
            submitted++;
        }
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_fsync(sqe, fds[i], IORING_FSYNC_DATASYNC);
        submitted++;
    }
    int result = io_uring_submit_and_wait(&ring, submitted);
    if (result < 0) fail("io_uring_submit_and_wait", -result);
    for (int done = 0; done < submitted; done++) {
        struct io_uring_cqe *cqe;
        result = io_uring_wait_cqe(&ring, &cqe);
        if (result < 0) fail("io_uring_wait_cqe", -result);
        if (cqe->res < 0) fail("io_uring fsync", -cqe->res);
        io_uring_cqe_seen(&ring, cqe);
    }
}
#endif

static void open_files(const char *directory, int count) {
    mkdir(directory, 0755);
    file_count = count;
    fds = calloc(count, sizeof *fds);
    offsets = calloc(count, sizeof *offsets);
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/f%d", directory, i);
        fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fds[i] < 0) fail(path, errno);
    }
}

static void close_files(const char *directory) {
    for (int i = 0; i < file_count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/f%d", directory, i);
        close(fds[i]);
        unlink(path);
    }
    free(fds);
    free(offsets);
}

static void measure(const char *mode, const char *directory, int count, double seconds, int workers) {
    static int threads_started;
    const char *known[] = {"syncfs", "sequential", "threads", "uring", "uring-linked"};
    int valid = 0;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) valid |= strcmp(mode, known[k]) == 0;
    if (!valid) {
        fprintf(stderr, "sync-limits: unknown mode %s\n", mode);
        exit(2);
    }
    if (!HAVE_URING && strncmp(mode, "uring", 5) == 0) {
        printf("  %-13s %5d files: not built (no liburing.h: apt-get install liburing-dev)\n", mode, count);
        return;
    }
    open_files(directory, count);
    if (strcmp(mode, "threads") == 0 && !threads_started) {
        threads_started = 1;
        for (int i = 0; i < THREADS; i++) {
            pthread_t thread;
            if (pthread_create(&thread, NULL, sync_thread, NULL) != 0) fail("pthread_create", errno);
            pthread_detach(thread);
        }
    }
#if HAVE_URING
    int uring = strncmp(mode, "uring", 5) == 0;
    if (uring) {
        int result = io_uring_queue_init(4096, &ring, 0);
        if (result < 0) fail("io_uring_queue_init", -result);
        if (workers > 0) {
            unsigned int limits[2] = {(unsigned int)workers, 0};
            result = io_uring_register_iowq_max_workers(&ring, limits);
            if (result < 0) fail("io_uring_register_iowq_max_workers", -result);
        }
    }
#else
    (void)workers;
#endif
    double start = now(), syncing = 0;
    long rounds = 0;
    while (now() - start < seconds) {
        int linked = strcmp(mode, "uring-linked") == 0;
        if (!linked) write_each();
        double before = now();
        if (strcmp(mode, "syncfs") == 0) {
            if (syncfs(fds[0]) != 0) fail("syncfs", errno);
        } else if (strcmp(mode, "sequential") == 0) {
            for (int i = 0; i < count; i++)
                if (fdatasync(fds[i]) != 0) fail("fdatasync", errno);
        } else if (strcmp(mode, "threads") == 0) {
            threads_round();
        }
#if HAVE_URING
        else if (uring) {
            uring_round(linked);
        }
#endif
        syncing += now() - before;
        rounds++;
    }
    double elapsed = now() - start;
#if HAVE_URING
    if (uring) io_uring_queue_exit(&ring);
#endif
    close_files(directory);
    printf("  %-13s %5d files: %9.0f records/s, %7.3f ms per round, of which %7.3f ms syncing\n", mode, count,
        rounds * count / elapsed, elapsed / rounds * 1e3, syncing / rounds * 1e3);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *files = "64,1024";
    const char *modes = "syncfs,sequential,threads,uring,uring-linked";
    const char *directory = "/tmp/sync-limits-data";
    double seconds = 2;
    int workers = 0;
    static const struct option options[] = {{"files", required_argument, 0, 'f'},
        {"modes", required_argument, 0, 'm'}, {"seconds", required_argument, 0, 's'},
        {"dir", required_argument, 0, 'd'}, {"workers", required_argument, 0, 'w'}, {0, 0, 0, 0}};
    for (int option; (option = getopt_long(argc, argv, "", options, NULL)) != -1;) {
        switch (option) {
        case 'f': files = optarg; break;
        case 'm': modes = optarg; break;
        case 's': seconds = atof(optarg); break;
        case 'd': directory = optarg; break;
        case 'w': workers = atoi(optarg); break;
        default:
            fprintf(stderr,
                "usage: sync-limits [--files 64,1024] [--modes syncfs,sequential,threads,uring,uring-linked] "
                "[--seconds 2] [--dir DIR] [--workers N]\n");
            return 2;
        }
    }
    memset(record, 'x', RECORD);
    printf("one %d-byte record appended to each file, then the round made durable; %s\n", RECORD, directory);
    char *file_list = strdup(files);
    for (char *f = strtok(file_list, ","); f; f = strtok(NULL, ",")) {
        int count = atoi(f);
        if (count <= 0) {
            fprintf(stderr, "sync-limits: --files needs positive counts, not %s\n", f);
            return 2;
        }
        char *mode_list = strdup(modes), *save = NULL;
        for (char *m = strtok_r(mode_list, ",", &save); m; m = strtok_r(NULL, ",", &save))
            measure(m, directory, count, seconds, workers);
        free(mode_list);
    }
    rmdir(directory);
    return 0;
}
