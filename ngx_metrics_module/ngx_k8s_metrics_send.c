
/*
 * ngx_metrics_module: the response writers: a JSON body built with jansson
 * or written by the emitter, text, and the choices they read from the
 * request (?pretty).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_emit.h"
#include "ngx_k8s_metrics_protobuf.h"


static ngx_str_t  ngx_k8s_metrics_json_type = ngx_string("application/json");
static ngx_str_t  ngx_k8s_metrics_pb_type = ngx_string(NGX_K8S_METRICS_PB_TYPE);
static ngx_str_t  ngx_k8s_metrics_nosniff = ngx_string("nosniff");


ngx_int_t
ngx_k8s_metrics_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body)
{
    return ngx_k8s_metrics_send_json_typed(r, status, body,
                                           &ngx_k8s_metrics_json_type);
}


/* a body built with jansson, of the given Content-Type */

ngx_int_t
ngx_k8s_metrics_send_json_typed(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body, ngx_str_t *type)
{
    int                     rc;
    ngx_k8s_metrics_emit_t  e;

    if (body == NULL) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "k8s metrics: cannot build a JSON body");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_k8s_metrics_emit_init(&e, r->pool, ngx_k8s_metrics_pretty(r));

    rc = json_dump_callback(body, ngx_k8s_metrics_emit_raw, &e,
                            e.pretty ? JSON_INDENT(2)|JSON_PRESERVE_ORDER
                                     : JSON_COMPACT|JSON_PRESERVE_ORDER);
    json_decref(body);

    if (rc != 0 || ngx_k8s_metrics_emit_end(r, &e) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_k8s_metrics_send_chain(r, status, e.out, e.size, type);
}


/*
 * a body written by the caller (resources_object.c, status.c), ended: JSON, or
 * protobuf when it is binary (media.c)
 */

ngx_int_t
ngx_k8s_metrics_send_emitted(ngx_http_request_t *r, ngx_uint_t status,
    ngx_k8s_metrics_emit_t *e)
{
    return ngx_k8s_metrics_send_chain(r, status, e->out, e->size,
                                      ngx_k8s_metrics_body_type(e->binary));
}


/* the Content-Type of a body written by the emitter */

ngx_str_t *
ngx_k8s_metrics_body_type(ngx_uint_t binary)
{
    return binary ? &ngx_k8s_metrics_pb_type : &ngx_k8s_metrics_json_type;
}


/* the body complete, as Go's json.Encoder ends it; NGX_ERROR: not written */

ngx_int_t
ngx_k8s_metrics_emit_end(ngx_http_request_t *r, ngx_k8s_metrics_emit_t *e)
{
    /* Go's json.Encoder ends a compact document with a newline */

    if (!e->pretty && !e->binary) {
        ngx_k8s_metrics_emit_raw("\n", 1, e);
    }

    if (e->failed || e->buf == NULL) {
        return NGX_ERROR;
    }

    e->buf->last_buf = (r == r->main) ? 1 : 0;
    e->buf->last_in_chain = 1;

    return NGX_OK;
}


/* headers, then the chain; type NULL: application/json */

ngx_int_t
ngx_k8s_metrics_send_chain(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out, size_t size, ngx_str_t *type)
{
    ngx_int_t  rc;

    if (type == NULL) {
        type = &ngx_k8s_metrics_json_type;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = size;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/* the true values of Go's strconv.ParseBool */

ngx_flag_t
ngx_k8s_metrics_parse_bool(ngx_str_t *value)
{
    static ngx_str_t  truth[] = {
        ngx_string("1"), ngx_string("t"), ngx_string("T"),
        ngx_string("true"), ngx_string("TRUE"), ngx_string("True"),
        ngx_null_string
    };

    ngx_str_t  *t;

    for (t = truth; t->len; t++) {
        if (t->len == value->len
            && ngx_strncmp(t->data, value->data, value->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * As Kubernetes' content negotiation: indented for ?pretty=true and for
 * clients that are people (curl, Wget, browsers), unless ?pretty=false.
 */

ngx_flag_t
ngx_k8s_metrics_pretty(ngx_http_request_t *r)
{
    ngx_str_t  *ua, value;

    if (ngx_http_arg(r, (u_char *) "pretty", 6, &value) == NGX_OK) {
        return ngx_k8s_metrics_parse_bool(&value);
    }

    if (r->headers_in.user_agent == NULL) {
        return 0;
    }

    ua = &r->headers_in.user_agent->value;

    return (ua->len >= 4 && ngx_strncmp(ua->data, "curl", 4) == 0)
           || (ua->len >= 4 && ngx_strncmp(ua->data, "Wget", 4) == 0)
           || (ua->len >= 11 && ngx_strncmp(ua->data, "Mozilla/5.0", 11) == 0);
}


ngx_int_t
ngx_k8s_metrics_send_text(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *text)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (ngx_k8s_metrics_add_nosniff(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = text->data;
    b->last = text->data + text->len;
    b->memory = text->len ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_k8s_metrics_send_chain(r, status, &out, text->len, type);
}


ngx_int_t
ngx_k8s_metrics_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return NGX_OK;
}


/* a body the client must not read as another type than it is said */

ngx_int_t
ngx_k8s_metrics_add_nosniff(ngx_http_request_t *r)
{
    return ngx_k8s_metrics_add_header(r, "X-Content-Type-Options",
                                      &ngx_k8s_metrics_nosniff);
}
