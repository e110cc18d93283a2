
/*
 * Unit test of ngx_k8s_metrics_protobuf.c, linked alone: random objects,
 * Status and envelopes encoded, then read back by a wire reader written
 * here; every field must come back as given, each size function must
 * equal the bytes written (nothing past them), and the creationTimestamp
 * offset must point at the seconds' varint.  Build and run: make unit
 * (make -C t/unit).
 *
 *   ./test_protobuf [ITERATIONS [SEED]]
 */


#include "unit.h"
#include "ngx_k8s_metrics_protobuf.h"

#include <stdlib.h>


/* the reader: a message as a list of fields */

typedef struct {
    uint64_t     number;
    uint64_t     type;
    uint64_t     value;     /* a varint */
    u_char      *data;      /* length-delimited */
    size_t       len;
} field_t;


#define MAX_FIELDS  256


static int
varint(u_char **p, u_char *end, uint64_t *v)
{
    int  shift;

    *v = 0;

    for (shift = 0; shift < 64; shift += 7) {
        if (*p >= end) {
            return -1;
        }

        *v |= (uint64_t) (**p & 0x7f) << shift;

        if (!(*(*p)++ & 0x80)) {
            return 0;
        }
    }

    return -1;
}


static int
fields(u_char *p, size_t len, field_t *f, int max)
{
    int        n;
    u_char    *end;
    uint64_t   key;

    end = p + len;

    for (n = 0; p < end; n++) {
        if (n == max || varint(&p, end, &key) != 0) {
            return -1;
        }

        f[n].number = key >> 3;
        f[n].type = key & 7;

        if (f[n].type == 0) {
            if (varint(&p, end, &f[n].value) != 0) {
                return -1;
            }

        } else if (f[n].type == 2) {
            if (varint(&p, end, &f[n].value) != 0
                || f[n].value > (uint64_t) (end - p))
            {
                return -1;
            }

            f[n].data = p;
            f[n].len = f[n].value;
            p += f[n].len;

        } else {
            return -1;
        }
    }

    return n;
}


static int
str_eq(field_t *f, ngx_str_t *s)
{
    return f->type == 2 && f->len == s->len
           && (s->len == 0 || memcmp(f->data, s->data, s->len) == 0);
}


/* random input */

static u_char  pool[1 << 22];
static size_t  pool_used;


static ngx_str_t
random_str(size_t max)
{
    size_t     i;
    ngx_str_t  s;

    s.len = (rand() % 4 == 0) ? 0 : (size_t) rand() % (max + 1);
    s.data = pool + pool_used;
    pool_used += s.len;

    for (i = 0; i < s.len; i++) {
        s.data[i] = (u_char) rand();
    }

    return s;
}


static uint64_t
random_u64(void)
{
    uint64_t  v;

    v = ((uint64_t) rand() << 42) ^ ((uint64_t) rand() << 21) ^ rand();

    return v >> (rand() % 64);
}


static void
check_time(field_t *f, time_t t, const char *what)
{
    int      n;
    field_t  tf[4];

    n = fields(f->data, f->len, tf, 4);

    check(f->type == 2 && n == 2 && tf[0].number == 1 && tf[0].type == 0
          && tf[0].value == (uint64_t) t && tf[1].number == 2
          && tf[1].value == 0,
          "%s: Time {seconds, nanos 0}", what);
}


static void
check_resources(field_t *f, int n, ngx_k8s_metrics_pb_usage_t *u,
    const char *what)
{
    int         i, m;
    field_t     e[4], q[2];
    ngx_uint_t  r;

    check((ngx_uint_t) n == u->nresources, "%s: %d resources of %d", what,
          n, (int) u->nresources);

    for (i = 0, r = 0; i < n && r < u->nresources; i++, r++) {
        m = fields(f[i].data, f[i].len, e, 4);

        check(m == 2 && e[0].number == 1 && str_eq(&e[0], &u->resources[2 * r])
              && e[1].number == 2
              && fields(e[1].data, e[1].len, q, 2) == 1 && q[0].number == 1
              && str_eq(&q[0], &u->resources[2 * r + 1]),
              "%s: resource %d {key, Quantity {string}}", what, i);
    }
}


