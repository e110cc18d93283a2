
/*
 * ngx_metrics_module: libcurl's multi interface on nginx's event loop.
 *
 * curl tells which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * wake it (CURLMOPT_TIMERFUNCTION); each socket gets an nginx connection
 * whose events are registered level-triggered, as curl expects.  The
 * sockets stay curl's: a connection is given back with its fd set to -1,
 * never closed by nginx.  curl is never called from its own callbacks:
 * an immediate timeout is posted as an event.
 */


#include "ngx_k8s_metrics.h"


static int ngx_k8s_metrics_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *data, void *socketp);
static int ngx_k8s_metrics_curl_timer(CURLM *multi, long timeout_ms,
    void *data);
static ngx_int_t ngx_k8s_metrics_curl_watch(ngx_event_t *ev, ngx_uint_t want,
    ngx_int_t event);
static void ngx_k8s_metrics_curl_release(ngx_connection_t *c);
static void ngx_k8s_metrics_curl_event_handler(ngx_event_t *ev);
static void ngx_k8s_metrics_curl_timer_handler(ngx_event_t *ev);
static void ngx_k8s_metrics_curl_finished(ngx_k8s_metrics_curl_t *kc);


ngx_k8s_metrics_curl_t *
ngx_k8s_metrics_curl_create(ngx_pool_t *pool, ngx_log_t *log,
    ngx_uint_t max_connections)
{
    CURLM                   *multi;
    ngx_k8s_metrics_curl_t  *kc;

    kc = ngx_pcalloc(pool, sizeof(ngx_k8s_metrics_curl_t));
    if (kc == NULL) {
        return NULL;
    }

    multi = curl_multi_init();
    if (multi == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "curl_multi_init() failed");
        return NULL;
    }

    kc->multi = multi;
    kc->log = log;

    kc->timer.handler = ngx_k8s_metrics_curl_timer_handler;
    kc->timer.data = kc;
    kc->timer.log = log;
    kc->timer.cancelable = 1;

    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_k8s_metrics_curl_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, kc);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
                      ngx_k8s_metrics_curl_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, kc);

    /* keep one idle connection per kubelet between cycles */
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) max_connections);

    return kc;
}


/* the easy handle's CURLOPT_PRIVATE is its ngx_k8s_metrics_transfer_t */

ngx_int_t
ngx_k8s_metrics_curl_start(ngx_k8s_metrics_curl_t *kc,
    ngx_k8s_metrics_transfer_t *t)
{
    CURLMcode  rc;

    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);

    rc = curl_multi_add_handle(kc->multi, t->easy);

    ERR_clear_error();

    if (rc != CURLM_OK) {
        ngx_log_error(NGX_LOG_ALERT, kc->log, 0,
                      "curl_multi_add_handle() failed: %s",
                      curl_multi_strerror(rc));
        return NGX_ERROR;
    }

    kc->running++;

    return NGX_OK;
}


/* removes every transfer, without calling its handler */

void
ngx_k8s_metrics_curl_stop(ngx_k8s_metrics_curl_t *kc, CURL *easy)
{
    if (curl_multi_remove_handle(kc->multi, easy) == CURLM_OK) {
        kc->running--;
    }
}


void
ngx_k8s_metrics_curl_destroy(ngx_k8s_metrics_curl_t *kc)
{
    if (kc->timer.timer_set) {
        ngx_del_timer(&kc->timer);
    }

    if (kc->timer.posted) {
        ngx_delete_posted_event(&kc->timer);
    }

    /* closes the cached connections, through the socket callback */
    curl_multi_cleanup(kc->multi);
    kc->multi = NULL;

    ERR_clear_error();
}


