/*
 * bench/json-micro.c -- what a PodMetricsList costs to serialize, with the
 * module's jansson calls and with a direct writer, on the same data.
 *
 * Until ngx_k8s_metrics_emit.c, the module (ngx_k8s_metrics_resources.c)
 * built a jansson tree for a list (json_pack() per object,
 * json_array_append_new() per item), dumped it through a callback into
 * 16 KiB buffers and freed it.  This program does exactly that for P pods
 * of 2 containers, timing the three steps, then writes the same bytes with
 * memcpy into the same kind of buffers, and checks that both outputs are
 * identical: the measurement that made the module write its lists
 * directly.
 *
 *   cc -O2 -o json-micro json-micro.c -ljansson && ./json-micro [pods]
 */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define CHUNK  16384


typedef struct chunk_s  chunk_t;

struct chunk_s {
    chunk_t  *next;
    size_t    len;
    char      data[CHUNK];
};


typedef struct {
    chunk_t  *head;
    chunk_t  *last;
    size_t    size;
} out_t;


static const char  *namespaces[] = {
    "default", "kube-system", "team-a", "team-b", "monitoring"
};


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}


/* the module's ngx_k8s_metrics_json_write(): copy into 16 KiB buffers */

static int
out_write(const char *buffer, size_t size, void *data)
{
    out_t    *out = data;
    size_t    n;
    chunk_t  *c;

    out->size += size;

    while (size) {
        if (out->last == NULL || out->last->len == CHUNK) {
            c = malloc(sizeof(chunk_t));
            if (c == NULL) {
                return -1;
            }
            c->next = NULL;
            c->len = 0;
            if (out->last) {
                out->last->next = c;
            } else {
                out->head = c;
            }
            out->last = c;
        }

        n = CHUNK - out->last->len;
        if (n > size) {
            n = size;
        }
        memcpy(out->last->data + out->last->len, buffer, n);
        out->last->len += n;
        buffer += n;
        size -= n;
    }

    return 0;
}


static void
out_free(out_t *out)
{
    chunk_t  *c, *next;

    for (c = out->head; c; c = next) {
        next = c->next;
        free(c);
    }

    memset(out, 0, sizeof(out_t));
}


static char *
out_flatten(out_t *out)
{
    char     *p, *buf;
    chunk_t  *c;

    buf = malloc(out->size + 1);
    p = buf;

    for (c = out->head; c; c = c->next) {
        memcpy(p, c->data, c->len);
        p += c->len;
    }

    *p = '\0';

    return buf;
}


/*
 * The values of pod p, as the module has them when it serializes (it
 * formats quantities with its own code in both cases): made once, before
 * any timing.
 */

typedef struct {
    char  name[24], cpu0[24], mem0[24], cpu1[24], mem1[24];
} pod_t;

static pod_t  *pod_data;


static void
make_pods(int pods)
{
    int     p;
    pod_t  *d;

    pod_data = calloc(pods, sizeof(pod_t));

    for (p = 0; p < pods; p++) {
        d = &pod_data[p];
        sprintf(d->name, "pod-%05d-%03d", p / 30 + 1, p % 30);
        sprintf(d->cpu0, "%dn", 1000000 * (1 + (p * 13) % 997) + 123);
        sprintf(d->mem0, "%dKi", 4 * (2048 + (p * 211) % 61440));
        sprintf(d->cpu1, "%dn", 1000000 * (1 + (p * 13 + 29) % 997) + 456);
        sprintf(d->mem1, "%dKi", 4 * (2048 + (p * 211 + 307) % 61440));
    }
}


static const char  *now = "2026-11-29T00:00:00Z";
static const char  *ts = "2026-11-28T23:59:52Z";
static const char  *window = "15.003s";


static json_t *
usage(const char *cpu, const char *mem)
{
    return json_pack("{s:s%, s:s%}", "cpu", cpu, strlen(cpu),
                     "memory", mem, strlen(mem));
}


