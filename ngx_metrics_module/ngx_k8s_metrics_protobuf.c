
/*
 * ngx_metrics_module: the protobuf encoder (see ngx_k8s_metrics_protobuf.h).
 *
 * The messages and field numbers: k8s.io/metrics
 * pkg/apis/metrics/v1beta1/generated.proto, and apimachinery's ObjectMeta,
 * ListMeta, Time (seconds and nanos; metav1.Time sends whole seconds),
 * Duration (int64 nanoseconds), Quantity (its canonical string), Status,
 * StatusDetails, StatusCause and runtime.Unknown.
 */


#include "ngx_k8s_metrics_protobuf.h"


/* wire types */
#define NGX_K8S_PB_VARINT   0
#define NGX_K8S_PB_BYTES    2

#define ngx_k8s_pb_tag(field, type)  (u_char) (((field) << 3) | (type))


static size_t ngx_k8s_metrics_pb_bytes_size(size_t len);
static u_char *ngx_k8s_metrics_pb_bytes(u_char *p, ngx_uint_t field,
    u_char *data, size_t len);
static u_char *ngx_k8s_metrics_pb_open(u_char *p, ngx_uint_t field,
    size_t len);
static u_char *ngx_k8s_metrics_pb_int(u_char *p, ngx_uint_t field,
    uint64_t v);
static size_t ngx_k8s_metrics_pb_time_size(time_t t);
static u_char *ngx_k8s_metrics_pb_time(u_char *p, ngx_uint_t field, time_t t,
    u_char **stamp);
static size_t ngx_k8s_metrics_pb_meta_size(ngx_k8s_metrics_pb_object_t *o);
static u_char *ngx_k8s_metrics_pb_meta(u_char *p,
    ngx_k8s_metrics_pb_object_t *o, u_char **stamp);
static size_t ngx_k8s_metrics_pb_pair_size(ngx_str_t *pair,
    ngx_flag_t quantity);
static u_char *ngx_k8s_metrics_pb_pair(u_char *p, ngx_uint_t field,
    ngx_str_t *pair, ngx_flag_t quantity);
static size_t ngx_k8s_metrics_pb_resources_size(
    ngx_k8s_metrics_pb_usage_t *u);
static u_char *ngx_k8s_metrics_pb_resources(u_char *p, ngx_uint_t field,
    ngx_k8s_metrics_pb_usage_t *u);
static size_t ngx_k8s_metrics_pb_container_size(
    ngx_k8s_metrics_pb_usage_t *u);
static size_t ngx_k8s_metrics_pb_details_size(ngx_k8s_metrics_pb_status_t *s);
static size_t ngx_k8s_metrics_pb_type_meta_size(ngx_str_t *api_version,
    ngx_str_t *kind);


static u_char  ngx_k8s_metrics_pb_magic[] = { 'k', '8', 's', 0 };


size_t
ngx_k8s_metrics_pb_varint_len(uint64_t v)
{
    size_t  n;

    for (n = 1; v >= 0x80; n++) {
        v >>= 7;
    }

    return n;
}


u_char *
ngx_k8s_metrics_pb_varint(u_char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (u_char) (v | 0x80);
        v >>= 7;
    }

    *p++ = (u_char) v;

    return p;
}


/* a length-delimited field of len bytes, its tag and length included */

static size_t
ngx_k8s_metrics_pb_bytes_size(size_t len)
{
    return 1 + ngx_k8s_metrics_pb_varint_len(len) + len;
}


static u_char *
ngx_k8s_metrics_pb_bytes(u_char *p, ngx_uint_t field, u_char *data,
    size_t len)
{
    p = ngx_k8s_metrics_pb_open(p, field, len);

    /* no memcpy() from the NULL of an empty string */

    return len ? ngx_cpymem(p, data, len) : p;
}


/* the tag and length of a message field; its bytes follow */

static u_char *
ngx_k8s_metrics_pb_open(u_char *p, ngx_uint_t field, size_t len)
{
    *p++ = ngx_k8s_pb_tag(field, NGX_K8S_PB_BYTES);

    return ngx_k8s_metrics_pb_varint(p, len);
}


static u_char *
ngx_k8s_metrics_pb_int(u_char *p, ngx_uint_t field, uint64_t v)
{
    *p++ = ngx_k8s_pb_tag(field, NGX_K8S_PB_VARINT);

    return ngx_k8s_metrics_pb_varint(p, v);
}


/* metav1.Time: {seconds = 1, nanos = 2}, nanos always 0 */

static size_t
ngx_k8s_metrics_pb_time_size(time_t t)
{
    return 1 + ngx_k8s_metrics_pb_varint_len((uint64_t) t) + 2;
}