static void
test_object(void)
{
    int                           n, m, i, nres, ncont, nlab;
    u_char                       *buf, *end;
    size_t                        size, stamp;
    uint64_t                      v;
    field_t                       f[MAX_FIELDS], meta[MAX_FIELDS];
    field_t                       c[MAX_FIELDS], e[4];
    ngx_str_t                     labels[16], res[8][4];
    ngx_uint_t                    u;
    ngx_k8s_metrics_pb_usage_t    usage[8];
    ngx_k8s_metrics_pb_object_t   o;

    memset(&o, 0, sizeof(o));
    pool_used = 0;

    o.pod = rand() % 2;
    o.name = random_str(300);
    o.namespace = o.pod ? random_str(70) : random_str(0);
    o.nlabels = rand() % 8;
    o.labels = labels;
    o.created = (time_t) (random_u64() & 0xffffffffff);
    o.timestamp = (time_t) (random_u64() & 0xffffffffff);
    o.window = (int64_t) (random_u64() >> 1);
    o.nusage = o.pod ? (ngx_uint_t) (rand() % 8) : 1;
    o.usage = usage;

    for (u = 0; u < 2 * o.nlabels; u++) {
        labels[u] = random_str(u % 2 ? 63 : 253);
    }

    for (u = 0; u < o.nusage; u++) {
        usage[u].name = random_str(63);
        usage[u].nresources = 2;
        usage[u].resources = res[u];
        ngx_str_set(&res[u][0], "cpu");
        res[u][1] = random_str(40);
        ngx_str_set(&res[u][2], "memory");
        res[u][3] = random_str(40);
    }

    size = ngx_k8s_metrics_pb_object_size(&o);
    buf = malloc(size + 64);
    memset(buf, 0xa5, size + 64);

    end = ngx_k8s_metrics_pb_object(buf, &o, &stamp);

    check((size_t) (end - buf) == size, "object: %d bytes written, size %d",
          (int) (end - buf), (int) size);
    check(buf[size] == 0xa5 && buf[size + 63] == 0xa5, "object: past size");

    n = fields(buf, size, f, MAX_FIELDS);
    check(n >= 3, "object parses (%d fields)", n);

    if (n < 3) {
        free(buf);
        return;
    }

    check(f[0].number == 1 && f[1].number == 2 && f[2].number == 3,
          "object: metadata 1, timestamp 2, window 3");

    /* ObjectMeta */

    m = fields(f[0].data, f[0].len, meta, MAX_FIELDS);
    nlab = m - 8;

    check(m == 8 + (int) o.nlabels, "ObjectMeta: %d fields", m);
    check(meta[0].number == 1 && str_eq(&meta[0], &o.name), "name");
    check(meta[1].number == 2 && meta[1].len == 0, "generateName empty");
    check(meta[2].number == 3 && str_eq(&meta[2], &o.namespace), "namespace");
    check(meta[3].number == 4 && meta[3].len == 0
          && meta[4].number == 5 && meta[4].len == 0
          && meta[5].number == 6 && meta[5].len == 0,
          "selfLink, uid, resourceVersion empty");
    check(meta[6].number == 7 && meta[6].type == 0 && meta[6].value == 0,
          "generation 0");
    check(meta[7].number == 8, "creationTimestamp 8");
    check_time(&meta[7], o.created, "creationTimestamp");

    for (i = 0; i < nlab && i < (int) o.nlabels; i++) {
        check(meta[8 + i].number == 11
              && fields(meta[8 + i].data, meta[8 + i].len, e, 4) == 2
              && str_eq(&e[0], &labels[2 * i])
              && str_eq(&e[1], &labels[2 * i + 1]),
              "label %d", i);
    }

    /* the stamp: the creationTimestamp's seconds */

    {
        u_char  *p = buf + stamp;

        check(stamp < size && varint(&p, buf + size, &v) == 0
              && v == (uint64_t) o.created
              && (size_t) (p - (buf + stamp))
                 == ngx_k8s_metrics_pb_varint_len((uint64_t) o.created),
              "stamp offset %d", (int) stamp);
    }

    check_time(&f[1], o.timestamp, "timestamp");

    check(fields(f[2].data, f[2].len, e, 4) == 1 && e[0].number == 1
          && e[0].value == (uint64_t) o.window, "window");

    if (!o.pod) {
        nres = n - 3;

        for (i = 3; i < n; i++) {
            check(f[i].number == 4, "usage 4");
        }

        check_resources(&f[3], nres, &usage[0], "node usage");

    } else {
        ncont = n - 3;
        check(ncont == (int) o.nusage, "%d containers of %d", ncont,
              (int) o.nusage);

        for (i = 0; i < ncont && i < (int) o.nusage; i++) {
            m = fields(f[3 + i].data, f[3 + i].len, c, MAX_FIELDS);

            check(f[3 + i].number == 4 && m >= 1 && c[0].number == 1
                  && str_eq(&c[0], &usage[i].name), "container %d name", i);

            if (m >= 1) {
                check_resources(&c[1], m - 1, &usage[i], "container usage");
            }
        }
    }

    free(buf);
}


