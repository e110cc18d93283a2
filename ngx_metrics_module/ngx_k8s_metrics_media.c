
/*
 * ngx_metrics_module: content negotiation as kube-apiserver's, and the
 * protobuf answers (the objects of the snapshot handed to the encoder of
 * ngx_k8s_metrics_protobuf.c, and metav1.Status).
 *
 * The Accept header is read as goautoneg's ParseAccept reads it (the
 * parser k8s.io/apiserver uses): clauses split at ",", parameters at ";",
 * sorted by q, then with a "*" type or subtype after the others (Go's
 * sort of a short slice is an insertion sort: ties keep their order);
 * then, as NegotiateMediaTypeOptions, the first clause that names a media
 * type served (itself, its type with subtype "*", or both "*") with
 * parameters the endpoint allows wins.  No clause: NGX_DECLINED, m set
 * to JSON; the callers answer JSON then (SPEC: "JSON otherwise"), where
 * kube-apiserver answers 406.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_emit.h"
#include "ngx_k8s_metrics_quantity.h"
#include "ngx_k8s_metrics_protobuf.h"
#include "ngx_k8s_metrics_media.h"


#define NGX_K8S_METRICS_ACCEPT_MAX   32
#define NGX_K8S_METRICS_PARAMS_MAX   8


typedef struct {
    ngx_str_t                       type;
    ngx_str_t                       subtype;
    double                          q;
    ngx_str_t                       keys[NGX_K8S_METRICS_PARAMS_MAX];
    ngx_str_t                       values[NGX_K8S_METRICS_PARAMS_MAX];
    ngx_uint_t                      nparams;
} ngx_k8s_metrics_clause_t;


typedef struct {
    ngx_str_t                       subtype;    /* of "application/" */
    ngx_k8s_metrics_media_e         type;
} ngx_k8s_metrics_offer_t;


/* what a worker reuses from object to object while encoding a list */

typedef struct {
    void                           *data;
    size_t                          size;
} ngx_k8s_metrics_room_t;


static ngx_uint_t ngx_k8s_metrics_parse_accept(ngx_str_t *header,
    ngx_k8s_metrics_clause_t *clauses);
static ngx_int_t ngx_k8s_metrics_parse_clause(ngx_str_t *part,
    ngx_k8s_metrics_clause_t *c);
static void ngx_k8s_metrics_clause_param(ngx_k8s_metrics_clause_t *c,
    ngx_str_t *param);
static double ngx_k8s_metrics_parse_q(ngx_str_t *v);
static ngx_flag_t ngx_k8s_metrics_clause_before(ngx_k8s_metrics_clause_t *a,
    ngx_k8s_metrics_clause_t *b);
static ngx_flag_t ngx_k8s_metrics_clause_names(ngx_k8s_metrics_clause_t *c,
    ngx_k8s_metrics_offer_t *offer);
static ngx_flag_t ngx_k8s_metrics_accept_options(ngx_k8s_metrics_clause_t *c,
    ngx_k8s_metrics_offer_t *offer, ngx_flag_t resource,
    ngx_k8s_metrics_media_t *m);
static ngx_str_t ngx_k8s_metrics_trim(u_char *start, u_char *end);
static ngx_uint_t ngx_k8s_metrics_pb_resource_list(ngx_str_t *res,
    u_char *text, uint64_t cpu, uint64_t memory, uint64_t *swap);
static void ngx_k8s_metrics_pb_emit_object(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_pb_object_t *o, ngx_flag_t item);
static ngx_str_t *ngx_k8s_metrics_pb_labels(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_snapshot_t *snap, uint32_t first, uint32_t n);
static void *ngx_k8s_metrics_room(ngx_k8s_metrics_room_t *room, size_t size,
    ngx_k8s_metrics_emit_t *e);


#define ngx_k8s_metrics_str_is(s, lit)                                       \
    ((s).len == sizeof(lit) - 1 && ngx_strncmp((s).data, lit, (s).len) == 0)


/* as metrics-server's codec factory lists them, less YAML (not served) */

static ngx_k8s_metrics_offer_t  ngx_k8s_metrics_offers[] = {
    { ngx_string("json"), NGX_K8S_METRICS_MEDIA_JSON },
    { ngx_string("vnd.kubernetes.protobuf"), NGX_K8S_METRICS_MEDIA_PROTOBUF },
};

