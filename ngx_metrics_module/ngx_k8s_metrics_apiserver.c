
/*
 * ngx_metrics_module: the kube-apiserver client, on the same libcurl-on-
 * nginx event machinery as the scraper: one-shot calls (lists, reviews)
 * whose body is collected, and streams (watches) handed over line by line.
 * Credentials: a bearer token re-read when its file changes (projected
 * service-account tokens rotate), or a client certificate; the server is
 * verified against its CA.
 */


#include "ngx_k8s_metrics.h"


#define NGX_K8S_METRICS_MAX_API_BODY  (256 * 1024 * 1024)

/* an excerpt that ends in this much of a token loses it */
#define NGX_K8S_METRICS_REDACT_TAIL   4


static ngx_int_t ngx_k8s_metrics_api_headers(ngx_k8s_metrics_apiserver_t *api,
    ngx_k8s_metrics_call_t *call, const char *accept);
static ngx_int_t ngx_k8s_metrics_api_token(ngx_k8s_metrics_apiserver_t *api);
static size_t ngx_k8s_metrics_api_write(char *ptr, size_t size, size_t nmemb,
    void *data);
static ngx_int_t ngx_k8s_metrics_api_lines(ngx_k8s_metrics_call_t *call);
static void ngx_k8s_metrics_api_done(ngx_k8s_metrics_transfer_t *t,
    CURLcode result);
static void ngx_k8s_metrics_api_free(ngx_k8s_metrics_call_t *call);


ngx_k8s_metrics_apiserver_t *
ngx_k8s_metrics_apiserver_create(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_curl_t *curl)
{
    ngx_k8s_metrics_apiserver_t  *api;

    api = ngx_pcalloc(cycle->pool, sizeof(ngx_k8s_metrics_apiserver_t));
    if (api == NULL) {
        return NULL;
    }

    api->kmcf = kmcf;
    api->curl = curl;
    api->log = cycle->log;

    return api;
}


void
ngx_k8s_metrics_apiserver_destroy(ngx_k8s_metrics_apiserver_t *api)
{
    while (api->calls) {
        ngx_k8s_metrics_api_cancel(api->calls);
    }

    if (api->token) {
        ngx_free(api->token);
        api->token = NULL;
    }
}


/*
 * Starts a call: METHOD path (with its query), an optional JSON body; the
 * handler runs when it is over (call->status, call->error, call->body).
 * With a line handler the body streams through it instead (watches).
 */

ngx_k8s_metrics_call_t *
ngx_k8s_metrics_api_call(ngx_k8s_metrics_apiserver_t *api, const char *method,
    ngx_str_t *path, json_t *body, const char *accept, ngx_msec_t timeout,
    ngx_k8s_metrics_call_pt handler, ngx_k8s_metrics_line_pt line,
    void *data)
{
    CURL                         *easy;
    u_char                       *url;
    ngx_k8s_metrics_call_t       *call;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = api->kmcf;

    call = ngx_calloc(sizeof(ngx_k8s_metrics_call_t), api->log);
    if (call == NULL) {
        return NULL;
    }

    call->api = api;
    call->handler = handler;
    call->line = line;
    call->data = data;

    easy = curl_easy_init();
    if (easy == NULL) {
        ngx_free(call);
        return NULL;
    }

    call->transfer.easy = easy;
    call->transfer.done = ngx_k8s_metrics_api_done;
    call->transfer.data = call;

    url = ngx_alloc(kmcf->apiserver_url.len + path->len + 1, api->log);
    if (url == NULL) {
        goto failed;
    }

    *ngx_sprintf(url, "%V%V", &kmcf->apiserver_url, path) = '\0';
    call->url = url;

    if (body) {
        call->request = json_dumps(body, JSON_COMPACT);
        if (call->request == NULL) {
            goto failed;
        }

        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->request);
    }

    if (ngx_k8s_metrics_api_headers(api, call, accept) != NGX_OK) {
        goto failed;
    }

    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) kmcf->apiserver_timeout);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) timeout);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ngx_k8s_metrics_api_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call->errbuf);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "ngx_metrics_module");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_CAINFO, kmcf->apiserver_ca.data);
    curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);

    if (kmcf->apiserver_certificate.len) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT,
                         kmcf->apiserver_certificate.data);
        curl_easy_setopt(easy, CURLOPT_SSLKEY,
                         kmcf->apiserver_certificate_key.data);
    }

    if (ngx_k8s_metrics_curl_start(api->curl, &call->transfer) != NGX_OK) {
        goto failed;
    }

    call->next = api->calls;

    if (api->calls) {
        api->calls->prev = &call->next;
    }

    call->prev = &api->calls;
    api->calls = call;

    return call;

failed:

    ngx_k8s_metrics_api_free(call);

    return NULL;
}


