
/*
 * ngx_metrics_module: list and watch, as client-go's reflector does: a
 * paginated list gives the state and its resourceVersion, a watch from
 * there gives the changes (bookmarks move the resourceVersion on), a watch
 * that ends is started again from where it was, and "410 Gone" (the
 * version is too old) starts over with a list.  Failures retry with an
 * exponential backoff; every failure is logged with what was asked and
 * what came back.  A metadata informer asks for the forms client-go's
 * metadata client asks for: PartialObjectMetadataList on a list,
 * PartialObjectMetadata on a watch.
 */


#include "ngx_k8s_metrics.h"


#define NGX_K8S_METRICS_LIST_LIMIT      500
#define NGX_K8S_METRICS_WATCH_SECONDS   300
#define NGX_K8S_METRICS_BACKOFF_MIN     500
#define NGX_K8S_METRICS_BACKOFF_MAX     30000

/*
 * A watch that ends within 1 s without an event (client-go's "very short
 * watch") is a failure.  kube-apiserver ends watches so when it shuts down
 * (a watch again from the same resourceVersion is right, and costs
 * nothing), and when it cannot encode the next event for the form asked:
 * it closes the stream before that event, every watch from there ends the
 * same way, and only a list gets past it.  client-go lists again at the
 * first; two watches again, 0.5 s and 1 s apart, let a restart pass
 * without a list of every pod.
 */
#define NGX_K8S_METRICS_EMPTY_WATCHES   3

/* client-go's metadata client's, without protobuf */
#define NGX_K8S_METRICS_ACCEPT_METADATA_LIST                                  \
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"       \
    "application/json"
#define NGX_K8S_METRICS_ACCEPT_METADATA                                       \
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,"           \
    "application/json"


static void ngx_k8s_metrics_informer_list(ngx_k8s_metrics_informer_t *inf);
static void ngx_k8s_metrics_informer_listed(ngx_k8s_metrics_call_t *call);
static void ngx_k8s_metrics_informer_watch(ngx_k8s_metrics_informer_t *inf);
static ngx_int_t ngx_k8s_metrics_informer_event(ngx_k8s_metrics_call_t *call,
    u_char *line, size_t len);
static void ngx_k8s_metrics_informer_watched(ngx_k8s_metrics_call_t *call);
static void ngx_k8s_metrics_informer_retry(ngx_k8s_metrics_informer_t *inf,
    ngx_uint_t relist);
static void ngx_k8s_metrics_informer_timer(ngx_event_t *ev);
static void ngx_k8s_metrics_informer_set_rv(ngx_k8s_metrics_informer_t *inf,
    json_t *object);


void
ngx_k8s_metrics_informer_start(ngx_k8s_metrics_informer_t *inf)
{
    inf->retry.handler = ngx_k8s_metrics_informer_timer;
    inf->retry.data = inf;
    inf->retry.log = inf->api->log;
    inf->retry.cancelable = 1;

    ngx_k8s_metrics_informer_list(inf);
}


void
ngx_k8s_metrics_informer_stop(ngx_k8s_metrics_informer_t *inf)
{
    if (inf->retry.timer_set) {
        ngx_del_timer(&inf->retry);
    }

    if (inf->call) {
        ngx_k8s_metrics_api_cancel(inf->call);
        inf->call = NULL;
    }

    if (inf->cont) {
        ngx_free(inf->cont);
        inf->cont = NULL;
    }
}


static void
ngx_k8s_metrics_informer_list(ngx_k8s_metrics_informer_t *inf)
{
    u_char     *p;
    ngx_str_t   path;
    u_char      buf[4096];

    p = ngx_snprintf(buf, sizeof(buf), "%V?limit=%d%s%V", &inf->path,
                     NGX_K8S_METRICS_LIST_LIMIT,
                     inf->query.len ? "&" : "", &inf->query);

    if (inf->cont) {
        p = ngx_snprintf(p, buf + sizeof(buf) - p, "&continue=%s", inf->cont);
    }

    path.data = buf;
    path.len = p - buf;

    inf->listing = 1;

    inf->call = ngx_k8s_metrics_api_call(inf->api, "GET", &path, NULL,
                                         inf->metadata
                                         ? NGX_K8S_METRICS_ACCEPT_METADATA_LIST
                                         : inf->accept,
                                         inf->api->kmcf->apiserver_timeout,
                                         ngx_k8s_metrics_informer_listed,
                                         NULL, inf);
    if (inf->call == NULL) {
        ngx_k8s_metrics_informer_retry(inf, 1);
    }
}


