/*
 * bench/floor.c -- the scrape floor for `make bench`.
 *
 * The least a libcurl program can do to scrape the same kubelets the way
 * ngx_metrics_module does: one easy handle per URL kept across cycles,
 * libcurl's multi interface driven by epoll + curl_multi_socket_action()
 * (the same I/O model as the module on nginx's event loop), at most
 * --max-in-flight transfers at once, kept-alive TLS connections with the
 * kubelet CA verified (peer and host name) and a client certificate, gzip
 * accepted (curl inflates it), and the bodies thrown away.  No parsing,
 * no store: what is left is curl + OpenSSL + zlib + the kernel.
 *
 *   floor --urls FILE --cacert CA --cert CRT --key KEY
 *         [--cycles 4] [--interval-ms 15000] [--max-in-flight 1024]
 *         [--timeout-ms 10000] [--share-per-handle] [--conn-cache-per-handle]
 *         [--no-dns-prune] [--release-buffers] [--trim] [--shared-cert]
 *         [--cert-blob] [--no-session-cache] [--buffersize N] [--pool]
 *
 * FILE: one URL per line.  One line per cycle on stdout:
 *
 *   cycle 1 wall_ms 812.4 cpu_ms 640 ok 1000 failed 0 bytes 37012345 rss_kb 91234
 *       heap_in_use_kb 61234
 *
 * cpu_ms is utime+stime of this process from /proc/self/stat over the
 * cycle (the same counter the driver reads for nginx); bytes are the
 * decoded bytes of the cycle; heap_in_use_kb is what malloc has handed out
 * and not got back (mallinfo2), against the resident set rss_kb.  Cycles start every
 * --interval-ms, as the module's timer does; a cycle that is late starts
 * at once.
 *
 *   --share-per-handle  each easy handle gets a share handle of its own with
 *       CURL_LOCK_DATA_CONNECT and CURL_LOCK_DATA_DNS, as the module does since
 *       333cce5 (bench/run passes it when the module's scrape_cycle.c does so);
 *   --shared-cert  the client certificate and key parsed once, and put in
 *       each connection's SSL_CTX by reference from the CURLOPT_SSL_CTX_FUNCTION
 *       callback (SSL_CTX_use_certificate(), SSL_CTX_use_PrivateKey()) instead
 *       of being parsed again into every SSL_CTX libcurl 7.88 makes, as the
 *       module does since branch cpu (bench/run passes it when scrape_tls.c
 *       does).
 *
 * Other switches, for experiments (bench/analysis.md):
 *   --conn-cache-per-handle  each easy handle gets a share handle of its own
 *       with CURL_LOCK_DATA_CONNECT, hence a connection cache of one: libcurl
 *       7.88's curl_multi_remove_handle() walks the whole connection cache
 *       (close_connect_only) after every kept-alive transfer, O(N) per
 *       scrape and O(N^2) per cycle with one cache for N kubelets;
 *   --no-dns-prune  CURLOPT_DNS_CACHE_TIMEOUT -1: libcurl 7.88 otherwise
 *       walks its whole DNS cache (one entry per kubelet address, IP
 *       literals included) to prune it at every transfer start: O(N) again;
 *   --release-buffers  SSL_MODE_RELEASE_BUFFERS on every TLS context: an idle
 *       kept-alive connection gives back its 16k+ read and write buffers;
 *   --trim  malloc_trim(0) at the end of each cycle: glibc gives the pages
 *       freed by the cycle (inflate windows, buffers) back to the kernel;
 *   --cert-blob  the client certificate and key given from memory
 *       (CURLOPT_SSLCERT_BLOB, CURLOPT_SSLKEY_BLOB) instead of file names;
 *   --no-session-cache  CURLOPT_SSL_SESSIONID_CACHE 0: no TLS session kept per
 *       handle for a reconnection;
 *   --buffersize N  CURLOPT_BUFFERSIZE N (libcurl's receive buffer, 16k);
 *   --pool  as many easy handles as --max-in-flight, not one per URL: each
 *       URL keeps its share handle (its kept-alive connection), a transfer
 *       takes a free easy handle and sets the URL and the share on it.
 *
 * Build: cc -O2 -o floor floor.c -lcurl -lssl -lcrypto
 */

#define _GNU_SOURCE
#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>


typedef struct {
    CURL       *easy;
    CURLSH     *share;
    char       *url;
    size_t      bytes;
} floor_transfer_t;


typedef struct {
    int         release;
    X509       *cert;
    EVP_PKEY   *key;
} floor_ssl_t;


static int          ep = -1;
static CURLM       *multi;
static long         timeout_ms = -1;    /* curl's timer; -1: none */
static double       timer_at;           /* when it fires, ms */
static size_t       cycle_bytes;


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}


