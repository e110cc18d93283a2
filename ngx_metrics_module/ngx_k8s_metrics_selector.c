
/*
 * ngx_metrics_module: label selectors parsed as k8s.io/apimachinery's
 * pkg/labels parses them (its lexer and parser, labels.NewRequirement()'s
 * checks), with its error messages word for word (apimachinery v0.36, the
 * one metrics-server uses).  Field selectors are in _selector_field.c,
 * matching in _selector_match.c, the texts in _selector_text.c.  Pool
 * allocation only; the only nginx calls are ngx_palloc(), ngx_pnalloc(),
 * ngx_array_create() and ngx_array_push().
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_selector.h"
#include "ngx_k8s_metrics_selector_text.h"


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


#define ngx_k8s_metrics_sel_space(c)                                         \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

#define ngx_k8s_metrics_sel_special(c)                                       \
    ((c) == '=' || (c) == '!' || (c) == '(' || (c) == ')' || (c) == ','      \
     || (c) == '>' || (c) == '<')


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