static void
ngx_k8s_metrics_informer_listed(ngx_k8s_metrics_call_t *call)
{
    ngx_k8s_metrics_informer_t *inf = call->data;

    json_t      *doc, *items, *item;
    size_t       i;
    ngx_str_t    error;
    const char  *cont;

    inf->call = NULL;

    if (call->error || call->status != 200) {
        ngx_k8s_metrics_api_error(call, &error);
        ngx_log_error(NGX_LOG_ERR, inf->api->log, 0,
                      "k8s metrics: listing %s (GET %s) failed: HTTP %l: %V",
                      inf->name, call->url, call->status, &error);

        /* an expired continue token: the list starts over */
        ngx_k8s_metrics_informer_retry(inf, 1);
        return;
    }

    doc = json_loadb((char *) call->body.data, call->body.len,
                     inf->allow_nul ? JSON_ALLOW_NUL : 0, NULL);
    items = json_object_get(doc, "items");

    if (!json_is_array(items)) {
        ngx_log_error(NGX_LOG_ERR, inf->api->log, 0,
                      "k8s metrics: listing %s (GET %s): the answer is not "
                      "a list", inf->name, call->url);
        json_decref(doc);
        ngx_k8s_metrics_informer_retry(inf, 1);
        return;
    }

    if (inf->cont == NULL) {
        inf->handler(inf, NGX_K8S_METRICS_EVENT_RESET, NULL);
    }

    json_array_foreach(items, i, item) {
        inf->handler(inf, NGX_K8S_METRICS_EVENT_ADDED, item);
    }

    if (inf->cont) {
        ngx_free(inf->cont);
        inf->cont = NULL;
    }

    cont = json_string_value(json_object_get(json_object_get(doc, "metadata"),
                                             "continue"));

    if (cont && *cont) {
        inf->cont = (char *) ngx_alloc(ngx_strlen(cont) + 1, inf->api->log);

        if (inf->cont) {
            ngx_cpystrn((u_char *) inf->cont, (u_char *) cont,
                        ngx_strlen(cont) + 1);
            json_decref(doc);
            ngx_k8s_metrics_informer_list(inf);
            return;
        }
    }

    ngx_k8s_metrics_informer_set_rv(inf, doc);
    json_decref(doc);

    inf->listing = 0;
    inf->synced = 1;
    inf->backoff = 0;
    inf->empty_watches = 0;

    inf->handler(inf, NGX_K8S_METRICS_EVENT_SYNCED, NULL);

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, inf->api->log, 0,
                   "k8s metrics: %s listed at resourceVersion %s",
                   inf->name, inf->rv);

    ngx_k8s_metrics_informer_watch(inf);
}


static void
ngx_k8s_metrics_informer_watch(ngx_k8s_metrics_informer_t *inf)
{
    u_char     *p;
    ngx_str_t   path;
    u_char      buf[4096];

    p = ngx_snprintf(buf, sizeof(buf),
                     "%V?watch=1&allowWatchBookmarks=true"
                     "&resourceVersion=%s&timeoutSeconds=%d%s%V",
                     &inf->path, inf->rv, NGX_K8S_METRICS_WATCH_SECONDS,
                     inf->query.len ? "&" : "", &inf->query);

    path.data = buf;
    path.len = p - buf;

    inf->relist = 0;
    inf->events = 0;
    inf->watch_started = ngx_current_msec;

    inf->call = ngx_k8s_metrics_api_call(inf->api, "GET", &path, NULL,
                                     inf->metadata
                                     ? NGX_K8S_METRICS_ACCEPT_METADATA
                                     : inf->accept,
                                     (NGX_K8S_METRICS_WATCH_SECONDS + 30)
                                     * 1000,
                                     ngx_k8s_metrics_informer_watched,
                                     ngx_k8s_metrics_informer_event, inf);
    if (inf->call == NULL) {
        ngx_k8s_metrics_informer_retry(inf, 0);
    }
}


/* one line of a watch: {"type": ..., "object": ...} */

static ngx_int_t
ngx_k8s_metrics_informer_event(ngx_k8s_metrics_call_t *call, u_char *line,
    size_t len)
{
    ngx_k8s_metrics_informer_t *inf = call->data;

    json_t        *event, *object, *message;
    ngx_str_t      text;
    ngx_uint_t     kind, level;
    const char    *type;
    json_error_t   error;

    event = json_loadb((char *) line, len,
                       inf->allow_nul ? JSON_ALLOW_NUL : 0, &error);
    if (event == NULL) {
        /* jansson's text quotes the event, which is not logged */
        ngx_log_error(NGX_LOG_ERR, inf->api->log, 0,
                      "k8s metrics: watching %s: an event (%uz bytes) is not "
                      "JSON: line %d, column %d", inf->name, len,
                      error.line, error.column);
        return NGX_ERROR;
    }

    type = json_string_value(json_object_get(event, "type"));
    object = json_object_get(event, "object");

    if (type == NULL || !json_is_object(object)) {
        json_decref(event);
        return NGX_OK;
    }

    inf->events++;

    if (ngx_strcmp(type, "ERROR") == 0) {
        /* 410 Gone, "too old resource version": start over with a list */

        message = json_object_get(object, "message");
        level = json_integer_value(json_object_get(object, "code")) == 410
                ? NGX_LOG_INFO : NGX_LOG_ERR;

        if (json_is_string(message)) {
            ngx_k8s_metrics_api_message(call,
                                        (u_char *) json_string_value(message),
                                        json_string_length(message), &text);

        } else {
            ngx_str_set(&text, "an error event");
        }

        ngx_log_error(level, inf->api->log, 0,
                      "k8s metrics: watching %s: %V: listing again",
                      inf->name, &text);

        inf->relist = 1;
        json_decref(event);
        return NGX_ERROR;
    }

    ngx_k8s_metrics_informer_set_rv(inf, object);

    if (ngx_strcmp(type, "BOOKMARK") == 0) {
        json_decref(event);
        return NGX_OK;
    }

    if (ngx_strcmp(type, "ADDED") == 0) {
        kind = NGX_K8S_METRICS_EVENT_ADDED;

    } else if (ngx_strcmp(type, "MODIFIED") == 0) {
        kind = NGX_K8S_METRICS_EVENT_MODIFIED;

    } else if (ngx_strcmp(type, "DELETED") == 0) {
        kind = NGX_K8S_METRICS_EVENT_DELETED;

    } else {
        json_decref(event);
        return NGX_OK;
    }

    inf->handler(inf, kind, object);

    json_decref(event);

    return NGX_OK;
}