static ngx_k8s_metrics_room_t  ngx_k8s_metrics_pb_bytes;
static ngx_k8s_metrics_room_t  ngx_k8s_metrics_pb_label_strs;
static ngx_k8s_metrics_room_t  ngx_k8s_metrics_pb_strs;
static ngx_k8s_metrics_room_t  ngx_k8s_metrics_pb_usage;
static ngx_k8s_metrics_room_t  ngx_k8s_metrics_pb_text;


/*
 * resource: the metrics paths (kube-apiserver's RequestScope: a Table of
 * meta.k8s.io v1 or v1beta1 in JSON, "sv=v1"); otherwise a Status
 * (DefaultEndpointRestrictions: no conversion, no server version).
 */

ngx_int_t
ngx_k8s_metrics_negotiate(ngx_http_request_t *r, ngx_flag_t resource,
    ngx_k8s_metrics_media_t *m)
{
    ngx_uint_t                 i, j, n;
    ngx_k8s_metrics_clause_t   clauses[NGX_K8S_METRICS_ACCEPT_MAX];

    ngx_memzero(m, sizeof(ngx_k8s_metrics_media_t));

    if (r->headers_in.accept == NULL || r->headers_in.accept->value.len == 0)
    {
        return NGX_OK;
    }

    n = ngx_k8s_metrics_parse_accept(&r->headers_in.accept->value, clauses);

    for (i = 0; i < n; i++) {
        for (j = 0; j < sizeof(ngx_k8s_metrics_offers)
                        / sizeof(ngx_k8s_metrics_offer_t); j++)
        {
            if (!ngx_k8s_metrics_clause_names(&clauses[i],
                                              &ngx_k8s_metrics_offers[j]))
            {
                continue;
            }

            if (ngx_k8s_metrics_accept_options(&clauses[i],
                                               &ngx_k8s_metrics_offers[j],
                                               resource, m))
            {
                ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "k8s metrics: accept \"%V/%V\": %s",
                               &clauses[i].type, &clauses[i].subtype,
                               m->type == NGX_K8S_METRICS_MEDIA_PROTOBUF
                               ? "protobuf" : "json");
                return NGX_OK;
            }
        }
    }

    return NGX_DECLINED;
}


/* goautoneg's ParseAccept; the clauses past the first 32 are not read */

static ngx_uint_t
ngx_k8s_metrics_parse_accept(ngx_str_t *header,
    ngx_k8s_metrics_clause_t *clauses)
{
    u_char                    *p, *end, *comma;
    ngx_str_t                  part;
    ngx_uint_t                 n, i, j;
    ngx_k8s_metrics_clause_t   c;

    n = 0;
    p = header->data;
    end = header->data + header->len;

    while (p <= end && n < NGX_K8S_METRICS_ACCEPT_MAX) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        part = ngx_k8s_metrics_trim(p, comma);
        p = comma + 1;

        if (ngx_k8s_metrics_parse_clause(&part, &clauses[n]) == NGX_OK) {
            n++;
        }
    }

    /* Go's insertion sort, with goautoneg's Less */

    for (i = 1; i < n; i++) {
        for (j = i;
             j > 0 && ngx_k8s_metrics_clause_before(&clauses[j],
                                                    &clauses[j - 1]);
             j--)
        {
            c = clauses[j];
            clauses[j] = clauses[j - 1];
            clauses[j - 1] = c;
        }
    }

    return n;
}


static ngx_int_t
ngx_k8s_metrics_parse_clause(ngx_str_t *part, ngx_k8s_metrics_clause_t *c)
{
    u_char     *semi, *slash, *end, *p;
    ngx_str_t   param;

    ngx_memzero(c, sizeof(ngx_k8s_metrics_clause_t));
    c->q = 1.0;

    end = part->data + part->len;

    semi = ngx_strlchr(part->data, end, ';');
    if (semi == NULL) {
        semi = end;
    }

    slash = ngx_strlchr(part->data, semi, '/');

    if (slash == NULL) {
        c->type = ngx_k8s_metrics_trim(part->data, semi);

        if (!ngx_k8s_metrics_str_is(c->type, "*")) {
            return NGX_DECLINED;
        }

        ngx_str_set(&c->subtype, "*");

    } else {
        if (ngx_strlchr(slash + 1, semi, '/') != NULL) {
            return NGX_DECLINED;
        }

        c->type = ngx_k8s_metrics_trim(part->data, slash);
        c->subtype = ngx_k8s_metrics_trim(slash + 1, semi);
    }

    while (semi < end) {
        p = semi + 1;

        semi = ngx_strlchr(p, end, ';');
        if (semi == NULL) {
            semi = end;
        }

        param.data = p;
        param.len = semi - p;

        ngx_k8s_metrics_clause_param(c, &param);
    }

    return NGX_OK;
}