static u_char *
ngx_k8s_metrics_pb_time(u_char *p, ngx_uint_t field, time_t t, u_char **stamp)
{
    p = ngx_k8s_metrics_pb_open(p, field, ngx_k8s_metrics_pb_time_size(t));

    *p++ = ngx_k8s_pb_tag(1, NGX_K8S_PB_VARINT);

    if (stamp) {
        *stamp = p;
    }

    p = ngx_k8s_metrics_pb_varint(p, (uint64_t) t);

    return ngx_k8s_metrics_pb_int(p, 2, 0);
}


/*
 * NodeMetrics {metadata 1, timestamp 2, window 3, usage 4} and
 * PodMetrics {metadata 1, timestamp 2, window 3, containers 4}
 */

size_t
ngx_k8s_metrics_pb_object_size(ngx_k8s_metrics_pb_object_t *o)
{
    size_t      size;
    ngx_uint_t  i;

    size = ngx_k8s_metrics_pb_bytes_size(ngx_k8s_metrics_pb_meta_size(o))
           + ngx_k8s_metrics_pb_bytes_size(
                 ngx_k8s_metrics_pb_time_size(o->timestamp))
           + ngx_k8s_metrics_pb_bytes_size(
                 1 + ngx_k8s_metrics_pb_varint_len((uint64_t) o->window));

    if (!o->pod) {
        return size + ngx_k8s_metrics_pb_resources_size(&o->usage[0]);
    }

    for (i = 0; i < o->nusage; i++) {
        size += ngx_k8s_metrics_pb_bytes_size(
                    ngx_k8s_metrics_pb_container_size(&o->usage[i]));
    }

    return size;
}


/*
 * *stamp: the offset from p of the varint of the creationTimestamp's
 * seconds (a kept rendering is restamped there)
 */

u_char *
ngx_k8s_metrics_pb_object(u_char *p, ngx_k8s_metrics_pb_object_t *o,
    size_t *stamp)
{
    u_char      *start, *at;
    ngx_uint_t   i;

    start = p;

    p = ngx_k8s_metrics_pb_open(p, 1, ngx_k8s_metrics_pb_meta_size(o));
    p = ngx_k8s_metrics_pb_meta(p, o, &at);

    *stamp = at - start;

    p = ngx_k8s_metrics_pb_time(p, 2, o->timestamp, NULL);

    p = ngx_k8s_metrics_pb_open(p, 3,
            1 + ngx_k8s_metrics_pb_varint_len((uint64_t) o->window));
    p = ngx_k8s_metrics_pb_int(p, 1, (uint64_t) o->window);

    if (!o->pod) {
        return ngx_k8s_metrics_pb_resources(p, 4, &o->usage[0]);
    }

    for (i = 0; i < o->nusage; i++) {
        p = ngx_k8s_metrics_pb_open(p, 4,
                ngx_k8s_metrics_pb_container_size(&o->usage[i]));
        p = ngx_k8s_metrics_pb_bytes(p, 1, o->usage[i].name.data,
                                     o->usage[i].name.len);
        p = ngx_k8s_metrics_pb_resources(p, 2, &o->usage[i]);
    }

    return p;
}


/*
 * ObjectMeta: name 1, generateName 2, namespace 3, selfLink 4, uid 5,
 * resourceVersion 6, generation 7, creationTimestamp 8, labels 11
 */

static size_t
ngx_k8s_metrics_pb_meta_size(ngx_k8s_metrics_pb_object_t *o)
{
    size_t      size;
    ngx_uint_t  i;

    size = ngx_k8s_metrics_pb_bytes_size(o->name.len)
           + ngx_k8s_metrics_pb_bytes_size(o->namespace.len)
           + 4 * 2                              /* empty strings */
           + 2                                  /* generation 0 */
           + ngx_k8s_metrics_pb_bytes_size(
                 ngx_k8s_metrics_pb_time_size(o->created));

    for (i = 0; i < o->nlabels; i++) {
        size += ngx_k8s_metrics_pb_pair_size(&o->labels[2 * i], 0);
    }

    return size;
}


static u_char *
ngx_k8s_metrics_pb_meta(u_char *p, ngx_k8s_metrics_pb_object_t *o,
    u_char **stamp)
{
    ngx_uint_t  i;

    p = ngx_k8s_metrics_pb_bytes(p, 1, o->name.data, o->name.len);
    p = ngx_k8s_metrics_pb_bytes(p, 2, NULL, 0);
    p = ngx_k8s_metrics_pb_bytes(p, 3, o->namespace.data, o->namespace.len);
    p = ngx_k8s_metrics_pb_bytes(p, 4, NULL, 0);
    p = ngx_k8s_metrics_pb_bytes(p, 5, NULL, 0);
    p = ngx_k8s_metrics_pb_bytes(p, 6, NULL, 0);
    p = ngx_k8s_metrics_pb_int(p, 7, 0);
    p = ngx_k8s_metrics_pb_time(p, 8, o->created, stamp);

    for (i = 0; i < o->nlabels; i++) {
        p = ngx_k8s_metrics_pb_pair(p, 11, &o->labels[2 * i], 0);
    }

    return p;
}