static json_t *
jansson_build(int pods)
{
    int           p;
    pod_t        *d;
    json_t       *items, *containers, *meta;
    const char   *ns, *name, *cpu0, *mem0, *cpu1, *mem1;

    items = json_array();

    for (p = 0; p < pods; p++) {
        d = &pod_data[p];
        name = d->name; cpu0 = d->cpu0; mem0 = d->mem0;
        cpu1 = d->cpu1; mem1 = d->mem1;
        ns = namespaces[p % 5];

        containers = json_array();
        json_array_append_new(containers,
            json_pack("{s:o, s:o}", "name", json_stringn("app", 3),
                      "usage", usage(cpu0, mem0)));
        json_array_append_new(containers,
            json_pack("{s:o, s:o}", "name", json_stringn("sidecar", 7),
                      "usage", usage(cpu1, mem1)));

        meta = json_object();
        json_object_set_new(meta, "name", json_stringn(name, strlen(name)));
        json_object_set_new(meta, "namespace", json_stringn(ns, strlen(ns)));
        json_object_set_new(meta, "creationTimestamp",
                            json_stringn(now, strlen(now)));

        json_array_append_new(items,
            json_pack("{s:o, s:o, s:o, s:o}", "metadata", meta,
                      "timestamp", json_stringn(ts, strlen(ts)),
                      "window", json_stringn(window, strlen(window)),
                      "containers", containers));
    }

    return json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PodMetricsList",
                     "apiVersion", "metrics.k8s.io/v1beta1", "metadata",
                     "items", items);
}


/* a direct writer: literal fragments and the values, memcpy'd */

#define lit(out, s)  out_write(s, sizeof(s) - 1, out)

static void
str(out_t *out, const char *s)
{
    /* names, quantities and times need no escaping; labels would */
    out_write(s, strlen(s), out);
}


static void
direct(out_t *out, int pods)
{
    int     p;
    pod_t  *d;

    lit(out, "{\"kind\":\"PodMetricsList\",\"apiVersion\":"
             "\"metrics.k8s.io/v1beta1\",\"metadata\":{},\"items\":[");

    for (p = 0; p < pods; p++) {
        d = &pod_data[p];

        if (p) {
            lit(out, ",");
        }

        lit(out, "{\"metadata\":{\"name\":\"");
        str(out, d->name);
        lit(out, "\",\"namespace\":\"");
        str(out, namespaces[p % 5]);
        lit(out, "\",\"creationTimestamp\":\"");
        str(out, now);
        lit(out, "\"},\"timestamp\":\"");
        str(out, ts);
        lit(out, "\",\"window\":\"");
        str(out, window);
        lit(out, "\",\"containers\":[{\"name\":\"app\",\"usage\":{\"cpu\":\"");
        str(out, d->cpu0);
        lit(out, "\",\"memory\":\"");
        str(out, d->mem0);
        lit(out, "\"}},{\"name\":\"sidecar\",\"usage\":{\"cpu\":\"");
        str(out, d->cpu1);
        lit(out, "\",\"memory\":\"");
        str(out, d->mem1);
        lit(out, "\"}}]}");
    }

    lit(out, "]}");
}


int
main(int argc, char **argv)
{
    int      pods, r, rounds;
    char    *a, *b;
    double   t0, t1, t2, t3, build, dump, del, dir;
    out_t    out1, out2;
    json_t  *body;

    pods = argc > 1 ? atoi(argv[1]) : 30000;
    rounds = 3;
    build = dump = del = dir = 0;

    make_pods(pods);

    memset(&out1, 0, sizeof(out_t));
    memset(&out2, 0, sizeof(out_t));

    for (r = 0; r < rounds; r++) {
        out_free(&out1);
        out_free(&out2);

        t0 = now_ms();
        body = jansson_build(pods);
        t1 = now_ms();
        json_dump_callback(body, out_write, &out1,
                           JSON_COMPACT | JSON_PRESERVE_ORDER);
        t2 = now_ms();
        json_decref(body);
        t3 = now_ms();

        build += t1 - t0;
        dump += t2 - t1;
        del += t3 - t2;

        t0 = now_ms();
        direct(&out2, pods);
        dir += now_ms() - t0;
    }

    a = out_flatten(&out1);
    b = out_flatten(&out2);

    printf("%d pods, %zu bytes, mean of %d rounds\n", pods, out1.size, rounds);
    printf("jansson: build %.1f ms + dump %.1f ms + free %.1f ms = %.1f ms\n",
           build / rounds, dump / rounds, del / rounds,
           (build + dump + del) / rounds);
    printf("direct:  %.1f ms (%.0fx less), output %s\n", dir / rounds,
           (build + dump + del) / dir,
           strcmp(a, b) == 0 ? "identical" : "DIFFERENT");

    free(a);
    free(b);
    free(pod_data);
    out_free(&out1);
    out_free(&out2);

    return 0;
}