/* "key=value": q, or a parameter (a later one of a key replaces it) */

static void
ngx_k8s_metrics_clause_param(ngx_k8s_metrics_clause_t *c, ngx_str_t *param)
{
    u_char      *eq;
    ngx_str_t    key, value;
    ngx_uint_t   i;

    eq = ngx_strlchr(param->data, param->data + param->len, '=');
    if (eq == NULL) {
        return;
    }

    key = ngx_k8s_metrics_trim(param->data, eq);

    if (ngx_k8s_metrics_str_is(key, "q")) {
        value.data = eq + 1;
        value.len = param->data + param->len - (eq + 1);
        c->q = ngx_k8s_metrics_parse_q(&value);
        return;
    }

    value = ngx_k8s_metrics_trim(eq + 1, param->data + param->len);

    for (i = 0; i < c->nparams; i++) {
        if (c->keys[i].len == key.len
            && ngx_strncmp(c->keys[i].data, key.data, key.len) == 0)
        {
            c->values[i] = value;
            return;
        }
    }

    if (c->nparams < NGX_K8S_METRICS_PARAMS_MAX) {
        c->keys[c->nparams] = key;
        c->values[c->nparams++] = value;
    }
}


/*
 * strconv.ParseFloat(v, 32) of the value as written (not trimmed): a
 * decimal number, else 0, as goautoneg keeps the 0 of a failed parse
 */