/*
 * A map entry {key 1, value 2}: a string, or a Quantity {string 1}
 */

static size_t
ngx_k8s_metrics_pb_pair_size(ngx_str_t *pair, ngx_flag_t quantity)
{
    size_t  value;

    value = ngx_k8s_metrics_pb_bytes_size(pair[1].len);

    if (quantity) {
        value = ngx_k8s_metrics_pb_bytes_size(value);
    }

    return ngx_k8s_metrics_pb_bytes_size(
               ngx_k8s_metrics_pb_bytes_size(pair[0].len) + value);
}


static u_char *
ngx_k8s_metrics_pb_pair(u_char *p, ngx_uint_t field, ngx_str_t *pair,
    ngx_flag_t quantity)
{
    size_t  value;

    value = ngx_k8s_metrics_pb_bytes_size(pair[1].len);

    p = ngx_k8s_metrics_pb_open(p, field,
            ngx_k8s_metrics_pb_bytes_size(pair[0].len)
            + (quantity ? ngx_k8s_metrics_pb_bytes_size(value) : value));

    p = ngx_k8s_metrics_pb_bytes(p, 1, pair[0].data, pair[0].len);

    if (quantity) {
        p = ngx_k8s_metrics_pb_open(p, 2, value);
        return ngx_k8s_metrics_pb_bytes(p, 1, pair[1].data, pair[1].len);
    }

    return ngx_k8s_metrics_pb_bytes(p, 2, pair[1].data, pair[1].len);
}


static size_t
ngx_k8s_metrics_pb_resources_size(ngx_k8s_metrics_pb_usage_t *u)
{
    size_t      size;
    ngx_uint_t  i;

    size = 0;

    for (i = 0; i < u->nresources; i++) {
        size += ngx_k8s_metrics_pb_pair_size(&u->resources[2 * i], 1);
    }

    return size;
}


static u_char *
ngx_k8s_metrics_pb_resources(u_char *p, ngx_uint_t field,
    ngx_k8s_metrics_pb_usage_t *u)
{
    ngx_uint_t  i;

    for (i = 0; i < u->nresources; i++) {
        p = ngx_k8s_metrics_pb_pair(p, field, &u->resources[2 * i], 1);
    }

    return p;
}


/* ContainerMetrics {name 1, usage 2} */

static size_t
ngx_k8s_metrics_pb_container_size(ngx_k8s_metrics_pb_usage_t *u)
{
    return ngx_k8s_metrics_pb_bytes_size(u->name.len)
           + ngx_k8s_metrics_pb_resources_size(u);
}


/*
 * Status {metadata 1 (ListMeta), status 2, message 3, reason 4,
 * details 5, code 6}; StatusDetails {name 1, group 2, kind 3, causes 4,
 * retryAfterSeconds 5, uid 6}; StatusCause {reason 1, message 2, field 3}
 */

size_t
ngx_k8s_metrics_pb_status_size(ngx_k8s_metrics_pb_status_t *s)
{
    size_t  size;

    size = ngx_k8s_metrics_pb_list_meta_size()
           + ngx_k8s_metrics_pb_bytes_size(s->status.len)
           + ngx_k8s_metrics_pb_bytes_size(s->message.len)
           + ngx_k8s_metrics_pb_bytes_size(s->reason.len)
           + 1 + ngx_k8s_metrics_pb_varint_len((uint64_t) s->code);

    if (s->has_details) {
        size += ngx_k8s_metrics_pb_bytes_size(
                    ngx_k8s_metrics_pb_details_size(s));
    }

    return size;
}