/* utime + stime in ms, from /proc/self/stat, as the driver reads nginx */

static long
cpu_ms(void)
{
    char                buf[1024], *p;
    FILE               *f;
    size_t              n;
    unsigned long long  utime, stime;
    static long         hz;

    if (hz == 0) {
        hz = sysconf(_SC_CLK_TCK);
    }

    f = fopen("/proc/self/stat", "r");
    if (f == NULL) {
        return -1;
    }

    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';

    /* the fields after the ")" that ends comm: state is field 3 */
    p = strrchr(buf, ')');
    if (p == NULL
        || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                  "%llu %llu", &utime, &stime) != 2)
    {
        return -1;
    }

    return (long) ((utime + stime) * 1000 / hz);
}


/* resident set, from /proc/self/statm */

static long
rss_kb(void)
{
    long   size, resident;
    FILE  *f;

    f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return -1;
    }

    if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
        resident = -1;
    }

    fclose(f);

    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}


static size_t
discard(char *ptr, size_t size, size_t nmemb, void *data)
{
    floor_transfer_t  *t = data;

    (void) ptr;
    t->bytes += size * nmemb;

    return size * nmemb;
}


/* CURLMOPT_SOCKETFUNCTION: level-triggered epoll, as the module's glue */

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *data, void *socketp)
{
    struct epoll_event  ev;

    (void) easy;
    (void) data;

    if (what == CURL_POLL_REMOVE) {
        if (socketp) {
            epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
            curl_multi_assign(multi, s, NULL);
        }
        return 0;
    }

    memset(&ev, 0, sizeof(ev));
    ev.data.fd = s;
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0)
                | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);

    if (socketp == NULL) {
        if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == -1 && errno == EEXIST) {
            epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
        }
        curl_multi_assign(multi, s, (void *) 1);

    } else {
        epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
    }

    return 0;
}


static int
timer_cb(CURLM *m, long ms, void *data)
{
    (void) m;
    (void) data;

    timeout_ms = ms;
    timer_at = now_ms() + (ms > 0 ? ms : 0);

    return 0;
}


static CURLcode
ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *data)
{
    floor_ssl_t  *fs = data;

    (void) easy;

    if (fs->release) {
        SSL_CTX_set_mode((SSL_CTX *) ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    }

    if (fs->cert
        && (SSL_CTX_use_certificate(ssl_ctx, fs->cert) != 1
            || SSL_CTX_use_PrivateKey(ssl_ctx, fs->key) != 1))
    {
        return CURLE_SSL_CERTPROBLEM;
    }

    return CURLE_OK;
}


static char *
slurp(const char *name, size_t *len)
{
    long   n;
    char  *buf;
    FILE  *f;

    f = fopen(name, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        perror(name);
        exit(1);
    }

    rewind(f);
    buf = malloc(n + 1);
    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        perror(name);
        exit(1);
    }

    fclose(f);
    *len = n;

    return buf;
}


static void
load_shared_cert(floor_ssl_t *fs, const char *cert, const char *key)
{
    FILE  *f;

    f = fopen(cert, "r");
    fs->cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f) {
        fclose(f);
    }

    f = fopen(key, "r");
    fs->key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f) {
        fclose(f);
    }

    if (fs->cert == NULL || fs->key == NULL) {
        fprintf(stderr, "floor: cannot read %s or %s\n", cert, key);
        exit(1);
    }
}


static void
usage(void)
{
    fprintf(stderr, "usage: floor --urls FILE --cacert CA --cert CRT "
            "--key KEY [--cycles 4] [--interval-ms 15000] "
            "[--max-in-flight 1024] [--timeout-ms 10000] "
            "[--share-per-handle] [--conn-cache-per-handle] [--no-dns-prune] "
            "[--release-buffers] [--trim] [--cert-blob] [--shared-cert] "
            "[--no-session-cache] [--buffersize N] [--pool]\n");
    exit(2);
}


