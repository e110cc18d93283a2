
/*
 * ngx_metrics_module: label and field selectors, parsed and matched as
 * k8s.io/apimachinery/pkg/labels and pkg/fields do, with their error
 * messages word for word (apimachinery v0.36, the one metrics-server uses).
 * Pool allocation only; the only nginx calls are ngx_palloc(),
 * ngx_pnalloc(), ngx_array_create() and ngx_array_push().
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_selector.h"
#include "ngx_k8s_metrics_utf8.h"


typedef enum {
    NGX_K8S_METRICS_TOK_END = 0,
    NGX_K8S_METRICS_TOK_IDENT,
    NGX_K8S_METRICS_TOK_IN,
    NGX_K8S_METRICS_TOK_NOT_IN,
    NGX_K8S_METRICS_TOK_NOT,
    NGX_K8S_METRICS_TOK_EQUALS,
    NGX_K8S_METRICS_TOK_DOUBLE_EQUALS,
    NGX_K8S_METRICS_TOK_NOT_EQUALS,
    NGX_K8S_METRICS_TOK_GREATER_THAN,
    NGX_K8S_METRICS_TOK_LESS_THAN,
    NGX_K8S_METRICS_TOK_OPEN,
    NGX_K8S_METRICS_TOK_CLOSE,
    NGX_K8S_METRICS_TOK_COMMA
} ngx_k8s_metrics_sel_tok_e;


/* an error message being written; a failed allocation sets nomem */
typedef struct {
    ngx_pool_t                     *pool;
    u_char                         *start;
    u_char                         *pos;
    u_char                         *end;
    unsigned                        nomem:1;
} ngx_k8s_metrics_sel_msg_t;


typedef struct {
    ngx_pool_t                     *pool;
    ngx_array_t                    *requirements;
    ngx_k8s_metrics_sel_msg_t       msg;

    u_char                         *text;
    size_t                          len;
    size_t                          pos;

    ngx_k8s_metrics_sel_tok_e       tok;        /* the lookahead */
    ngx_str_t                       lit;
    unsigned                        peeked:1;
    unsigned                        ended:1;
} ngx_k8s_metrics_sel_parser_t;


typedef struct {
    ngx_uint_t                      bit;
    ngx_str_t                       text;
} ngx_k8s_metrics_sel_problem_t;


static ngx_int_t ngx_k8s_metrics_sel_parse(ngx_k8s_metrics_sel_parser_t *p);
static ngx_int_t ngx_k8s_metrics_sel_parse_requirement(
    ngx_k8s_metrics_sel_parser_t *p);
static ngx_int_t ngx_k8s_metrics_sel_parse_values(
    ngx_k8s_metrics_sel_parser_t *p, ngx_array_t *values);
static ngx_int_t ngx_k8s_metrics_sel_parse_exact_value(
    ngx_k8s_metrics_sel_parser_t *p, ngx_array_t *values);
static ngx_int_t ngx_k8s_metrics_sel_check_requirement(
    ngx_k8s_metrics_sel_parser_t *p, ngx_k8s_metrics_requirement_t *r);
static ngx_k8s_metrics_sel_tok_e ngx_k8s_metrics_sel_peek(
    ngx_k8s_metrics_sel_parser_t *p, ngx_uint_t values, ngx_str_t *lit);
static ngx_k8s_metrics_sel_tok_e ngx_k8s_metrics_sel_next(
    ngx_k8s_metrics_sel_parser_t *p, ngx_uint_t values, ngx_str_t *lit);
static ngx_k8s_metrics_sel_tok_e ngx_k8s_metrics_sel_lex(
    ngx_k8s_metrics_sel_parser_t *p, ngx_str_t *lit);
static void ngx_k8s_metrics_sel_found(ngx_k8s_metrics_sel_parser_t *p,
    ngx_str_t *lit, char *expected);
static ngx_int_t ngx_k8s_metrics_sel_push_value(ngx_array_t *values,
    u_char *data, size_t len);
static ngx_uint_t ngx_k8s_metrics_sel_check_key(ngx_str_t *key);
static ngx_uint_t ngx_k8s_metrics_sel_check_value(ngx_str_t *value);
static ngx_flag_t ngx_k8s_metrics_sel_is_name(u_char *p, size_t len);
static ngx_flag_t ngx_k8s_metrics_sel_is_subdomain(u_char *p, size_t len);
static ngx_int_t ngx_k8s_metrics_sel_parse_int(ngx_str_t *s, int64_t *n);
static ngx_int_t ngx_k8s_metrics_sel_field_value(
    ngx_k8s_metrics_sel_msg_t *m, ngx_str_t *rhs, ngx_str_t *value);
static ngx_int_t ngx_k8s_metrics_sel_unescape(ngx_pool_t *pool,
    ngx_str_t *text, ngx_str_t *out);
static ngx_flag_t ngx_k8s_metrics_sel_printable(uint32_t rune);
static void ngx_k8s_metrics_sel_append(ngx_k8s_metrics_sel_msg_t *m,
    u_char *data, size_t len);
static void ngx_k8s_metrics_sel_append_uint(ngx_k8s_metrics_sel_msg_t *m,
    ngx_uint_t n);
static void ngx_k8s_metrics_sel_append_quoted(ngx_k8s_metrics_sel_msg_t *m,
    ngx_str_t *s);
static void ngx_k8s_metrics_sel_append_problems(
    ngx_k8s_metrics_sel_msg_t *m, ngx_uint_t problems);
static ngx_int_t ngx_k8s_metrics_sel_error(ngx_k8s_metrics_sel_msg_t *m,
    ngx_str_t *error);


#define ngx_k8s_metrics_sel_literal(m, s)                                    \
    ngx_k8s_metrics_sel_append(m, (u_char *) s, sizeof(s) - 1)

#define ngx_k8s_metrics_sel_alnum(c)                                         \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z')               \
     || ((c) >= '0' && (c) <= '9'))

#define ngx_k8s_metrics_sel_lower_alnum(c)                                   \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9'))

#define ngx_k8s_metrics_sel_space(c)                                         \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

#define ngx_k8s_metrics_sel_special(c)                                       \
    ((c) == '=' || (c) == '!' || (c) == '(' || (c) == ')' || (c) == ','      \
     || (c) == '>' || (c) == '<')

#define ngx_k8s_metrics_sel_hex(c)                                           \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f')                \
     || ((c) >= 'A' && (c) <= 'F'))