static int
ngx_k8s_metrics_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *data, void *socketp)
{
    ngx_k8s_metrics_curl_t *kc = data;

    ngx_connection_t  *c;

    c = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (c) {
            ngx_k8s_metrics_curl_release(c);
            curl_multi_assign(kc->multi, s, NULL);
        }

        return 0;
    }

    if (c == NULL) {
        /*
         * An error returned to curl would leave the whole multi handle
         * unusable: the transfer runs into its timeout instead.
         */

        c = ngx_get_connection(s, kc->log);
        if (c == NULL) {
            ngx_log_error(NGX_LOG_ERR, kc->log, 0,
                          "k8s metrics: no free connection for a scrape: "
                          "raise worker_connections");
            return 0;
        }

        c->data = kc;
        c->log = kc->log;
        c->read->log = kc->log;
        c->write->log = kc->log;
        c->read->handler = ngx_k8s_metrics_curl_event_handler;
        c->write->handler = ngx_k8s_metrics_curl_event_handler;

        curl_multi_assign(kc->multi, s, c);
    }

    if (ngx_k8s_metrics_curl_watch(c->read, what & CURL_POLL_IN,
                                   NGX_READ_EVENT)
        != NGX_OK
        || ngx_k8s_metrics_curl_watch(c->write, what & CURL_POLL_OUT,
                                      NGX_WRITE_EVENT)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, kc->log, 0,
                      "k8s metrics: cannot watch a scrape socket");
    }

    return 0;
}


/* level-triggered, as curl expects: flags 0, never NGX_CLEAR_EVENT */

static ngx_int_t
ngx_k8s_metrics_curl_watch(ngx_event_t *ev, ngx_uint_t want, ngx_int_t event)
{
    if (want && !ev->active) {
        return ngx_add_event(ev, event, 0);
    }

    if (!want && ev->active) {
        return ngx_del_event(ev, event, 0);
    }

    return NGX_OK;
}


/* the socket is curl's: forget it without closing it */

static void
ngx_k8s_metrics_curl_release(ngx_connection_t *c)
{
    ngx_uint_t  flags;

    /*
     * curl may say CURL_POLL_REMOVE after it has closed the socket (seen
     * under valgrind when a transfer is removed mid-way): the kernel has
     * then dropped it from epoll already, and epoll_ctl() would fail with
     * EBADF, an alert.
     */

    flags = (fcntl(c->fd, F_GETFD) == -1) ? NGX_CLOSE_EVENT : 0;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;

    ngx_free_connection(c);
}


static int
ngx_k8s_metrics_curl_timer(CURLM *multi, long timeout_ms, void *data)
{
    ngx_k8s_metrics_curl_t *kc = data;

    if (kc->timer.timer_set) {
        ngx_del_timer(&kc->timer);
    }

    if (timeout_ms < 0) {
        return 0;
    }

    if (timeout_ms == 0) {
        if (!kc->timer.posted) {
            ngx_post_event(&kc->timer, &ngx_posted_events);
        }

        return 0;
    }

    ngx_add_timer(&kc->timer, (ngx_msec_t) timeout_ms);

    return 0;
}


static void
ngx_k8s_metrics_curl_event_handler(ngx_event_t *ev)
{
    int                      running, action;
    ngx_socket_t             fd;
    ngx_connection_t        *c;
    ngx_k8s_metrics_curl_t  *kc;

    c = ev->data;
    kc = c->data;

    /* the connection may be released during the call: keep what we need */
    fd = c->fd;
    action = ev->write ? CURL_CSELECT_OUT : CURL_CSELECT_IN;

    curl_multi_socket_action(kc->multi, fd, action, &running);

    ngx_k8s_metrics_curl_finished(kc);
}


static void
ngx_k8s_metrics_curl_timer_handler(ngx_event_t *ev)
{
    int                      running;
    ngx_k8s_metrics_curl_t  *kc;

    kc = ev->data;

    curl_multi_socket_action(kc->multi, CURL_SOCKET_TIMEOUT, 0, &running);

    ngx_k8s_metrics_curl_finished(kc);
}


/*
 * curl and nginx share OpenSSL's per-thread error queue: what curl leaves
 * there would be reported by nginx's next TLS call as a "stale" error.
 */

static void
ngx_k8s_metrics_curl_finished(ngx_k8s_metrics_curl_t *kc)
{
    int                          pending;
    CURL                        *easy;
    CURLMsg                     *msg;
    CURLcode                     result;
    ngx_k8s_metrics_transfer_t  *t;

    ERR_clear_error();

    for ( ;; ) {
        msg = curl_multi_info_read(kc->multi, &pending);
        if (msg == NULL) {
            return;
        }

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        result = msg->data.result;

        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &t);

        curl_multi_remove_handle(kc->multi, easy);
        kc->running--;

        ERR_clear_error();

        t->done(t, result);
    }
}