u_char *
ngx_k8s_metrics_pb_status(u_char *p, ngx_k8s_metrics_pb_status_t *s)
{
    ngx_uint_t  i;

    p = ngx_k8s_metrics_pb_list_meta(p);
    p = ngx_k8s_metrics_pb_bytes(p, 2, s->status.data, s->status.len);
    p = ngx_k8s_metrics_pb_bytes(p, 3, s->message.data, s->message.len);
    p = ngx_k8s_metrics_pb_bytes(p, 4, s->reason.data, s->reason.len);

    if (s->has_details) {
        p = ngx_k8s_metrics_pb_open(p, 5, ngx_k8s_metrics_pb_details_size(s));
        p = ngx_k8s_metrics_pb_bytes(p, 1, s->name.data, s->name.len);
        p = ngx_k8s_metrics_pb_bytes(p, 2, s->group.data, s->group.len);
        p = ngx_k8s_metrics_pb_bytes(p, 3, s->kind.data, s->kind.len);

        for (i = 0; i < s->ncauses; i++) {
            p = ngx_k8s_metrics_pb_open(p, 4, 2 + 2
                    + ngx_k8s_metrics_pb_bytes_size(s->causes[i].len));
            p = ngx_k8s_metrics_pb_bytes(p, 1, NULL, 0);
            p = ngx_k8s_metrics_pb_bytes(p, 2, s->causes[i].data,
                                         s->causes[i].len);
            p = ngx_k8s_metrics_pb_bytes(p, 3, NULL, 0);
        }

        p = ngx_k8s_metrics_pb_int(p, 5, 0);
        p = ngx_k8s_metrics_pb_bytes(p, 6, NULL, 0);
    }

    /* an int32: a negative one would take ten bytes, as Go writes it */

    return ngx_k8s_metrics_pb_int(p, 6, (uint64_t) (int64_t) s->code);
}


static size_t
ngx_k8s_metrics_pb_details_size(ngx_k8s_metrics_pb_status_t *s)
{
    size_t      size;
    ngx_uint_t  i;

    size = ngx_k8s_metrics_pb_bytes_size(s->name.len)
           + ngx_k8s_metrics_pb_bytes_size(s->group.len)
           + ngx_k8s_metrics_pb_bytes_size(s->kind.len)
           + 2 + 2;                             /* retryAfterSeconds, uid */

    for (i = 0; i < s->ncauses; i++) {
        size += ngx_k8s_metrics_pb_bytes_size(2 + 2
                    + ngx_k8s_metrics_pb_bytes_size(s->causes[i].len));
    }

    return size;
}


/*
 * The metadata of a list or of a Status (field 1): ListMeta {selfLink 1,
 * resourceVersion 2, continue 3}, all empty
 */

size_t
ngx_k8s_metrics_pb_list_meta_size(void)
{
    return 2 + 3 * 2;
}


u_char *
ngx_k8s_metrics_pb_list_meta(u_char *p)
{
    p = ngx_k8s_metrics_pb_open(p, 1, 3 * 2);
    p = ngx_k8s_metrics_pb_bytes(p, 1, NULL, 0);
    p = ngx_k8s_metrics_pb_bytes(p, 2, NULL, 0);

    return ngx_k8s_metrics_pb_bytes(p, 3, NULL, 0);
}


/* an item of a list (items 2): its tag and length; the object follows */

size_t
ngx_k8s_metrics_pb_item_size(size_t len)
{
    return 1 + ngx_k8s_metrics_pb_varint_len(len);
}


u_char *
ngx_k8s_metrics_pb_item(u_char *p, size_t len)
{
    return ngx_k8s_metrics_pb_open(p, 2, len);
}


/*
 * What precedes the object: "k8s\0", then runtime.Unknown {typeMeta 1
 * {apiVersion 1, kind 2}, raw 2, contentEncoding 3, contentType 4} up to
 * raw's length; the tail writes contentEncoding and contentType empty.
 */

size_t
ngx_k8s_metrics_pb_head_size(ngx_str_t *api_version, ngx_str_t *kind,
    size_t raw)
{
    return sizeof(ngx_k8s_metrics_pb_magic)
           + ngx_k8s_metrics_pb_bytes_size(
                 ngx_k8s_metrics_pb_type_meta_size(api_version, kind))
           + 1 + ngx_k8s_metrics_pb_varint_len(raw);
}


u_char *
ngx_k8s_metrics_pb_head(u_char *p, ngx_str_t *api_version, ngx_str_t *kind,
    size_t raw)
{
    p = ngx_cpymem(p, ngx_k8s_metrics_pb_magic,
                   sizeof(ngx_k8s_metrics_pb_magic));

    p = ngx_k8s_metrics_pb_open(p, 1,
            ngx_k8s_metrics_pb_type_meta_size(api_version, kind));
    p = ngx_k8s_metrics_pb_bytes(p, 1, api_version->data, api_version->len);
    p = ngx_k8s_metrics_pb_bytes(p, 2, kind->data, kind->len);

    return ngx_k8s_metrics_pb_open(p, 2, raw);
}


u_char *
ngx_k8s_metrics_pb_tail(u_char *p)
{
    p = ngx_k8s_metrics_pb_bytes(p, 3, NULL, 0);

    return ngx_k8s_metrics_pb_bytes(p, 4, NULL, 0);
}


static size_t
ngx_k8s_metrics_pb_type_meta_size(ngx_str_t *api_version, ngx_str_t *kind)
{
    return ngx_k8s_metrics_pb_bytes_size(api_version->len)
           + ngx_k8s_metrics_pb_bytes_size(kind->len);
}
