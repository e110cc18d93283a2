
/*
 * ngx_metrics_module: the rotating bearer token of the kubelet and
 * apiserver clients.  A projected service-account token is rewritten by
 * the kubelet before it expires: the file is read again when its mtime
 * changes, and a token that cannot be read keeps the previous one.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_client.h"


/* an excerpt that ends in this much of a token loses it */
#define NGX_K8S_METRICS_REDACT_TAIL   4


static ngx_int_t ngx_k8s_metrics_token_file(ngx_str_t *file, u_char *buf,
    size_t size, ngx_str_t *token, ngx_log_t *log);


/*
 * *header is "Authorization: Bearer TOKEN" (ngx_alloc()ed, NUL-terminated;
 * NULL: none yet) read from file at *mtime.  NGX_OK: a new one replaced it;
 * NGX_DECLINED: it stays (unchanged, or the file could not be read: logged
 * with the directive that names it); NGX_ERROR: no memory.
 */

ngx_int_t
ngx_k8s_metrics_token_read(ngx_str_t *file, const char *directive,
    time_t *mtime, char **header, ngx_log_t *log)
{
    u_char           *h;
    ngx_str_t         token;
    ngx_file_info_t   fi;
    u_char            buf[16384];

    if (ngx_file_info(file->data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "k8s metrics: cannot read %s \"%V\"%s", directive, file,
                      *header ? ", the previous token is kept" : "");
        return NGX_DECLINED;
    }

    if (*header && ngx_file_mtime(&fi) == *mtime) {
        return NGX_DECLINED;
    }

    if (ngx_k8s_metrics_token_file(file, buf, sizeof(buf), &token, log)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    h = ngx_alloc(sizeof("Authorization: Bearer ") + token.len, log);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(h, "Authorization: Bearer %V", &token) = '\0';

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, log, 0,
                   "k8s metrics: token read from \"%V\"", file);

    if (*header) {
        ngx_free(*header);
    }

    *header = (char *) h;
    *mtime = ngx_file_mtime(&fi);

    return NGX_OK;
}


/*
 * A token file's content, without its trailing white space; NGX_DECLINED
 * (logged) when it cannot be read or is empty.
 */

static ngx_int_t
ngx_k8s_metrics_token_file(ngx_str_t *file, u_char *buf, size_t size,
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