static void
test_status(void)
{
    int                           n, m, i;
    u_char                       *buf, *end;
    size_t                        size;
    field_t                       f[16], d[MAX_FIELDS], e[4];
    ngx_str_t                     causes[4];
    ngx_k8s_metrics_pb_status_t   s;

    memset(&s, 0, sizeof(s));
    pool_used = 0;

    s.status = random_str(10);
    s.message = random_str(600);
    s.reason = random_str(20);
    s.code = (rand() % 3) ? 100 + rand() % 500 : -rand();
    s.has_details = rand() % 2;
    s.name = random_str(300);
    s.group = random_str(20);
    s.kind = random_str(20);
    s.ncauses = rand() % 4;
    s.causes = causes;

    for (i = 0; i < (int) s.ncauses; i++) {
        causes[i] = random_str(200);
    }

    size = ngx_k8s_metrics_pb_status_size(&s);
    buf = malloc(size + 16);
    memset(buf, 0xa5, size + 16);

    end = ngx_k8s_metrics_pb_status(buf, &s);

    check((size_t) (end - buf) == size, "status: %d bytes, size %d",
          (int) (end - buf), (int) size);
    check(buf[size] == 0xa5, "status: past size");

    n = fields(buf, size, f, 16);

    check(n == 5 + s.has_details, "Status: %d fields", n);

    if (n != 5 + s.has_details) {
        free(buf);
        return;
    }

    check(f[0].number == 1 && fields(f[0].data, f[0].len, e, 4) == 3
          && e[0].len == 0 && e[1].len == 0 && e[2].len == 0,
          "metadata: ListMeta, three empty strings");
    check(f[1].number == 2 && str_eq(&f[1], &s.status), "status");
    check(f[2].number == 3 && str_eq(&f[2], &s.message), "message");
    check(f[3].number == 4 && str_eq(&f[3], &s.reason), "reason");
    check(f[n - 1].number == 6 && f[n - 1].type == 0
          && (int32_t) f[n - 1].value == s.code, "code %d", (int) s.code);

    if (s.has_details) {
        m = fields(f[4].data, f[4].len, d, MAX_FIELDS);

        check(f[4].number == 5 && m == 5 + (int) s.ncauses
              && str_eq(&d[0], &s.name) && str_eq(&d[1], &s.group)
              && str_eq(&d[2], &s.kind)
              && d[m - 2].number == 5 && d[m - 2].value == 0
              && d[m - 1].number == 6 && d[m - 1].len == 0,
              "details");

        for (i = 0; i < (int) s.ncauses && 3 + i < m; i++) {
            check(d[3 + i].number == 4
                  && fields(d[3 + i].data, d[3 + i].len, e, 4) == 3
                  && e[0].len == 0 && str_eq(&e[1], &causes[i])
                  && e[2].len == 0, "cause %d", i);
        }
    }

    free(buf);
}


static void
test_envelope(void)
{
    int         n;
    u_char     *buf, *p;
    size_t      raw, head, total;
    field_t     f[8], t[4];
    ngx_str_t   av, kind;

    pool_used = 0;
    av = random_str(40);
    kind = random_str(40);
    raw = random_u64() % 100000;

    head = ngx_k8s_metrics_pb_head_size(&av, &kind, raw);
    total = head + raw + NGX_K8S_METRICS_PB_TAIL_LEN;

    buf = malloc(total + 16);
    memset(buf, 0xa5, total + 16);

    p = ngx_k8s_metrics_pb_head(buf, &av, &kind, raw);
    check((size_t) (p - buf) == head, "head: %d bytes, size %d",
          (int) (p - buf), (int) head);

    memset(p, 0, raw);
    p = ngx_k8s_metrics_pb_tail(p + raw);
    check((size_t) (p - buf) == total && buf[total] == 0xa5, "tail");

    check(memcmp(buf, "k8s\0", 4) == 0, "prefix");

    n = fields(buf + 4, total - 4, f, 8);

    check(n == 4 && f[0].number == 1 && f[1].number == 2
          && f[1].len == raw && f[2].number == 3 && f[2].len == 0
          && f[3].number == 4 && f[3].len == 0,
          "Unknown {typeMeta, raw, contentEncoding \"\", contentType \"\"}");

    if (n == 4) {
        check(fields(f[0].data, f[0].len, t, 4) == 2 && t[0].number == 1
              && str_eq(&t[0], &av) && t[1].number == 2
              && str_eq(&t[1], &kind), "typeMeta {apiVersion, kind}");
    }

    free(buf);
}


int
main(int argc, char **argv)
{
    long           i, iterations;
    unsigned int   seed;

    iterations = argc > 1 ? atol(argv[1]) : 20000;
    seed = argc > 2 ? (unsigned int) atol(argv[2]) : (unsigned int) time(NULL);

    printf("test_protobuf: %ld iterations, seed %u\n", iterations, seed);
    srand(seed);

    for (i = 0; i < iterations; i++) {
        test_object();
        test_status();
        test_envelope();
    }

    /* the list's metadata and an item's head */

    {
        u_char  buf[32], *p;

        p = ngx_k8s_metrics_pb_list_meta(buf);
        check((size_t) (p - buf) == ngx_k8s_metrics_pb_list_meta_size()
              && memcmp(buf, "\x0a\x06\x0a\x00\x12\x00\x1a\x00", 8) == 0,
              "ListMeta field");

        p = ngx_k8s_metrics_pb_item(buf, 300);
        check((size_t) (p - buf) == ngx_k8s_metrics_pb_item_size(300)
              && memcmp(buf, "\x12\xac\x02", 3) == 0, "item 300 bytes");
    }

    return unit_done("test_protobuf");
}