int
main(int argc, char **argv)
{
    int                  i, k, n, running, pending, wait, cycle, cycles;
    int                  per_handle_cache, release, no_dns_prune, trim;
    int                  cert_blob, shared_cert, no_session, pool, nfree;
    long                 interval, max_in_flight, timeout, cpu0, cpu1;
    long                 buffersize;
    char                *urls, *ca, *cert, *key, line[4096];
    CURL                *easy, **handles;
    size_t               nhandles;
    floor_ssl_t          fs;
    struct curl_blob     cert_b, key_b;
    FILE                *f;
    double               t0, t1, next_start;
    size_t               ntransfers, cap, next, finished, ok, failed;
    CURLMsg             *msg;
    floor_transfer_t    *transfers, *t;
    struct epoll_event   events[256];

    urls = ca = cert = key = NULL;
    per_handle_cache = 0;
    release = 0;
    no_dns_prune = 0;
    trim = 0;
    cert_blob = 0;
    shared_cert = 0;
    no_session = 0;
    pool = 0;
    buffersize = 0;
    memset(&fs, 0, sizeof(fs));
    cycles = 4;
    interval = 15000;
    max_in_flight = 1024;
    timeout = 10000;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--conn-cache-per-handle") == 0) {
            per_handle_cache = 1;
            continue;
        }

        if (strcmp(argv[i], "--share-per-handle") == 0) {
            per_handle_cache = 2;
            continue;
        }

        if (strcmp(argv[i], "--trim") == 0) {
            trim = 1;
            continue;
        }

        if (strcmp(argv[i], "--no-dns-prune") == 0) {
            no_dns_prune = 1;
            continue;
        }

        if (strcmp(argv[i], "--release-buffers") == 0) {
            release = 1;
            continue;
        }

        if (strcmp(argv[i], "--cert-blob") == 0) {
            cert_blob = 1;
            continue;
        }

        if (strcmp(argv[i], "--shared-cert") == 0) {
            shared_cert = 1;
            continue;
        }

        if (strcmp(argv[i], "--no-session-cache") == 0) {
            no_session = 1;
            continue;
        }

        if (strcmp(argv[i], "--pool") == 0) {
            pool = 1;
            continue;
        }

        if (i + 1 >= argc) {
            usage();
        }

        if (strcmp(argv[i], "--urls") == 0) {
            urls = argv[++i];
        } else if (strcmp(argv[i], "--cacert") == 0) {
            ca = argv[++i];
        } else if (strcmp(argv[i], "--cert") == 0) {
            cert = argv[++i];
        } else if (strcmp(argv[i], "--key") == 0) {
            key = argv[++i];
        } else if (strcmp(argv[i], "--cycles") == 0) {
            cycles = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--interval-ms") == 0) {
            interval = atol(argv[++i]);
        } else if (strcmp(argv[i], "--max-in-flight") == 0) {
            max_in_flight = atol(argv[++i]);
        } else if (strcmp(argv[i], "--timeout-ms") == 0) {
            timeout = atol(argv[++i]);
        } else if (strcmp(argv[i], "--buffersize") == 0) {
            buffersize = atol(argv[++i]);
        } else {
            usage();
        }
    }

    if (urls == NULL || ca == NULL || cert == NULL || key == NULL
        || cycles < 1 || max_in_flight < 1
        || (pool && per_handle_cache != 2))
    {
        usage();
    }

    f = fopen(urls, "r");
    if (f == NULL) {
        perror(urls);
        return 1;
    }

    cap = 1024;
    ntransfers = 0;
    transfers = calloc(cap, sizeof(floor_transfer_t));

    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }

        if (ntransfers == cap) {
            cap *= 2;
            transfers = realloc(transfers, cap * sizeof(floor_transfer_t));
        }

        memset(&transfers[ntransfers], 0, sizeof(floor_transfer_t));
        transfers[ntransfers++].url = strdup(line);
    }

    fclose(f);

    if (ntransfers == 0) {
        fprintf(stderr, "floor: no URL in %s\n", urls);
        return 1;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);

    ep = epoll_create1(EPOLL_CLOEXEC);
    multi = curl_multi_init();

    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    /* keep one idle connection per kubelet between cycles, as the module */
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) ntransfers + 16);

    /* the module's options, minus its observers (error text, peer names) */

    fs.release = release;

    if (shared_cert) {
        load_shared_cert(&fs, cert, key);
    }

    if (cert_blob) {
        cert_b.data = slurp(cert, &cert_b.len);
        cert_b.flags = CURL_BLOB_NOCOPY;
        key_b.data = slurp(key, &key_b.len);
        key_b.flags = CURL_BLOB_NOCOPY;
    }

    nhandles = pool ? (size_t) max_in_flight : ntransfers;
    if (nhandles > ntransfers) {
        nhandles = ntransfers;
    }

    handles = calloc(nhandles, sizeof(CURL *));
    nfree = 0;

    for (k = 0; k < (int) nhandles; k++) {
        easy = curl_easy_init();
        handles[nfree++] = easy;

        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout);
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy, CURLOPT_USERAGENT, "floor");
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(easy, CURLOPT_CAINFO, ca);
        curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);

        if (cert_blob) {
            curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert_b);
            curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key_b);

        } else if (!shared_cert) {
            curl_easy_setopt(easy, CURLOPT_SSLCERT, cert);
            curl_easy_setopt(easy, CURLOPT_SSLKEY, key);
        }

        if (no_dns_prune) {
            curl_easy_setopt(easy, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
        }

        if (no_session) {
            curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
        }

        if (buffersize) {
            curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, buffersize);
        }

        if (release || shared_cert) {
            curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
            curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, &fs);
        }
    }

    for (k = 0; k < (int) ntransfers; k++) {
        t = &transfers[k];

        if (per_handle_cache) {
            t->share = curl_share_init();

            curl_share_setopt(t->share, CURLSHOPT_SHARE,
                              CURL_LOCK_DATA_CONNECT);
            if (per_handle_cache == 2) {
                curl_share_setopt(t->share, CURLSHOPT_SHARE,
                                  CURL_LOCK_DATA_DNS);
            }
        }

        if (!pool) {
            t->easy = handles[k];
            curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
            curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
            curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
            if (t->share) {
                curl_easy_setopt(t->easy, CURLOPT_SHARE, t->share);
            }
        }
    }

    next_start = now_ms();

    for (cycle = 1; cycle <= cycles; cycle++) {

        /* wait for the tick, as the module's timer */
        t0 = now_ms();
        if (next_start > t0) {
            usleep((useconds_t) ((next_start - t0) * 1000));
        }

        t0 = now_ms();
        next_start = t0 + interval;
        cpu0 = cpu_ms();

        next = 0;
        finished = 0;
        ok = 0;
        failed = 0;
        cycle_bytes = 0;

        while (finished < ntransfers) {

            while (next < ntransfers
                   && (long) (next - finished) < max_in_flight)
            {
                t = &transfers[next++];
                t->bytes = 0;

                if (pool) {
                    t->easy = handles[--nfree];
                    curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
                    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
                    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
                    curl_easy_setopt(t->easy, CURLOPT_SHARE, t->share);
                }

                curl_multi_add_handle(multi, t->easy);
            }

            wait = -1;
            if (timeout_ms >= 0) {
                wait = (int) (timer_at - now_ms());
                if (wait < 0) {
                    wait = 0;
                }
            }

            n = epoll_wait(ep, events, 256, wait);

            if (n == -1 && errno != EINTR) {
                perror("epoll_wait");
                return 1;
            }

            for (i = 0; i < n; i++) {
                int  action = 0;

                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                    action |= CURL_CSELECT_IN;
                }
                if (events[i].events & EPOLLOUT) {
                    action |= CURL_CSELECT_OUT;
                }

                curl_multi_socket_action(multi, events[i].data.fd, action,
                                         &running);
            }

            if (n <= 0 || (timeout_ms >= 0 && now_ms() >= timer_at)) {
                if (timeout_ms >= 0 && now_ms() >= timer_at) {
                    timeout_ms = -1;
                    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0,
                                             &running);
                }
            }

            while ((msg = curl_multi_info_read(multi, &pending))) {
                long  code = 0;

                if (msg->msg != CURLMSG_DONE) {
                    continue;
                }

                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
                                  (char **) &t);
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
                                  &code);

                if (msg->data.result == CURLE_OK && code == 200) {
                    ok++;
                } else {
                    failed++;
                    if (failed <= 5) {
                        fprintf(stderr, "floor: %s: %s (HTTP %ld)\n", t->url,
                                curl_easy_strerror(msg->data.result), code);
                    }
                }

                cycle_bytes += t->bytes;
                easy = msg->easy_handle;
                curl_multi_remove_handle(multi, easy);
                finished++;

                if (pool) {
                    handles[nfree++] = easy;
                }
            }
        }

        if (trim) {
            malloc_trim(0);
        }

        t1 = now_ms();
        cpu1 = cpu_ms();

        {
            struct mallinfo2  mi = mallinfo2();

            printf("cycle %d wall_ms %.1f cpu_ms %ld ok %zu failed %zu "
                   "bytes %zu rss_kb %ld heap_in_use_kb %zu\n", cycle,
                   t1 - t0, cpu1 - cpu0, ok, failed, cycle_bytes, rss_kb(),
                   (mi.uordblks + mi.hblkhd) / 1024);
        }
        fflush(stdout);
    }

    for (k = 0; k < (int) nhandles; k++) {
        curl_easy_cleanup(handles[k]);
    }

    for (k = 0; k < (int) ntransfers; k++) {
        if (transfers[k].share) {
            curl_share_cleanup(transfers[k].share);
        }
        free(transfers[k].url);
    }

    curl_multi_cleanup(multi);
    curl_global_cleanup();
    free(transfers);
    close(ep);

    return 0;
}