static double
ngx_k8s_metrics_parse_q(ngx_str_t *v)
{
    u_char      *p, *end, buf[32];
    ngx_uint_t   digits;

    if (v->len == 0 || v->len >= sizeof(buf)) {
        return 0;
    }

    p = v->data;
    end = v->data + v->len;
    digits = 0;

    if (*p == '+' || *p == '-') {
        p++;
    }

    while (p < end && *p >= '0' && *p <= '9') {
        p++;
        digits++;
    }

    if (p < end && *p == '.') {
        p++;

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }

    if (digits && p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return 0;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (digits == 0 || p != end) {
        return 0;
    }

    ngx_memcpy(buf, v->data, v->len);
    buf[v->len] = '\0';

    return (double) (float) strtod((char *) buf, NULL);
}


/* goautoneg's Less: not an order (a lower q with a type may come first) */

static ngx_flag_t
ngx_k8s_metrics_clause_before(ngx_k8s_metrics_clause_t *a,
    ngx_k8s_metrics_clause_t *b)
{
    if (a->q > b->q) {
        return 1;
    }

    if (!ngx_k8s_metrics_str_is(a->type, "*")
        && ngx_k8s_metrics_str_is(b->type, "*"))
    {
        return 1;
    }

    return !ngx_k8s_metrics_str_is(a->subtype, "*")
           && ngx_k8s_metrics_str_is(b->subtype, "*");
}


/* the clause names the offer: its type, "application" with "*", or "*" twice */

static ngx_flag_t
ngx_k8s_metrics_clause_names(ngx_k8s_metrics_clause_t *c,
    ngx_k8s_metrics_offer_t *offer)
{
    if (ngx_k8s_metrics_str_is(c->type, "*")) {
        return ngx_k8s_metrics_str_is(c->subtype, "*");
    }

    return ngx_k8s_metrics_str_is(c->type, "application")
           && (ngx_k8s_metrics_str_is(c->subtype, "*")
               || (c->subtype.len == offer->subtype.len
                   && ngx_strncmp(c->subtype.data, offer->subtype.data,
                                  c->subtype.len) == 0));
}


/*
 * acceptMediaTypeOptions: "as", "g", "v" ask for a conversion; "stream"
 * other than "watch" and "sv" other than the meta group's "v1" are
 * refused; "pretty=1"; other parameters are ignored.  The conversions:
 * a Table of meta.k8s.io v1 or v1beta1, in JSON (kube-apiserver offers
 * PartialObjectMetadata too: not served here, so refused).
 */

static ngx_flag_t
ngx_k8s_metrics_accept_options(ngx_k8s_metrics_clause_t *c,
    ngx_k8s_metrics_offer_t *offer, ngx_flag_t resource,
    ngx_k8s_metrics_media_t *m)
{
    ngx_str_t   *k, *v, as, group, version;
    ngx_uint_t   i, convert, pretty;

    convert = 0;
    pretty = 0;
    ngx_str_null(&as);
    ngx_str_null(&group);
    ngx_str_null(&version);

    for (i = 0; i < c->nparams; i++) {
        k = &c->keys[i];
        v = &c->values[i];

        if (ngx_k8s_metrics_str_is(*k, "as")) {
            as = *v;
            convert = 1;

        } else if (ngx_k8s_metrics_str_is(*k, "g")) {
            group = *v;
            convert = 1;

        } else if (ngx_k8s_metrics_str_is(*k, "v")) {
            version = *v;
            convert = 1;

        } else if (ngx_k8s_metrics_str_is(*k, "stream")) {
            if (v->len && !ngx_k8s_metrics_str_is(*v, "watch")) {
                return 0;
            }

        } else if (ngx_k8s_metrics_str_is(*k, "sv")) {
            if (v->len && !(resource && ngx_k8s_metrics_str_is(*v, "v1"))) {
                return 0;
            }

        } else if (ngx_k8s_metrics_str_is(*k, "pretty")) {
            pretty = ngx_k8s_metrics_str_is(*v, "1");
        }
    }

    if (convert) {
        if (!resource
            || !ngx_k8s_metrics_str_is(group, "meta.k8s.io")
            || !(ngx_k8s_metrics_str_is(version, "v1")
                 || ngx_k8s_metrics_str_is(version, "v1beta1"))
            || !ngx_k8s_metrics_str_is(as, "Table")
            || offer->type != NGX_K8S_METRICS_MEDIA_JSON)
        {
            return 0;
        }

        m->table = 1;
    }

    m->type = offer->type;
    m->pretty = pretty;

    return 1;
}


/* strings.Trim(s, " ") */

static ngx_str_t
ngx_k8s_metrics_trim(u_char *start, u_char *end)
{
    ngx_str_t  s;

    while (start < end && *start == ' ') {
        start++;
    }

    while (end > start && end[-1] == ' ') {
        end--;
    }

    s.data = start;
    s.len = end - start;

    return s;
}


/*
 * NodeMetrics: created now, as metrics-server stamps every object; swap
 * (k8s_metrics_swap on) where the kubelet reported it, after memory as the
 * map's keys sort
 */

void
ngx_k8s_metrics_pb_emit_node(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_snapshot_t *snap, ngx_k8s_metrics_snode_t *node,
    ngx_flag_t swap, time_t now, ngx_flag_t item)
{
    u_char                       text[3 * NGX_K8S_METRICS_QUANTITY_LEN];
    ngx_str_t                    res[6];
    ngx_k8s_metrics_pb_usage_t   usage;
    ngx_k8s_metrics_pb_object_t  o;

    ngx_memzero(&o, sizeof(ngx_k8s_metrics_pb_object_t));

    ngx_k8s_metrics_sstr(snap, node->name, &o.name);
    o.nlabels = node->nlabels;
    o.labels = ngx_k8s_metrics_pb_labels(e, snap, node->first_label,
                                         node->nlabels);
    o.created = now;
    o.timestamp = (time_t) (node->last.time / 1000);
    o.window = (node->last.time - node->prev.time) * 1000000;

    ngx_str_null(&usage.name);
    usage.resources = res;
    usage.nresources = ngx_k8s_metrics_pb_resource_list(res, text,
                           ngx_k8s_metrics_cpu_rate(&node->last, &node->prev),
                           node->memory,
                           (swap && node->has_swap) ? &node->swap : NULL);

    o.usage = &usage;
    o.nusage = 1;

    if (o.labels || o.nlabels == 0) {
        ngx_k8s_metrics_pb_emit_object(e, &o, item);
    }
}


/* PodMetrics: last and prev, the pod's window (resources_object.c) */

void
ngx_k8s_metrics_pb_emit_pod(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_snapshot_t *snap, ngx_k8s_metrics_spod_t *pod,
    ngx_k8s_metrics_point_t *last, ngx_k8s_metrics_point_t *prev,
    ngx_flag_t swap, time_t now, ngx_flag_t item)
{
    u_char                        *text;
    ngx_str_t                     *res;
    ngx_uint_t                     i;
    ngx_k8s_metrics_pb_usage_t    *usage;
    ngx_k8s_metrics_pb_object_t    o;
    ngx_k8s_metrics_scontainer_t  *c;

    ngx_memzero(&o, sizeof(ngx_k8s_metrics_pb_object_t));

    ngx_k8s_metrics_sstr(snap, pod->name, &o.name);
    ngx_k8s_metrics_sstr(snap, pod->namespace, &o.namespace);
    o.nlabels = pod->nlabels;
    o.labels = ngx_k8s_metrics_pb_labels(e, snap, pod->first_label,
                                         pod->nlabels);
    o.created = now;
    o.timestamp = (time_t) (last->time / 1000);
    o.window = (last->time - prev->time) * 1000000;
    o.pod = 1;
    o.nusage = pod->ncontainers;

    usage = ngx_k8s_metrics_room(&ngx_k8s_metrics_pb_usage,
                       pod->ncontainers * sizeof(ngx_k8s_metrics_pb_usage_t),
                       e);
    res = ngx_k8s_metrics_room(&ngx_k8s_metrics_pb_strs,
                               pod->ncontainers * 6 * sizeof(ngx_str_t), e);
    text = ngx_k8s_metrics_room(&ngx_k8s_metrics_pb_text,
                            pod->ncontainers * 3 * NGX_K8S_METRICS_QUANTITY_LEN,
                            e);

    if ((o.labels == NULL && o.nlabels) || usage == NULL || res == NULL
        || text == NULL)
    {
        return;
    }

    c = &snap->containers[pod->first_container];

    for (i = 0; i < pod->ncontainers; i++) {
        ngx_k8s_metrics_sstr(snap, c[i].name, &usage[i].name);
        usage[i].resources = &res[6 * i];
        usage[i].nresources = ngx_k8s_metrics_pb_resource_list(&res[6 * i],
                                  &text[3 * i * NGX_K8S_METRICS_QUANTITY_LEN],
                                  ngx_k8s_metrics_cpu_rate(&c[i].last,
                                                           &c[i].prev),
                                  c[i].memory,
                                  (swap && c[i].has_swap) ? &c[i].swap : NULL);
    }

    o.usage = usage;

    ngx_k8s_metrics_pb_emit_object(e, &o, item);
}


/*
 * A usage ResourceList: cpu, memory and, when given, swap (the order the
 * map's keys sort in); text holds 3 quantities.  Returns the pairs written.
 */

static ngx_uint_t
ngx_k8s_metrics_pb_resource_list(ngx_str_t *res, u_char *text, uint64_t cpu,
    uint64_t memory, uint64_t *swap)
{
    ngx_str_set(&res[0], "cpu");
    res[1].data = text;
    text = ngx_k8s_metrics_format_cpu(text, cpu);
    res[1].len = text - res[1].data;

    ngx_str_set(&res[2], "memory");
    res[3].data = text;
    text = ngx_k8s_metrics_format_memory(text, memory);
    res[3].len = text - res[3].data;

    if (swap == NULL) {
        return 2;
    }

    ngx_str_set(&res[4], "swap");
    res[5].data = text;
    text = ngx_k8s_metrics_format_memory(text, *swap);
    res[5].len = text - res[5].data;

    return 3;
}


/*
 * One object, or an item of a list (its tag and length first); the offset
 * of its creationTimestamp in the output recorded as emit_stamp() does
 * (pb_send() moves them past the head).
 */

static void
ngx_k8s_metrics_pb_emit_object(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_pb_object_t *o, ngx_flag_t item)
{
    u_char  *buf, *p;
    size_t   size, total, head, stamp, *offset;

    size = ngx_k8s_metrics_pb_object_size(o);
    total = size + (item ? ngx_k8s_metrics_pb_item_size(size) : 0);

    buf = ngx_k8s_metrics_room(&ngx_k8s_metrics_pb_bytes, total, e);
    if (buf == NULL) {
        return;
    }

    p = item ? ngx_k8s_metrics_pb_item(buf, size) : buf;
    head = p - buf;

    (void) ngx_k8s_metrics_pb_object(p, o, &stamp);

    if (e->stamps) {
        offset = ngx_array_push(e->stamps);

        if (offset == NULL) {
            e->stamps = NULL;

        } else {
            *offset = e->size + head + stamp;
        }
    }

    ngx_k8s_metrics_emit_raw((char *) buf, total, e);
}


/* the labels as key, value pairs (sorted by key in the snapshot) */

static ngx_str_t *
ngx_k8s_metrics_pb_labels(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_snapshot_t *snap, uint32_t first, uint32_t n)
{
    ngx_str_t                 *labels;
    ngx_uint_t                 i;
    ngx_k8s_metrics_slabel_t  *l;

    if (n == 0) {
        return NULL;
    }

    labels = ngx_k8s_metrics_room(&ngx_k8s_metrics_pb_label_strs,
                                  2 * n * sizeof(ngx_str_t), e);
    if (labels == NULL) {
        return NULL;
    }

    l = &snap->labels[first];

    for (i = 0; i < n; i++) {
        ngx_k8s_metrics_sstr(snap, l[i].key, &labels[2 * i]);
        ngx_k8s_metrics_sstr(snap, l[i].value, &labels[2 * i + 1]);
    }

    return labels;
}


/*
 * A worker's scratch space, grown to the largest object seen; failing to
 * grow fails the output (e->failed: a 500, as any allocation of emit.c)
 */

static void *
ngx_k8s_metrics_room(ngx_k8s_metrics_room_t *room, size_t size,
    ngx_k8s_metrics_emit_t *e)
{
    void  *data;

    if (size <= room->size) {
        return room->data;
    }

    size = ngx_max(size, 2 * room->size);

    data = ngx_alloc(size, ngx_cycle->log);
    if (data == NULL) {
        e->failed = 1;
        return NULL;
    }

    if (room->data) {
        ngx_free(room->data);
    }

    room->data = data;
    room->size = size;

    return data;
}


/*
 * The answer framed, then ended by the caller (send.c's emit_end()):
 * "k8s\0", runtime.Unknown's typeMeta and raw's tag and length (and a
 * list's ListMeta) in a buffer put before the objects written,
 * contentEncoding and contentType after them; the stamps recorded moved
 * past the head.
 */

ngx_int_t
ngx_k8s_metrics_pb_frame(ngx_http_request_t *r, ngx_k8s_metrics_emit_t *e,
    const char *api_version, const char *kind, ngx_flag_t list)
{
    u_char       *p, tail[NGX_K8S_METRICS_PB_TAIL_LEN];
    size_t        raw, head, *stamps;
    ngx_str_t     av, k;
    ngx_buf_t    *b;
    ngx_uint_t    i;
    ngx_chain_t  *cl;

    if (e->failed) {
        return NGX_ERROR;
    }

    av.data = (u_char *) api_version;
    av.len = ngx_strlen(api_version);
    k.data = (u_char *) kind;
    k.len = ngx_strlen(kind);

    raw = e->size + (list ? ngx_k8s_metrics_pb_list_meta_size() : 0);
    head = ngx_k8s_metrics_pb_head_size(&av, &k, raw)
           + (list ? ngx_k8s_metrics_pb_list_meta_size() : 0);

    b = ngx_create_temp_buf(r->pool, head);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    p = ngx_k8s_metrics_pb_head(b->last, &av, &k, raw);

    if (list) {
        p = ngx_k8s_metrics_pb_list_meta(p);
    }

    b->last = p;

    /* the tail first: with no object written, emit_raw() starts the chain */

    e->binary = 1;
    ngx_k8s_metrics_emit_raw((char *) tail,
                             ngx_k8s_metrics_pb_tail(tail) - tail, e);

    if (e->failed) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = e->out;
    e->out = cl;
    e->size += head;

    if (e->stamps) {
        stamps = e->stamps->elts;

        for (i = 0; i < e->stamps->nelts; i++) {
            stamps[i] += head;
        }
    }

    return NGX_OK;
}