#define NGX_K8S_METRICS_SEL_NAME_LEN        63
#define NGX_K8S_METRICS_SEL_SUBDOMAIN_LEN   253

/* reasons for an invalid label key or value, in Kubernetes' order */
#define NGX_K8S_METRICS_SEL_KEY_SLASHES     0x001
#define NGX_K8S_METRICS_SEL_PREFIX_EMPTY    0x002
#define NGX_K8S_METRICS_SEL_PREFIX_LONG     0x004
#define NGX_K8S_METRICS_SEL_PREFIX_FORMAT   0x008
#define NGX_K8S_METRICS_SEL_NAME_EMPTY      0x010
#define NGX_K8S_METRICS_SEL_NAME_LONG       0x020
#define NGX_K8S_METRICS_SEL_NAME_FORMAT     0x040
#define NGX_K8S_METRICS_SEL_VALUE_LONG      0x080
#define NGX_K8S_METRICS_SEL_VALUE_FORMAT    0x100

#define NGX_K8S_METRICS_SEL_NAME_RE                                          \
    "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"

#define NGX_K8S_METRICS_SEL_NAME_MSG                                         \
    "must consist of alphanumeric characters, '-', '_' or '.', and must "    \
    "start and end with an alphanumeric character (e.g. 'MyName',  or "      \
    "'my.name',  or '123-abc', regex used for validation is '"               \
    NGX_K8S_METRICS_SEL_NAME_RE "')"


