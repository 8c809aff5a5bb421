/* A delay line for TCP: what one side sends arrives at the other DELAY_US microseconds later,
 * each way, as across a network with that one-way latency. For the test topologies whose hosts
 * live in network namespaces of their own (harness/netns.py), on kernels without tc netem.
 *
 *   netdelay LISTEN_IP LISTEN_PORT TARGET_IP TARGET_PORT DELAY_US
 *
 * Each accepted connection gets a connection to the target and two directions; each direction is
 * a reader thread (timestamps what it reads) and a writer thread (sends each chunk once its time
 * has come, with clock_nanosleep on CLOCK_MONOTONIC: a precise sleep, no busy wait). A side that
 * closes its writing half is passed on (shutdown) after the data before it. Linux only: it is
 * part of the test harness, never of the package. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

struct chunk {
    struct timespec due;
    ssize_t size; /* 0: the sender closed its half */
    struct chunk *next;
    char data[];
};

struct pipe_ {
    int from, to;
    long delay_ns;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct chunk *head, *tail;
    int done;
};

static void add_ns(struct timespec *t, long ns) {
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec += 1;
    }
}

static void *reader(void *arg) {
    struct pipe_ *p = arg;
    for (;;) {
        struct chunk *c = malloc(sizeof(struct chunk) + CHUNK);
        if (!c) break;
        c->size = read(p->from, c->data, CHUNK);
        if (c->size < 0 && errno == EINTR) { free(c); continue; }
        if (c->size < 0) c->size = 0;
        clock_gettime(CLOCK_MONOTONIC, &c->due);
        add_ns(&c->due, p->delay_ns);
        c->next = NULL;
        pthread_mutex_lock(&p->lock);
        if (p->tail) p->tail->next = c; else p->head = c;
        p->tail = c;
        pthread_cond_signal(&p->ready);
        pthread_mutex_unlock(&p->lock);
        if (c->size == 0) break;
    }
    return NULL;
}

static void *writer(void *arg) {
    struct pipe_ *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head) pthread_cond_wait(&p->ready, &p->lock);
        struct chunk *c = p->head;
        p->head = c->next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &c->due, NULL) == EINTR) {}
        ssize_t size = c->size, sent = 0;
        while (sent < size) {
            ssize_t n = write(p->to, c->data + sent, size - sent);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { size = 0; break; }
            sent += n;
        }
        free(c);
        if (size == 0) break;
    }
    shutdown(p->to, SHUT_WR);
    shutdown(p->from, SHUT_RD);
    return NULL;
}

struct link { int a, b; long delay_ns; };

static void *serve(void *arg) {
    struct link *l = arg;
    struct pipe_ up = {l->a, l->b, l->delay_ns, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
    struct pipe_ down = {l->b, l->a, l->delay_ns, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
    pthread_t t[4];
    pthread_create(&t[0], NULL, reader, &up);
    pthread_create(&t[1], NULL, writer, &up);
    pthread_create(&t[2], NULL, reader, &down);
    pthread_create(&t[3], NULL, writer, &down);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    close(l->a);
    close(l->b);
    free(l);
    return NULL;
}

static int endpoint(const char *ip, int port, struct sockaddr_in *addr) {
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons(port);
    return inet_pton(AF_INET, ip, &addr->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s LISTEN_IP LISTEN_PORT TARGET_IP TARGET_PORT DELAY_US\n", argv[0]);
        return 2;
    }
    struct sockaddr_in here, there;
    if (endpoint(argv[1], atoi(argv[2]), &here) || endpoint(argv[3], atoi(argv[4]), &there)) {
        fprintf(stderr, "netdelay: bad address\n");
        return 2;
    }
    long delay_ns = atol(argv[5]) * 1000L;
    signal(SIGPIPE, SIG_IGN);
    int one = 1, server = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(server, (struct sockaddr *)&here, sizeof here) || listen(server, 512)) {
        perror("netdelay: listen");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (;;) {
        int a = accept(server, NULL, NULL);
        if (a < 0) continue;
        int b = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(b, (struct sockaddr *)&there, sizeof there)) {
            close(a);
            close(b);
            continue;
        }
        setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct link *l = malloc(sizeof *l);
        l->a = a;
        l->b = b;
        l->delay_ns = delay_ns;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_create(&t, &attr, serve, l);
        pthread_attr_destroy(&attr);
    }
}