static void
ngx_k8s_metrics_informer_watched(ngx_k8s_metrics_call_t *call)
{
    ngx_k8s_metrics_informer_t *inf = call->data;

    ngx_str_t   error;
    ngx_uint_t  empty;

    inf->call = NULL;

    if (inf->relist || call->status == 410) {
        ngx_k8s_metrics_informer_list(inf);
        return;
    }

    empty = call->status == 200 && inf->events == 0
            && ngx_current_msec - inf->watch_started < 1000;

    inf->empty_watches = empty ? inf->empty_watches + 1 : 0;

    if (inf->empty_watches == NGX_K8S_METRICS_EMPTY_WATCHES) {
        ngx_log_error(NGX_LOG_ERR, inf->api->log, 0,
                      "k8s metrics: watching %s (GET %s): %d watches in a "
                      "row ended within 1 s without an event: listing again",
                      inf->name, call->url, NGX_K8S_METRICS_EMPTY_WATCHES);
        inf->empty_watches = 0;
        ngx_k8s_metrics_informer_retry(inf, 1);
        return;
    }

    if (call->status != 200
        || (call->error && call->result != CURLE_OPERATION_TIMEDOUT))
    {
        ngx_k8s_metrics_api_error(call, &error);
        ngx_log_error(NGX_LOG_ERR, inf->api->log, 0,
                      "k8s metrics: watching %s (GET %s) failed: HTTP %l: "
                      "%V", inf->name, call->url, call->status, &error);
        ngx_k8s_metrics_informer_retry(inf, 0);
        return;
    }

    /* the stream ended (its timeout, or cut): go on from where it was */

    if (empty) {
        ngx_log_error(NGX_LOG_INFO, inf->api->log, 0,
                      "k8s metrics: watching %s (GET %s): the stream ended "
                      "within 1 s without an event", inf->name, call->url);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, inf->api->log, 0,
                   "k8s metrics: watch of %s ended, watching again",
                   inf->name);

    if (ngx_current_msec - inf->watch_started < 1000) {
        /* a stream that ends at once is a failure in disguise */
        ngx_k8s_metrics_informer_retry(inf, 0);
        return;
    }

    inf->backoff = 0;
    ngx_k8s_metrics_informer_watch(inf);
}


static void
ngx_k8s_metrics_informer_retry(ngx_k8s_metrics_informer_t *inf,
    ngx_uint_t relist)
{
    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    inf->relist = relist || !inf->synced;

    if (relist && inf->cont) {
        ngx_free(inf->cont);
        inf->cont = NULL;
    }

    inf->backoff = inf->backoff ? ngx_min(inf->backoff * 2,
                                          NGX_K8S_METRICS_BACKOFF_MAX)
                                : NGX_K8S_METRICS_BACKOFF_MIN;

    ngx_add_timer(&inf->retry, inf->backoff);
}


static void
ngx_k8s_metrics_informer_timer(ngx_event_t *ev)
{
    ngx_k8s_metrics_informer_t *inf = ev->data;

    if (inf->relist) {
        ngx_k8s_metrics_informer_list(inf);

    } else {
        ngx_k8s_metrics_informer_watch(inf);
    }
}


static void
ngx_k8s_metrics_informer_set_rv(ngx_k8s_metrics_informer_t *inf,
    json_t *object)
{
    const char  *rv;

    rv = json_string_value(json_object_get(json_object_get(object,
                                                           "metadata"),
                                           "resourceVersion"));

    if (rv && ngx_strlen(rv) < sizeof(inf->rv)) {
        ngx_cpystrn((u_char *) inf->rv, (u_char *) rv, sizeof(inf->rv));
    }
}