static ngx_k8s_metrics_sel_problem_t  ngx_k8s_metrics_sel_problems[] = {

    { NGX_K8S_METRICS_SEL_KEY_SLASHES,
      ngx_string("a valid label key " NGX_K8S_METRICS_SEL_NAME_MSG
                 " with an optional DNS subdomain prefix and '/' "
                 "(e.g. 'example.com/MyName')") },

    { NGX_K8S_METRICS_SEL_PREFIX_EMPTY,
      ngx_string("prefix part must be non-empty") },

    { NGX_K8S_METRICS_SEL_PREFIX_LONG,
      ngx_string("prefix part must be no more than 253 bytes") },

    { NGX_K8S_METRICS_SEL_PREFIX_FORMAT,
      ngx_string("prefix part a lowercase RFC 1123 subdomain must consist "
                 "of lower case alphanumeric characters, '-' or '.', and "
                 "must start and end with an alphanumeric character (e.g. "
                 "'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                 "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')") },

    { NGX_K8S_METRICS_SEL_NAME_EMPTY,
      ngx_string("name part must be non-empty") },

    { NGX_K8S_METRICS_SEL_NAME_LONG,
      ngx_string("name part must be no more than 63 bytes") },

    { NGX_K8S_METRICS_SEL_NAME_FORMAT,
      ngx_string("name part " NGX_K8S_METRICS_SEL_NAME_MSG) },

    { NGX_K8S_METRICS_SEL_VALUE_LONG,
      ngx_string("must be no more than 63 bytes") },

    { NGX_K8S_METRICS_SEL_VALUE_FORMAT,
      ngx_string("a valid label must be an empty string or consist of "
                 "alphanumeric characters, '-', '_' or '.', and must start "
                 "and end with an alphanumeric character (e.g. 'MyValue',  "
                 "or 'my_value',  or '12345', regex used for validation is "
                 "'(" NGX_K8S_METRICS_SEL_NAME_RE ")?')") },

    { 0, ngx_null_string }
};


/*
 * code points Go's strconv.IsPrint() rejects, so that %q escapes them:
 * controls, formats, separators other than ' ', private use; unassigned
 * code points are not known here and print as themselves
 */

static uint32_t  ngx_k8s_metrics_sel_unprintable[][2] = {
    { 0x0080, 0x00a0 }, { 0x00ad, 0x00ad }, { 0x0600, 0x0605 },
    { 0x061c, 0x061c }, { 0x06dd, 0x06dd }, { 0x070f, 0x070f },
    { 0x08e2, 0x08e2 }, { 0x1680, 0x1680 }, { 0x180e, 0x180e },
    { 0x2000, 0x200f }, { 0x2028, 0x202f }, { 0x205f, 0x206f },
    { 0x3000, 0x3000 }, { 0xd800, 0xf8ff }, { 0xfeff, 0xfeff },
    { 0xfff9, 0xfffb }, { 0xfffe, 0xffff }, { 0x110bd, 0x110bd },
    { 0x110cd, 0x110cd }, { 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 },
    { 0x1d173, 0x1d17a }, { 0xe0000, 0xe00ff }, { 0xf0000, 0x10ffff }
};


ngx_int_t
ngx_k8s_metrics_label_selector_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t **requirements, ngx_str_t *error)
{
    ngx_int_t                     rc;
    ngx_str_t                     s;
    ngx_k8s_metrics_sel_parser_t  p;

    *requirements = NULL;

    ngx_memzero(&p, sizeof(ngx_k8s_metrics_sel_parser_t));

    p.pool = pool;
    p.msg.pool = pool;

    p.requirements = ngx_array_create(pool, 4,
                                      sizeof(ngx_k8s_metrics_requirement_t));
    if (p.requirements == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_k8s_metrics_sel_unescape(pool, text, &s);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_OK) {
        p.text = s.data;
        p.len = s.len;

        rc = ngx_k8s_metrics_sel_parse(&p);

        if (rc == NGX_DECLINED) {
            return ngx_k8s_metrics_sel_error(&p.msg, error);
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    *requirements = p.requirements;

    return NGX_OK;
}


ngx_int_t
ngx_k8s_metrics_field_selector_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t **requirements, ngx_str_t *error)
{
    u_char                         *c, *last;
    size_t                          n;
    ngx_int_t                       rc;
    ngx_str_t                       s, rhs, *v, *part, *parts;
    ngx_uint_t                      i, escaped;
    ngx_array_t                    *reqs;
    ngx_k8s_metrics_sel_msg_t       msg;
    ngx_k8s_metrics_requirement_t  *r;

    *requirements = NULL;

    ngx_memzero(&msg, sizeof(ngx_k8s_metrics_sel_msg_t));
    msg.pool = pool;

    reqs = ngx_array_create(pool, 2, sizeof(ngx_k8s_metrics_requirement_t));
    if (reqs == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_k8s_metrics_sel_unescape(pool, text, &s);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED || s.len == 0) {
        *requirements = reqs;
        return NGX_OK;
    }

    /* terms are split at commas not escaped by a backslash */

    n = 1;
    escaped = 0;
    last = s.data + s.len;

    for (c = s.data; c < last; c++) {
        if (escaped) {
            escaped = 0;

        } else if (*c == '\\') {
            escaped = 1;

        } else if (*c == ',') {
            n++;
        }
    }

    parts = ngx_palloc(pool, n * sizeof(ngx_str_t));
    if (parts == NULL) {
        return NGX_ERROR;
    }

    n = 0;
    escaped = 0;
    parts[0].data = s.data;

    for (c = s.data; c < last; c++) {
        if (escaped) {
            escaped = 0;

        } else if (*c == '\\') {
            escaped = 1;

        } else if (*c == ',') {
            parts[n].len = c - parts[n].data;
            parts[++n].data = c + 1;
        }
    }

    parts[n].len = last - parts[n].data;
    n++;

    /* Kubernetes sorts the terms first: that decides which error wins */
    ngx_k8s_metrics_sel_sort(parts, n);

    for (part = parts; part < parts + n; part++) {

        if (part->len == 0) {
            continue;
        }

        r = ngx_array_push(reqs);
        if (r == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(r, sizeof(ngx_k8s_metrics_requirement_t));
        r->field = 1;

        /* the first "!=", "==" or "=" splits, whatever the backslashes */

        last = part->data + part->len;

        for (c = part->data; c < last; c++) {
            if (*c == '!' && c + 1 < last && c[1] == '=') {
                r->op = NGX_K8S_METRICS_SEL_NOT_EQUALS;
                rhs.data = c + 2;
                break;
            }

            if (*c == '=') {
                r->op = NGX_K8S_METRICS_SEL_EQUALS;
                rhs.data = (c + 1 < last && c[1] == '=') ? c + 2 : c + 1;
                break;
            }
        }

        if (c == last) {
            ngx_k8s_metrics_sel_literal(&msg, "invalid selector: '");
            ngx_k8s_metrics_sel_append(&msg, s.data, s.len);
            ngx_k8s_metrics_sel_literal(&msg, "'; can't understand '");
            ngx_k8s_metrics_sel_append(&msg, part->data, part->len);
            ngx_k8s_metrics_sel_literal(&msg, "'");

            return ngx_k8s_metrics_sel_error(&msg, error);
        }

        r->key.data = part->data;
        r->key.len = c - part->data;
        rhs.len = last - rhs.data;

        if (ngx_array_init(&r->values, pool, 1, sizeof(ngx_str_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        v = ngx_array_push(&r->values);
        if (v == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_k8s_metrics_sel_field_value(&msg, &rhs, v);

        if (rc == NGX_DECLINED) {
            return ngx_k8s_metrics_sel_error(&msg, error);
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /*
     * the apiserver checks the fields after the whole selector parsed,
     * as runtime.DefaultMetaV1FieldSelectorConversion(): metrics.k8s.io
     * registers no conversion of its own
     */

    r = reqs->elts;

    for (i = 0; i < reqs->nelts; i++) {

        if ((r[i].key.len == sizeof("metadata.name") - 1
             && ngx_strncmp(r[i].key.data, "metadata.name",
                            sizeof("metadata.name") - 1) == 0)
            || (r[i].key.len == sizeof("metadata.namespace") - 1
                && ngx_strncmp(r[i].key.data, "metadata.namespace",
                               sizeof("metadata.namespace") - 1) == 0))
        {
            continue;
        }

        ngx_k8s_metrics_sel_append_quoted(&msg, &r[i].key);
        ngx_k8s_metrics_sel_literal(&msg, " is not a known field selector: "
                                    "only \"metadata.name\", "
                                    "\"metadata.namespace\"");

        return ngx_k8s_metrics_sel_error(&msg, error);
    }

    *requirements = reqs;

    return NGX_OK;
}


ngx_flag_t
ngx_k8s_metrics_selector_matches(ngx_array_t *requirements,
    ngx_k8s_metrics_lookup_pt lookup, void *data)
{
    int64_t                         have, want;
    ngx_str_t                      *v, *values, empty;
    ngx_uint_t                      i, j, found;
    ngx_k8s_metrics_requirement_t  *r;

    if (requirements == NULL) {
        return 1;
    }

    ngx_str_null(&empty);

    r = requirements->elts;

    for (i = 0; i < requirements->nelts; i++) {

        v = lookup(data, &r[i].key);

        /* fields.Set.Get() reads an absent field as "" */
        if (v == NULL && r[i].field) {
            v = &empty;
        }

        values = r[i].values.elts;
        found = 0;

        if (v != NULL) {
            for (j = 0; j < r[i].values.nelts; j++) {
                if (values[j].len == v->len
                    && (v->len == 0
                        || ngx_memcmp(values[j].data, v->data, v->len) == 0))
                {
                    found = 1;
                    break;
                }
            }
        }

        switch (r[i].op) {

        case NGX_K8S_METRICS_SEL_EQUALS:
        case NGX_K8S_METRICS_SEL_IN:
            if (!found) {
                return 0;
            }

            break;

        case NGX_K8S_METRICS_SEL_NOT_EQUALS:
        case NGX_K8S_METRICS_SEL_NOT_IN:
            if (found) {
                return 0;
            }

            break;

        case NGX_K8S_METRICS_SEL_EXISTS:
            if (v == NULL) {
                return 0;
            }

            break;

        case NGX_K8S_METRICS_SEL_NOT_EXISTS:
            if (v != NULL) {
                return 0;
            }

            break;

        case NGX_K8S_METRICS_SEL_GREATER_THAN:
        case NGX_K8S_METRICS_SEL_LESS_THAN:
            if (v == NULL
                || r[i].values.nelts != 1
                || ngx_k8s_metrics_sel_parse_int(v, &have) != NGX_OK
                || ngx_k8s_metrics_sel_parse_int(&values[0], &want) != NGX_OK)
            {
                return 0;
            }

            if (r[i].op == NGX_K8S_METRICS_SEL_GREATER_THAN
                ? have <= want : have >= want)
            {
                return 0;
            }

            break;

        default:
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_k8s_metrics_sel_parse(ngx_k8s_metrics_sel_parser_t *p)
{
    ngx_int_t                  rc;
    ngx_str_t                  lit;
    ngx_k8s_metrics_sel_tok_e  tok;

    for ( ;; ) {
        tok = ngx_k8s_metrics_sel_peek(p, 1, &lit);

        if (tok == NGX_K8S_METRICS_TOK_END) {
            return NGX_OK;
        }

        if (tok != NGX_K8S_METRICS_TOK_IDENT
            && tok != NGX_K8S_METRICS_TOK_NOT)
        {
            ngx_k8s_metrics_sel_found(p, &lit,
                       "', expected: !, identifier, or 'end of string'");
            return NGX_DECLINED;
        }

        /* written ahead, and dropped when the requirement parses */
        ngx_k8s_metrics_sel_literal(&p->msg, "unable to parse requirement: ");

        rc = ngx_k8s_metrics_sel_parse_requirement(p);
        if (rc != NGX_OK) {
            return rc;
        }

        p->msg.pos = p->msg.start;

        tok = ngx_k8s_metrics_sel_next(p, 1, &lit);

        if (tok == NGX_K8S_METRICS_TOK_END) {
            return NGX_OK;
        }

        if (tok != NGX_K8S_METRICS_TOK_COMMA) {
            ngx_k8s_metrics_sel_found(p, &lit,
                       "', expected: ',' or 'end of string'");
            return NGX_DECLINED;
        }

        tok = ngx_k8s_metrics_sel_peek(p, 1, &lit);

        if (tok != NGX_K8S_METRICS_TOK_IDENT
            && tok != NGX_K8S_METRICS_TOK_NOT)
        {
            ngx_k8s_metrics_sel_found(p, &lit,
                       "', expected: identifier after ','");
            return NGX_DECLINED;
        }
    }
}


static ngx_int_t
ngx_k8s_metrics_sel_parse_requirement(ngx_k8s_metrics_sel_parser_t *p)
{
    ngx_int_t                       rc;
    ngx_str_t                       lit, key;
    ngx_uint_t                      problems, exists, not_exists;
    ngx_k8s_metrics_sel_tok_e       tok;
    ngx_k8s_metrics_requirement_t  *r;

    exists = 0;
    not_exists = 0;

    tok = ngx_k8s_metrics_sel_next(p, 1, &lit);

    if (tok == NGX_K8S_METRICS_TOK_NOT) {
        not_exists = 1;
        tok = ngx_k8s_metrics_sel_next(p, 1, &lit);
    }

    if (tok != NGX_K8S_METRICS_TOK_IDENT) {
        ngx_k8s_metrics_sel_found(p, &lit, "', expected: identifier");
        return NGX_DECLINED;
    }

    key = lit;

    problems = ngx_k8s_metrics_sel_check_key(&key);

    if (problems) {
        /* the parser's field path is nil */
        ngx_k8s_metrics_sel_literal(&p->msg, "<nil>: Invalid value: ");
        ngx_k8s_metrics_sel_append_quoted(&p->msg, &key);
        ngx_k8s_metrics_sel_literal(&p->msg, ": ");
        ngx_k8s_metrics_sel_append_problems(&p->msg, problems);
        return NGX_DECLINED;
    }

    tok = ngx_k8s_metrics_sel_peek(p, 1, NULL);

    if (tok == NGX_K8S_METRICS_TOK_END || tok == NGX_K8S_METRICS_TOK_COMMA) {
        exists = 1;
    }

    r = ngx_array_push(p->requirements);
    if (r == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(r, sizeof(ngx_k8s_metrics_requirement_t));
    r->key = key;

    if (ngx_array_init(&r->values, p->pool, 1, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    if (not_exists) {
        r->op = NGX_K8S_METRICS_SEL_NOT_EXISTS;
        return NGX_OK;
    }

    if (exists) {
        r->op = NGX_K8S_METRICS_SEL_EXISTS;
        return NGX_OK;
    }

    tok = ngx_k8s_metrics_sel_next(p, 0, &lit);

    switch (tok) {

    case NGX_K8S_METRICS_TOK_IN:
        r->op = NGX_K8S_METRICS_SEL_IN;
        break;

    case NGX_K8S_METRICS_TOK_NOT_IN:
        r->op = NGX_K8S_METRICS_SEL_NOT_IN;
        break;

    case NGX_K8S_METRICS_TOK_EQUALS:
    case NGX_K8S_METRICS_TOK_DOUBLE_EQUALS:
        r->op = NGX_K8S_METRICS_SEL_EQUALS;
        break;

    case NGX_K8S_METRICS_TOK_NOT_EQUALS:
        r->op = NGX_K8S_METRICS_SEL_NOT_EQUALS;
        break;

    case NGX_K8S_METRICS_TOK_GREATER_THAN:
        r->op = NGX_K8S_METRICS_SEL_GREATER_THAN;
        break;

    case NGX_K8S_METRICS_TOK_LESS_THAN:
        r->op = NGX_K8S_METRICS_SEL_LESS_THAN;
        break;

    default:
        ngx_k8s_metrics_sel_found(p, &lit,
                       "', expected: in, notin, =, ==, !=, gt, lt");
        return NGX_DECLINED;
    }

    if (r->op == NGX_K8S_METRICS_SEL_IN || r->op == NGX_K8S_METRICS_SEL_NOT_IN)
    {
        rc = ngx_k8s_metrics_sel_parse_values(p, &r->values);

    } else {
        rc = ngx_k8s_metrics_sel_parse_exact_value(p, &r->values);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_k8s_metrics_sel_check_requirement(p, r);
}


static ngx_int_t
ngx_k8s_metrics_sel_parse_values(ngx_k8s_metrics_sel_parser_t *p,
    ngx_array_t *values)
{
    ngx_str_t                  lit;
    ngx_k8s_metrics_sel_tok_e  tok;

    tok = ngx_k8s_metrics_sel_next(p, 1, &lit);

    if (tok != NGX_K8S_METRICS_TOK_OPEN) {
        ngx_k8s_metrics_sel_found(p, &lit, "' expected: '('");
        return NGX_DECLINED;
    }

    tok = ngx_k8s_metrics_sel_peek(p, 1, &lit);

    if (tok == NGX_K8S_METRICS_TOK_CLOSE) {
        (void) ngx_k8s_metrics_sel_next(p, 1, NULL);
        return ngx_k8s_metrics_sel_push_value(values, p->text, 0);
    }

    if (tok != NGX_K8S_METRICS_TOK_IDENT && tok != NGX_K8S_METRICS_TOK_COMMA) {
        ngx_k8s_metrics_sel_found(p, &lit,
                       "', expected: ',', ')' or identifier");
        return NGX_DECLINED;
    }

    /* empty items are values too: "(,a)" and "(a,,b)" hold "" */

    for ( ;; ) {
        tok = ngx_k8s_metrics_sel_next(p, 1, &lit);

        if (tok == NGX_K8S_METRICS_TOK_IDENT) {
            if (ngx_k8s_metrics_sel_push_value(values, lit.data, lit.len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            tok = ngx_k8s_metrics_sel_peek(p, 1, &lit);

            if (tok == NGX_K8S_METRICS_TOK_COMMA) {
                continue;
            }

            if (tok == NGX_K8S_METRICS_TOK_CLOSE) {
                break;
            }

            ngx_k8s_metrics_sel_found(p, &lit, "', expected: ',' or ')'");
            return NGX_DECLINED;
        }

        if (tok != NGX_K8S_METRICS_TOK_COMMA) {
            ngx_k8s_metrics_sel_found(p, &lit,
                       "', expected: ',', or identifier");
            return NGX_DECLINED;
        }

        if (values->nelts == 0
            && ngx_k8s_metrics_sel_push_value(values, p->text, 0) != NGX_OK)
        {
            return NGX_ERROR;
        }

        tok = ngx_k8s_metrics_sel_peek(p, 1, NULL);

        if (tok == NGX_K8S_METRICS_TOK_CLOSE
            || tok == NGX_K8S_METRICS_TOK_COMMA)
        {
            if (ngx_k8s_metrics_sel_push_value(values, p->text, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            if (tok == NGX_K8S_METRICS_TOK_CLOSE) {
                break;
            }
        }
    }

    (void) ngx_k8s_metrics_sel_next(p, 1, NULL);

    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_sel_parse_exact_value(ngx_k8s_metrics_sel_parser_t *p,
    ngx_array_t *values)
{
    ngx_str_t                  lit;
    ngx_k8s_metrics_sel_tok_e  tok;

    tok = ngx_k8s_metrics_sel_peek(p, 1, NULL);

    if (tok == NGX_K8S_METRICS_TOK_END || tok == NGX_K8S_METRICS_TOK_COMMA) {
        return ngx_k8s_metrics_sel_push_value(values, p->text, 0);
    }

    tok = ngx_k8s_metrics_sel_next(p, 1, &lit);

    if (tok == NGX_K8S_METRICS_TOK_IDENT) {
        return ngx_k8s_metrics_sel_push_value(values, lit.data, lit.len);
    }

    ngx_k8s_metrics_sel_found(p, &lit, "', expected: identifier");

    return NGX_DECLINED;
}


/* labels.NewRequirement(): the values, sorted and unique, are checked */

static ngx_int_t
ngx_k8s_metrics_sel_check_requirement(ngx_k8s_metrics_sel_parser_t *p,
    ngx_k8s_metrics_requirement_t *r)
{
    int64_t     n;
    ngx_str_t  *v;
    ngx_uint_t  i, j, count, integers, sep;

    /* the parser gives at least one value */

    v = r->values.elts;

    ngx_k8s_metrics_sel_sort(v, r->values.nelts);

    for (i = 1, j = 1; i < r->values.nelts; i++) {
        if (ngx_k8s_metrics_sel_cmp(&v[i], &v[j - 1]) != 0) {
            v[j++] = v[i];
        }
    }

    r->values.nelts = j;

    integers = (r->op == NGX_K8S_METRICS_SEL_GREATER_THAN
                || r->op == NGX_K8S_METRICS_SEL_LESS_THAN);

    count = 0;

    for (i = 0; i < r->values.nelts; i++) {
        if (integers && ngx_k8s_metrics_sel_parse_int(&v[i], &n) != NGX_OK) {
            count++;
        }

        if (ngx_k8s_metrics_sel_check_value(&v[i])) {
            count++;
        }
    }

    if (count == 0) {
        return NGX_OK;
    }

    /* an aggregate of several errors is bracketed */

    if (count > 1) {
        ngx_k8s_metrics_sel_literal(&p->msg, "[");
    }

    sep = 0;

    for (i = 0; integers && i < r->values.nelts; i++) {
        if (ngx_k8s_metrics_sel_parse_int(&v[i], &n) == NGX_OK) {
            continue;
        }

        if (sep++) {
            ngx_k8s_metrics_sel_literal(&p->msg, ", ");
        }

        ngx_k8s_metrics_sel_literal(&p->msg, "values[");
        ngx_k8s_metrics_sel_append_uint(&p->msg, i);
        ngx_k8s_metrics_sel_literal(&p->msg, "]: Invalid value: ");
        ngx_k8s_metrics_sel_append_quoted(&p->msg, &v[i]);
        ngx_k8s_metrics_sel_literal(&p->msg, ": for 'Gt', 'Lt' operators, "
                                    "the value must be an integer");
    }

    for (i = 0; i < r->values.nelts; i++) {
        j = ngx_k8s_metrics_sel_check_value(&v[i]);

        if (j == 0) {
            continue;
        }

        if (sep++) {
            ngx_k8s_metrics_sel_literal(&p->msg, ", ");
        }

        ngx_k8s_metrics_sel_literal(&p->msg, "values[");
        ngx_k8s_metrics_sel_append_uint(&p->msg, i);
        ngx_k8s_metrics_sel_literal(&p->msg, "][");
        ngx_k8s_metrics_sel_append(&p->msg, r->key.data, r->key.len);
        ngx_k8s_metrics_sel_literal(&p->msg, "]: Invalid value: ");
        ngx_k8s_metrics_sel_append_quoted(&p->msg, &v[i]);
        ngx_k8s_metrics_sel_literal(&p->msg, ": ");
        ngx_k8s_metrics_sel_append_problems(&p->msg, j);
    }

    if (count > 1) {
        ngx_k8s_metrics_sel_literal(&p->msg, "]");
    }

    return NGX_DECLINED;
}


/* "values": whether "in" and "notin" are plain identifiers here */

static ngx_k8s_metrics_sel_tok_e
ngx_k8s_metrics_sel_peek(ngx_k8s_metrics_sel_parser_t *p, ngx_uint_t values,
    ngx_str_t *lit)
{
    ngx_k8s_metrics_sel_tok_e  tok;

    if (!p->peeked) {
        p->tok = ngx_k8s_metrics_sel_lex(p, &p->lit);
        p->peeked = 1;
    }

    if (lit) {
        *lit = p->lit;
    }

    tok = p->tok;

    if (values
        && (tok == NGX_K8S_METRICS_TOK_IN || tok == NGX_K8S_METRICS_TOK_NOT_IN))
    {
        tok = NGX_K8S_METRICS_TOK_IDENT;
    }

    return tok;
}


static ngx_k8s_metrics_sel_tok_e
ngx_k8s_metrics_sel_next(ngx_k8s_metrics_sel_parser_t *p, ngx_uint_t values,
    ngx_str_t *lit)
{
    ngx_k8s_metrics_sel_tok_e  tok;

    tok = ngx_k8s_metrics_sel_peek(p, values, lit);
    p->peeked = 0;

    return tok;
}


/*
 * The lexer of labels.Lexer, byte for byte.  Its read() yields 0 both at
 * the end and at a NUL byte, but steps over the NUL: a NUL ends the
 * selector where a token may start, and ends an identifier or operator
 * where it is part of one, the scan going on after it.
 */

#define ngx_k8s_metrics_sel_read(p)                                          \
    ((p)->pos < (p)->len ? (p)->text[(p)->pos++] : 0)


static ngx_k8s_metrics_sel_tok_e
ngx_k8s_metrics_sel_lex(ngx_k8s_metrics_sel_parser_t *p, ngx_str_t *lit)
{
    u_char                     ch, first;
    size_t                     start, end;
    ngx_k8s_metrics_sel_tok_e  tok;

    lit->data = p->text;
    lit->len = 0;

    if (p->ended) {
        return NGX_K8S_METRICS_TOK_END;
    }

    do {
        ch = ngx_k8s_metrics_sel_read(p);
    } while (ngx_k8s_metrics_sel_space(ch));

    if (ch == 0) {
        p->ended = 1;
        return NGX_K8S_METRICS_TOK_END;
    }

    start = p->pos - 1;

    if (ngx_k8s_metrics_sel_special(ch)) {
        first = ch;

        switch (first) {
        case '=':
            tok = NGX_K8S_METRICS_TOK_EQUALS;
            break;
        case '!':
            tok = NGX_K8S_METRICS_TOK_NOT;
            break;
        case '(':
            tok = NGX_K8S_METRICS_TOK_OPEN;
            break;
        case ')':
            tok = NGX_K8S_METRICS_TOK_CLOSE;
            break;
        case ',':
            tok = NGX_K8S_METRICS_TOK_COMMA;
            break;
        case '>':
            tok = NGX_K8S_METRICS_TOK_GREATER_THAN;
            break;
        default: /* '<' */
            tok = NGX_K8S_METRICS_TOK_LESS_THAN;
            break;
        }

        end = p->pos;
        ch = ngx_k8s_metrics_sel_read(p);

        if (ch == '=' && (first == '=' || first == '!')) {
            tok = (first == '=') ? NGX_K8S_METRICS_TOK_DOUBLE_EQUALS
                                 : NGX_K8S_METRICS_TOK_NOT_EQUALS;
            end = p->pos;
            ch = ngx_k8s_metrics_sel_read(p);
        }

        if (ch != 0) {
            p->pos--;
        }

        lit->data = p->text + start;
        lit->len = end - start;

        return tok;
    }

    for ( ;; ) {
        end = p->pos;
        ch = ngx_k8s_metrics_sel_read(p);

        if (ch == 0) {
            break;
        }

        if (ngx_k8s_metrics_sel_special(ch) || ngx_k8s_metrics_sel_space(ch)) {
            p->pos--;
            break;
        }
    }

    lit->data = p->text + start;
    lit->len = end - start;

    if (lit->len == 2 && ngx_strncmp(lit->data, "in", 2) == 0) {
        return NGX_K8S_METRICS_TOK_IN;
    }

    if (lit->len == 5 && ngx_strncmp(lit->data, "notin", 5) == 0) {
        return NGX_K8S_METRICS_TOK_NOT_IN;
    }

    return NGX_K8S_METRICS_TOK_IDENT;
}


static void
ngx_k8s_metrics_sel_found(ngx_k8s_metrics_sel_parser_t *p, ngx_str_t *lit,
    char *expected)
{
    ngx_k8s_metrics_sel_literal(&p->msg, "found '");
    ngx_k8s_metrics_sel_append(&p->msg, lit->data, lit->len);
    ngx_k8s_metrics_sel_append(&p->msg, (u_char *) expected,
                               ngx_strlen(expected));
}


/* "data" is never NULL, not even for an empty value */

static ngx_int_t
ngx_k8s_metrics_sel_push_value(ngx_array_t *values, u_char *data, size_t len)
{
    ngx_str_t  *v;

    v = ngx_array_push(values);
    if (v == NULL) {
        return NGX_ERROR;
    }

    v->data = data;
    v->len = len;

    return NGX_OK;
}


/* a heap sort: no allocation, and no quadratic time on long selectors */

void
ngx_k8s_metrics_sel_sort(ngx_str_t *a, ngx_uint_t n)
{
    ngx_str_t   t;
    ngx_uint_t  i, end, root, child;

    for (i = n / 2; n > 1; /* void */) {

        if (i > 0) {
            end = n;
            root = --i;

        } else {
            end = --n;
            t = a[0]; a[0] = a[n]; a[n] = t;
            root = 0;
        }

        for ( ;; ) {
            child = 2 * root + 1;

            if (child >= end) {
                break;
            }

            if (child + 1 < end
                && ngx_k8s_metrics_sel_cmp(&a[child], &a[child + 1]) < 0)
            {
                child++;
            }

            if (ngx_k8s_metrics_sel_cmp(&a[root], &a[child]) >= 0) {
                break;
            }

            t = a[root]; a[root] = a[child]; a[child] = t;
            root = child;
        }
    }
}


/* Go's string order: bytes, then length */

ngx_int_t
ngx_k8s_metrics_sel_cmp(ngx_str_t *a, ngx_str_t *b)
{
    size_t     len;
    ngx_int_t  rc;

    /* an empty value's data may be NULL */

    len = ngx_min(a->len, b->len);
    rc = len ? ngx_memcmp(a->data, b->data, len) : 0;

    if (rc != 0 || a->len == b->len) {
        return rc;
    }

    return (a->len < b->len) ? -1 : 1;
}


/* content.IsLabelKey(): an optional DNS subdomain prefix and a name */

static ngx_uint_t
ngx_k8s_metrics_sel_check_key(ngx_str_t *key)
{
    u_char      *slash, *name, *last;
    size_t       len;
    ngx_uint_t   problems;

    problems = 0;
    last = key->data + key->len;
    name = key->data;

    slash = ngx_strlchr(key->data, last, '/');

    if (slash) {
        if (ngx_strlchr(slash + 1, last, '/')) {
            return NGX_K8S_METRICS_SEL_KEY_SLASHES;
        }

        len = slash - key->data;

        if (len == 0) {
            problems |= NGX_K8S_METRICS_SEL_PREFIX_EMPTY;

        } else {
            if (len > NGX_K8S_METRICS_SEL_SUBDOMAIN_LEN) {
                problems |= NGX_K8S_METRICS_SEL_PREFIX_LONG;
            }

            if (!ngx_k8s_metrics_sel_is_subdomain(key->data, len)) {
                problems |= NGX_K8S_METRICS_SEL_PREFIX_FORMAT;
            }
        }

        name = slash + 1;
    }

    len = last - name;

    if (len == 0) {
        problems |= NGX_K8S_METRICS_SEL_NAME_EMPTY;

    } else if (len > NGX_K8S_METRICS_SEL_NAME_LEN) {
        problems |= NGX_K8S_METRICS_SEL_NAME_LONG;
    }

    if (!ngx_k8s_metrics_sel_is_name(name, len)) {
        problems |= NGX_K8S_METRICS_SEL_NAME_FORMAT;
    }

    return problems;
}


/* content.IsLabelValue() */

static ngx_uint_t
ngx_k8s_metrics_sel_check_value(ngx_str_t *value)
{
    ngx_uint_t  problems;

    problems = 0;

    if (value->len > NGX_K8S_METRICS_SEL_NAME_LEN) {
        problems |= NGX_K8S_METRICS_SEL_VALUE_LONG;
    }

    if (value->len && !ngx_k8s_metrics_sel_is_name(value->data, value->len)) {
        problems |= NGX_K8S_METRICS_SEL_VALUE_FORMAT;
    }

    return problems;
}


/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */

static ngx_flag_t
ngx_k8s_metrics_sel_is_name(u_char *p, size_t len)
{
    size_t  i;

    if (len == 0
        || !ngx_k8s_metrics_sel_alnum(p[0])
        || !ngx_k8s_metrics_sel_alnum(p[len - 1]))
    {
        return 0;
    }

    for (i = 1; i < len - 1; i++) {
        if (!ngx_k8s_metrics_sel_alnum(p[i])
            && p[i] != '-' && p[i] != '_' && p[i] != '.')
        {
            return 0;
        }
    }

    return 1;
}


/* dot-separated ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ labels */

static ngx_flag_t
ngx_k8s_metrics_sel_is_subdomain(u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {

        if (p[i] == '.') {
            if (i == 0 || i == len - 1 || p[i - 1] == '.') {
                return 0;
            }

            continue;
        }

        if (ngx_k8s_metrics_sel_lower_alnum(p[i])) {
            continue;
        }

        if (p[i] != '-' || i == 0 || i == len - 1
            || p[i - 1] == '.' || p[i + 1] == '.')
        {
            return 0;
        }
    }

    return len > 0;
}


/* strconv.ParseInt(s, 10, 64) */

static ngx_int_t
ngx_k8s_metrics_sel_parse_int(ngx_str_t *s, int64_t *n)
{
    u_char      *p, *last;
    uint64_t     v, max;
    ngx_uint_t   neg, d;

    if (s->len == 0) {
        return NGX_ERROR;
    }

    p = s->data;
    last = p + s->len;
    neg = 0;

    if (*p == '+' || *p == '-') {
        neg = (*p++ == '-');

        if (p == last) {
            return NGX_ERROR;
        }
    }

    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;

    for (v = 0; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        d = *p - '0';

        if (v > (max - d) / 10) {
            return NGX_ERROR;
        }

        v = v * 10 + d;
    }

    if (neg) {
        *n = (v == (uint64_t) INT64_MAX + 1) ? INT64_MIN : - (int64_t) v;

    } else {
        *n = (int64_t) v;
    }

    return NGX_OK;
}


/* fields.UnescapeValue(): "\\", "\," and "\=" are the only escapes */

static ngx_int_t
ngx_k8s_metrics_sel_field_value(ngx_k8s_metrics_sel_msg_t *m, ngx_str_t *rhs,
    ngx_str_t *value)
{
    u_char      *p, *last, *d;
    size_t       w;
    uint32_t     rune;
    ngx_uint_t   escaped;

    last = rhs->data + rhs->len;

    for (p = rhs->data; p < last; p++) {
        if (*p == '\\' || *p == ',' || *p == '=') {
            break;
        }
    }

    if (p == last) {
        *value = *rhs;
        return NGX_OK;
    }

    /* Go copies rune by rune: an invalid byte becomes U+FFFD, 3 bytes */

    d = ngx_pnalloc(m->pool, 3 * rhs->len);
    if (d == NULL) {
        return NGX_ERROR;
    }

    value->data = d;
    escaped = 0;

    for (p = rhs->data; p < last; p += w ? w : 1) {
        w = ngx_k8s_metrics_utf8_decode(p, last, &rune);

        if (escaped) {
            if (rune != '\\' && rune != ',' && rune != '=') {
                ngx_k8s_metrics_sel_literal(m, "invalid field selector: "
                                            "invalid escape sequence: \\");

                if (w) {
                    ngx_k8s_metrics_sel_append(m, p, w);

                } else {
                    ngx_k8s_metrics_sel_literal(m, "\xef\xbf\xbd");
                }

                return NGX_DECLINED;
            }

            *d++ = (u_char) rune;
            escaped = 0;
            continue;
        }

        if (rune == '\\') {
            escaped = 1;
            continue;
        }

        if (rune == ',' || rune == '=') {
            ngx_k8s_metrics_sel_literal(m, "invalid field selector: "
                                        "unescaped character in value: ");
            ngx_k8s_metrics_sel_append_uint(m, rune);
            return NGX_DECLINED;
        }

        if (w) {
            d = ngx_cpymem(d, p, w);

        } else {
            d = ngx_cpymem(d, "\xef\xbf\xbd", 3);
        }
    }

    if (escaped) {
        ngx_k8s_metrics_sel_literal(m, "invalid field selector: "
                                    "invalid escape sequence: \\");
        return NGX_DECLINED;
    }

    value->len = d - value->data;

    return NGX_OK;
}


/*
 * url.QueryUnescape(), as the apiserver reads the query: "+" is a space.
 * Go's url.ParseQuery() skips a parameter holding ';' or a bad "%"
 * escape, so such a selector is NGX_DECLINED here: absent, not invalid.
 */

static ngx_int_t
ngx_k8s_metrics_sel_unescape(ngx_pool_t *pool, ngx_str_t *text,
    ngx_str_t *out)
{
    u_char  *s, *last, *d, c;

    last = text->data + text->len;

    for (s = text->data; s < last; s++) {
        if (*s == ';') {
            return NGX_DECLINED;
        }

        if (*s == '%'
            && (last - s < 3
                || !ngx_k8s_metrics_sel_hex(s[1])
                || !ngx_k8s_metrics_sel_hex(s[2])))
        {
            return NGX_DECLINED;
        }
    }

    d = ngx_pnalloc(pool, text->len ? text->len : 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;

    for (s = text->data; s < last; s++) {

        if (*s == '+') {
            *d++ = ' ';
            continue;
        }

        if (*s != '%') {
            *d++ = *s;
            continue;
        }

        c = (u_char) (s[1] | 0x20);
        c = (c >= 'a') ? c - 'a' + 10 : c - '0';
        *d = (u_char) (c << 4);

        c = (u_char) (s[2] | 0x20);
        c = (c >= 'a') ? c - 'a' + 10 : c - '0';
        *d++ |= c;

        s += 2;
    }

    out->len = d - out->data;

    return NGX_OK;
}


static ngx_flag_t
ngx_k8s_metrics_sel_printable(uint32_t rune)
{
    ngx_uint_t  i;

    if (rune < 0x80) {
        return rune >= 0x20 && rune < 0x7f;
    }

    for (i = 0; i < sizeof(ngx_k8s_metrics_sel_unprintable)
                    / sizeof(ngx_k8s_metrics_sel_unprintable[0]); i++)
    {
        if (rune >= ngx_k8s_metrics_sel_unprintable[i][0]
            && rune <= ngx_k8s_metrics_sel_unprintable[i][1])
        {
            return 0;
        }
    }

    return 1;
}


static void
ngx_k8s_metrics_sel_append(ngx_k8s_metrics_sel_msg_t *m, u_char *data,
    size_t len)
{
    u_char  *p;
    size_t   size;

    if (m->nomem || len == 0) {
        return;
    }

    if ((size_t) (m->end - m->pos) < len) {
        size = 2 * (m->end - m->start) + len + 128;

        p = ngx_pnalloc(m->pool, size);
        if (p == NULL) {
            m->nomem = 1;
            return;
        }

        if (m->start) {
            ngx_memcpy(p, m->start, m->pos - m->start);
        }

        m->pos = p + (m->pos - m->start);
        m->start = p;
        m->end = p + size;
    }

    m->pos = ngx_cpymem(m->pos, data, len);
}


static void
ngx_k8s_metrics_sel_append_uint(ngx_k8s_metrics_sel_msg_t *m, ngx_uint_t n)
{
    u_char  buf[NGX_INT_T_LEN], *p;

    p = buf + NGX_INT_T_LEN;

    do {
        *--p = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    ngx_k8s_metrics_sel_append(m, p, buf + NGX_INT_T_LEN - p);
}


/* strconv.Quote(), as fmt's %q writes a string */

static void
ngx_k8s_metrics_sel_append_quoted(ngx_k8s_metrics_sel_msg_t *m, ngx_str_t *s)
{
    u_char    *p, *last, buf[10];
    size_t     w, n, i;
    uint32_t   rune;

    static u_char  hex[] = "0123456789abcdef";

    ngx_k8s_metrics_sel_literal(m, "\"");

    last = s->data + s->len;

    for (p = s->data; p < last; p += w ? w : 1) {
        w = ngx_k8s_metrics_utf8_decode(p, last, &rune);

        if (w == 0) {
            buf[0] = '\\';
            buf[1] = 'x';
            buf[2] = hex[*p >> 4];
            buf[3] = hex[*p & 0xf];
            ngx_k8s_metrics_sel_append(m, buf, 4);
            continue;
        }

        if (rune == '"' || rune == '\\') {
            buf[0] = '\\';
            buf[1] = (u_char) rune;
            ngx_k8s_metrics_sel_append(m, buf, 2);
            continue;
        }

        if (ngx_k8s_metrics_sel_printable(rune)) {
            ngx_k8s_metrics_sel_append(m, p, w);
            continue;
        }

        buf[0] = '\\';

        switch (rune) {
        case '\a':
            buf[1] = 'a';
            break;
        case '\b':
            buf[1] = 'b';
            break;
        case '\f':
            buf[1] = 'f';
            break;
        case '\n':
            buf[1] = 'n';
            break;
        case '\r':
            buf[1] = 'r';
            break;
        case '\t':
            buf[1] = 't';
            break;
        case '\v':
            buf[1] = 'v';
            break;
        default:
            buf[1] = 0;
        }

        if (buf[1]) {
            ngx_k8s_metrics_sel_append(m, buf, 2);
            continue;
        }

        if (rune < 0x80) {
            buf[1] = 'x';
            n = 2;

        } else if (rune < 0x10000) {
            buf[1] = 'u';
            n = 4;

        } else {
            buf[1] = 'U';
            n = 8;
        }

        for (i = 0; i < n; i++) {
            buf[2 + i] = hex[(rune >> (4 * (n - 1 - i))) & 0xf];
        }

        ngx_k8s_metrics_sel_append(m, buf, 2 + n);
    }

    ngx_k8s_metrics_sel_literal(m, "\"");
}


static void
ngx_k8s_metrics_sel_append_problems(ngx_k8s_metrics_sel_msg_t *m,
    ngx_uint_t problems)
{
    ngx_uint_t                      sep;
    ngx_k8s_metrics_sel_problem_t  *pr;

    sep = 0;

    for (pr = ngx_k8s_metrics_sel_problems; pr->bit; pr++) {
        if (!(problems & pr->bit)) {
            continue;
        }

        if (sep++) {
            ngx_k8s_metrics_sel_literal(m, "; ");
        }

        ngx_k8s_metrics_sel_append(m, pr->text.data, pr->text.len);
    }
}


/*
 * The message as the client reads it: Go's encoding/json writes each
 * byte that is not valid UTF-8 as U+FFFD, and so does this.
 */

static ngx_int_t
ngx_k8s_metrics_sel_error(ngx_k8s_metrics_sel_msg_t *m, ngx_str_t *error)
{
    ngx_str_t  text;

    if (m->nomem) {
        return NGX_ERROR;
    }

    text.data = m->start;
    text.len = m->pos - m->start;

    if (ngx_k8s_metrics_utf8_replace(m->pool, &text, error) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}