/* stops a call without running its handler */

void
ngx_k8s_metrics_api_cancel(ngx_k8s_metrics_call_t *call)
{
    ngx_k8s_metrics_curl_stop(call->api->curl, call->transfer.easy);
    ngx_k8s_metrics_api_free(call);
}


static void
ngx_k8s_metrics_api_free(ngx_k8s_metrics_call_t *call)
{
    if (call->prev) {
        *call->prev = call->next;

        if (call->next) {
            call->next->prev = call->prev;
        }
    }

    if (call->transfer.easy) {
        curl_easy_cleanup(call->transfer.easy);
    }

    if (call->headers) {
        curl_slist_free_all(call->headers);
    }

    if (call->request) {
        free(call->request);
    }

    if (call->url) {
        ngx_free(call->url);
    }

    if (call->body.data) {
        ngx_free(call->body.data);
    }

    ngx_free(call);
}


static ngx_int_t
ngx_k8s_metrics_api_headers(ngx_k8s_metrics_apiserver_t *api,
    ngx_k8s_metrics_call_t *call, const char *accept)
{
    u_char  buf[128];

    *ngx_snprintf(buf, sizeof(buf) - 1, "Accept: %s",
                  accept ? accept : "application/json") = '\0';

    call->headers = curl_slist_append(NULL, (char *) buf);
    if (call->headers == NULL) {
        return NGX_ERROR;
    }

    if (call->request) {
        if (curl_slist_append(call->headers,
                              "Content-Type: application/json")
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    if (api->kmcf->apiserver_token_file.len == 0) {
        return NGX_OK;
    }

    if (ngx_k8s_metrics_api_token(api) != NGX_OK) {
        return NGX_ERROR;
    }

    if (api->token && curl_slist_append(call->headers, api->token) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* "Authorization: Bearer ...", re-read when the token file changes */

static ngx_int_t
ngx_k8s_metrics_api_token(ngx_k8s_metrics_apiserver_t *api)
{
    u_char           *header;
    ngx_str_t         token;
    ngx_file_info_t   fi;
    u_char            buf[16384];

    if (ngx_file_info(api->kmcf->apiserver_token_file.data, &fi)
        == NGX_FILE_ERROR)
    {
        ngx_log_error(NGX_LOG_ERR, api->log, ngx_errno,
                      "k8s metrics: cannot read "
                      "k8s_metrics_apiserver_token_file \"%V\"%s",
                      &api->kmcf->apiserver_token_file,
                      api->token ? ", the previous token is kept" : "");
        return NGX_OK;
    }

    if (api->token && ngx_file_mtime(&fi) == api->token_mtime) {
        return NGX_OK;
    }

    if (ngx_k8s_metrics_read_token(&api->kmcf->apiserver_token_file, buf,
                                   sizeof(buf), &token, api->log)
        != NGX_OK)
    {
        return NGX_OK;
    }

    header = ngx_alloc(sizeof("Authorization: Bearer ") + token.len,
                       api->log);
    if (header == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(header, "Authorization: Bearer %V", &token) = '\0';

    if (api->token) {
        ngx_free(api->token);
    }

    api->token = (char *) header;
    api->token_mtime = ngx_file_mtime(&fi);

    return NGX_OK;
}


/*
 * A token file's content, without its trailing white space; NGX_DECLINED
 * (logged) when it cannot be read or is empty.
 */

ngx_int_t
ngx_k8s_metrics_read_token(ngx_str_t *file, u_char *buf, size_t size,
    ngx_str_t *token, ngx_log_t *log)
{
    ssize_t   n;
    ngx_fd_t  fd;

    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "k8s metrics: cannot open token file \"%V\"", file);
        return NGX_DECLINED;
    }

    n = ngx_read_fd(fd, buf, size);
    ngx_close_file(fd);

    if (n <= 0 || (size_t) n == size) {
        ngx_log_error(NGX_LOG_ERR, log, n < 0 ? ngx_errno : 0,
                      "k8s metrics: token file \"%V\" is %s", file,
                      n == 0 ? "empty" : n < 0 ? "unreadable" : "too large");
        return NGX_DECLINED;
    }

    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                 || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    {
        n--;
    }

    if (n == 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "k8s metrics: token file \"%V\" is empty", file);
        return NGX_DECLINED;
    }

    token->data = buf;
    token->len = n;

    return NGX_OK;
}


static size_t
ngx_k8s_metrics_api_write(char *ptr, size_t size, size_t nmemb, void *data)
{
    ngx_k8s_metrics_call_t *call = data;

    u_char  *p;
    size_t   len, want;

    len = size * nmemb;

    if (call->status == 0) {
        curl_easy_getinfo(call->transfer.easy, CURLINFO_RESPONSE_CODE,
                          &call->status);
    }

    if (call->body.len + len > NGX_K8S_METRICS_MAX_API_BODY) {
        return 0;
    }

    if (call->body.len + len > call->size) {
        want = ngx_max(call->size * 2, call->body.len + len + 4096);

        p = ngx_alloc(want, call->api->log);
        if (p == NULL) {
            return 0;
        }

        if (call->body.len) {
            ngx_memcpy(p, call->body.data, call->body.len);
        }

        if (call->body.data) {
            ngx_free(call->body.data);
        }

        call->body.data = p;
        call->size = want;
    }

    ngx_memcpy(call->body.data + call->body.len, ptr, len);
    call->body.len += len;

    if (call->line && call->status == 200) {
        if (ngx_k8s_metrics_api_lines(call) != NGX_OK) {
            return 0;
        }
    }

    return len;
}


/* a watch: each complete line is one event */

static ngx_int_t
ngx_k8s_metrics_api_lines(ngx_k8s_metrics_call_t *call)
{
    u_char  *p, *start, *last;

    start = call->body.data;
    last = start + call->body.len;

    for ( ;; ) {
        p = ngx_strlchr(start, last, '\n');
        if (p == NULL) {
            break;
        }

        if (p > start && call->line(call, start, p - start) != NGX_OK) {
            return NGX_ERROR;
        }

        start = p + 1;
    }

    call->body.len = last - start;
    ngx_memmove(call->body.data, start, call->body.len);

    return NGX_OK;
}


static void
ngx_k8s_metrics_api_done(ngx_k8s_metrics_transfer_t *t, CURLcode result)
{
    ngx_k8s_metrics_call_t *call = t->data;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &call->status);
    call->result = result;

    if (result != CURLE_OK) {
        call->error = call->errbuf[0] ? call->errbuf
                                      : curl_easy_strerror(result);
    }

    /* the transfer is over: only the call's own memory is left to free */

    if (call->prev) {
        *call->prev = call->next;

        if (call->next) {
            call->next->prev = call->prev;
        }

        call->prev = NULL;
    }

    call->handler(call);

    ngx_k8s_metrics_api_free(call);
}


/*
 * Why a call failed, for the log: curl's reason, or the message of the
 * Status that came back.  Nothing else of an answer is logged: it may
 * echo what it was sent (a TokenReview holds the token it reviews).
 */

void
ngx_k8s_metrics_api_error(ngx_k8s_metrics_call_t *call, ngx_str_t *text)
{
    json_t  *doc, *message;

    if (call->error) {
        text->data = (u_char *) call->error;
        text->len = ngx_strlen(call->error);
        return;
    }

    doc = json_loadb((char *) call->body.data, call->body.len, JSON_ALLOW_NUL,
                     NULL);
    message = json_object_get(doc, "message");

    if (json_is_string(message)) {
        ngx_k8s_metrics_api_message(call, (u_char *) json_string_value(message),
                                    json_string_length(message), text);

    } else {
        text->data = (u_char *) call->errbuf;
        text->len = ngx_snprintf(text->data, sizeof(call->errbuf) - 1,
                                 "the answer (%uz bytes) is not a Status",
                                 call->body.len)
                    - text->data;
    }

    json_decref(doc);
}


/*
 * A message of the apiserver, for the log, in call->errbuf: one line, and
 * without the module's token should the apiserver ever echo it.
 */

void
ngx_k8s_metrics_api_message(ngx_k8s_metrics_call_t *call, u_char *message,
    size_t len, ngx_str_t *text)
{
    size_t  i;

    text->data = (u_char *) call->errbuf;
    text->len = ngx_min(len, sizeof(call->errbuf) - 1);

    for (i = 0; i < text->len; i++) {
        text->data[i] = (message[i] < 0x20 || message[i] == 0x7f)
                        ? ' ' : message[i];
    }

    ngx_k8s_metrics_redact(text, call->api->token);
}


/*
 * In place: the token of an "Authorization: Bearer TOKEN" header becomes
 * '*'s wherever it is in text, and so does a tail of text that begins it
 * (an excerpt cut in the middle of the token).
 */

void
ngx_k8s_metrics_redact(ngx_str_t *text, const char *header)
{
    u_char  *p, *last, *token;
    size_t   len, n;

    if (header == NULL) {
        return;
    }

    token = (u_char *) header + sizeof("Authorization: Bearer ") - 1;
    len = ngx_strlen(token);

    p = text->data;
    last = text->data + text->len;

    while (len && p < last) {
        n = ngx_min((size_t) (last - p), len);

        if ((n == len || n >= NGX_K8S_METRICS_REDACT_TAIL)
            && ngx_memcmp(p, token, n) == 0)
        {
            ngx_memset(p, '*', n);
            p += n;
            continue;
        }

        p++;
    }
}
