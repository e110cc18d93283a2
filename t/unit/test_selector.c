
/*
 * Unit test of ngx_k8s_metrics_selector*.c: label and field selectors.
 *
 * Linked with t/unit's pool (unit_pool.c: ngx_palloc() and friends over
 * malloc(), one block per allocation, with a failure injector).  The
 * expected messages are Kubernetes' own, from k8s.io/apimachinery v0.36:
 * pkg/labels/selector.go, pkg/fields/selector.go, pkg/api/validate/content,
 * pkg/util/validation/field and pkg/runtime/conversion.go.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_selector.h"

#include "unit_pool.h"

#include <stdio.h>
#include <string.h>
#include <stdarg.h>


/* objects: NULL-terminated key, value, key, value... */

typedef struct {
    const char  **kv;
    ngx_str_t     value;
} test_object_t;


static ngx_str_t *
test_lookup(void *data, ngx_str_t *key)
{
    const char     **kv;
    test_object_t   *o;

    o = data;

    for (kv = o->kv; kv && kv[0]; kv += 2) {
        if (strlen(kv[0]) == key->len
            && memcmp(kv[0], key->data, key->len) == 0)
        {
            o->value.data = (u_char *) kv[1];
            o->value.len = strlen(kv[1]);
            return &o->value;
        }
    }

    return NULL;
}


#define OBJ(...)   ((const char *[]) { __VA_ARGS__, NULL })
#define NONE       ((const char *[]) { NULL })

#define LABEL      0
#define FIELD      1


static int  passed, failed;


static ngx_int_t
test_parse(int kind, const char *text, size_t len, ngx_array_t **reqs,
    ngx_str_t *error)
{
    ngx_str_t  s;

    s.data = (u_char *) text;
    s.len = len;

    ngx_str_null(error);

    if (kind == FIELD) {
        return ngx_k8s_metrics_field_selector_parse(unit_pool, &s, reqs,
                                                    error);
    }

    return ngx_k8s_metrics_label_selector_parse(unit_pool, &s, reqs, error);
}


static void
result(int ok, int line, const char *text, const char *what)
{
    if (ok) {
        passed++;
        return;
    }

    failed++;
    printf("FAIL line %d: selector \"%s\": %s\n", line, text, what);
}


/* the selector parses, and matches each object as told */

static void
test_match(int line, int kind, const char *text, size_t len, ...)
{
    int             want;
    va_list         args;
    ngx_int_t       rc;
    ngx_str_t       error;
    const char    **kv;
    ngx_array_t    *reqs;
    test_object_t   o;
    char            what[256];

    rc = test_parse(kind, text, len, &reqs, &error);

    if (rc != NGX_OK || reqs == NULL) {
        snprintf(what, sizeof(what), "rc %d, error \"%.*s\"", (int) rc,
                 (int) error.len, error.data);
        result(0, line, text, what);
        unit_pool_reset();
        return;
    }

    va_start(args, len);

    for ( ;; ) {
        kv = va_arg(args, const char **);
        if (kv == NULL) {
            break;
        }

        want = va_arg(args, int);

        o.kv = kv;

        snprintf(what, sizeof(what), "object {%s%s%s...} expected %s",
                 kv[0] ? kv[0] : "", kv[0] ? "=" : "", kv[0] ? kv[1] : "",
                 want ? "to match" : "not to match");

        result(ngx_k8s_metrics_selector_matches(reqs, test_lookup, &o)
               == want, line, text, what);
    }

    va_end(args);

    unit_pool_reset();
}


#define MATCH(kind, text, ...)                                               \
    test_match(__LINE__, kind, text, sizeof(text) - 1, __VA_ARGS__, NULL)


/* the selector parses to these many requirements */

static void
test_count(int line, int kind, const char *text, size_t len, ngx_uint_t n)
{
    ngx_int_t     rc;
    ngx_str_t     error;
    ngx_array_t  *reqs;
    char          what[256];

    rc = test_parse(kind, text, len, &reqs, &error);

    snprintf(what, sizeof(what), "expected %u requirements, rc %d, %u",
             (unsigned) n, (int) rc,
             (unsigned) (rc == NGX_OK && reqs ? reqs->nelts : 0));

    result(rc == NGX_OK && reqs && reqs->nelts == n, line, text, what);

    unit_pool_reset();
}


#define COUNT(kind, text, n)                                                 \
    test_count(__LINE__, kind, text, sizeof(text) - 1, n)


/* the selector is rejected with exactly this message */

static void
test_error(int line, int kind, const char *text, size_t len,
    const char *message)
{
    ngx_int_t     rc;
    ngx_str_t     error;
    ngx_array_t  *reqs;
    char          what[4096];

    rc = test_parse(kind, text, len, &reqs, &error);

    if (rc != NGX_DECLINED) {
        snprintf(what, sizeof(what), "expected an error, rc %d", (int) rc);
        result(0, line, text, what);

    } else {
        snprintf(what, sizeof(what), "\n  expected: %s\n  got:      %.*s",
                 message, (int) error.len, error.data);
        result(error.len == strlen(message)
               && memcmp(error.data, message, error.len) == 0
               && reqs == NULL,
               line, text, what);
    }

    unit_pool_reset();
}


#define ERROR(kind, text, message)                                           \
    test_error(__LINE__, kind, text, sizeof(text) - 1, message)


/*
 * each allocation in turn fails: the parser answers NGX_ERROR, or, when
 * the failed allocation was not needed, the answer it gives without one
 */

static void
test_nomem(int line, int kind, const char *text, size_t len)
{
    long          k, total;
    ngx_int_t     rc, want;
    ngx_str_t     error, want_error;
    ngx_uint_t    n;
    ngx_array_t  *reqs;
    char          what[256], copy[4096];

    want = test_parse(kind, text, len, &reqs, &want_error);
    n = (want == NGX_OK) ? reqs->nelts : 0;
    total = unit_pool_allocs();

    if (want_error.len > sizeof(copy)) {
        result(0, line, text, "message too long for the test");
        unit_pool_reset();
        return;
    }

    if (want_error.len) {
        memcpy(copy, want_error.data, want_error.len);
    }
    unit_pool_reset();

    for (k = 0; k < total; k++) {
        unit_pool_fail_at(k);

        rc = test_parse(kind, text, len, &reqs, &error);

        snprintf(what, sizeof(what), "allocation %ld of %ld failed: rc %d",
                 k, total, (int) rc);

        if (rc == NGX_ERROR) {
            result(reqs == NULL, line, text, what);

        } else if (rc == NGX_OK) {
            result(want == NGX_OK && reqs->nelts == n, line, text, what);

        } else {
            result(want == NGX_DECLINED && error.len == want_error.len
                   && memcmp(error.data, copy, error.len) == 0,
                   line, text, what);
        }

        unit_pool_reset();
    }

    result(total > 0, line, text, "no allocation at all");
}


#define NOMEM(kind, text)                                                    \
    test_nomem(__LINE__, kind, text, sizeof(text) - 1)


/* Kubernetes' texts, as apimachinery writes them */

#define PARSE    "unable to parse requirement: "

#define NAME_MSG                                                             \
    "must consist of alphanumeric characters, '-', '_' or '.', and must "    \
    "start and end with an alphanumeric character (e.g. 'MyName',  or "      \
    "'my.name',  or '123-abc', regex used for validation is "                \
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

#define KEY_MSG                                                              \
    "a valid label key " NAME_MSG " with an optional DNS subdomain prefix "  \
    "and '/' (e.g. 'example.com/MyName')"

#define SUBDOMAIN_MSG                                                        \
    "a lowercase RFC 1123 subdomain must consist of lower case "             \
    "alphanumeric characters, '-' or '.', and must start and end with an "   \
    "alphanumeric character (e.g. 'example.com', regex used for "            \
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?"                           \
    "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

#define VALUE_MSG                                                            \
    "a valid label must be an empty string or consist of alphanumeric "      \
    "characters, '-', '_' or '.', and must start and end with an "           \
    "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "  \
    "regex used for validation is "                                          \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

#define OPS      "in, notin, =, ==, !=, gt, lt"

#define INTEGER  "for 'Gt', 'Lt' operators, the value must be an integer"

#define UNKNOWN(f)                                                           \
    "\"" f "\" is not a known field selector: only \"metadata.name\", "      \
    "\"metadata.namespace\""

#define A63                                                                  \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


static void
test_labels(void)
{
    /* empty selectors select everything */

    COUNT(LABEL, "", 0);
    COUNT(LABEL, " \t\r\n ", 0);
    MATCH(LABEL, "", OBJ("app", "web"), 1, NONE, 1);

    /* every operator */

    MATCH(LABEL, "app=web",
          OBJ("app", "web"), 1, OBJ("app", "db"), 0, NONE, 0,
          OBJ("tier", "web"), 0);

    MATCH(LABEL, "app==web",
          OBJ("app", "web"), 1, OBJ("app", "db"), 0, NONE, 0);

    MATCH(LABEL, "app!=web",
          OBJ("app", "web"), 0, OBJ("app", "db"), 1, NONE, 1);

    MATCH(LABEL, "app in (web,db)",
          OBJ("app", "web"), 1, OBJ("app", "db"), 1, OBJ("app", "x"), 0,
          NONE, 0);

    MATCH(LABEL, "app notin (web,db)",
          OBJ("app", "web"), 0, OBJ("app", "db"), 0, OBJ("app", "x"), 1,
          NONE, 1);

    MATCH(LABEL, "app",
          OBJ("app", "web"), 1, OBJ("app", ""), 1, OBJ("tier", "x"), 0,
          NONE, 0);

    MATCH(LABEL, "!app",
          OBJ("app", "web"), 0, OBJ("app", ""), 0, OBJ("tier", "x"), 1,
          NONE, 1);

    MATCH(LABEL, "replicas>2",
          OBJ("replicas", "3"), 1, OBJ("replicas", "2"), 0,
          OBJ("replicas", "x"), 0, NONE, 0);

    MATCH(LABEL, "replicas<2",
          OBJ("replicas", "1"), 1, OBJ("replicas", "2"), 0,
          OBJ("replicas", "-5"), 1, NONE, 0);

    MATCH(LABEL, "big>9223372036854775806",
          OBJ("big", "9223372036854775807"), 1,
          OBJ("big", "9223372036854775808"), 0);

    /* empty values */

    MATCH(LABEL, "app=", OBJ("app", ""), 1, OBJ("app", "x"), 0, NONE, 0);
    MATCH(LABEL, "app==", OBJ("app", ""), 1, OBJ("app", "x"), 0, NONE, 0);
    MATCH(LABEL, "app!=", OBJ("app", ""), 0, OBJ("app", "x"), 1, NONE, 1);
    MATCH(LABEL, "app=,tier", OBJ("app", "", "tier", "t"), 1);
    MATCH(LABEL, "app in ()", OBJ("app", ""), 1, OBJ("app", "x"), 0);
    MATCH(LABEL, "app in (,x)", OBJ("app", ""), 1, OBJ("app", "x"), 1,
          OBJ("app", "y"), 0);
    MATCH(LABEL, "app in (x,)", OBJ("app", ""), 1, OBJ("app", "x"), 1);
    MATCH(LABEL, "app in (x,,y)", OBJ("app", ""), 1, OBJ("app", "y"), 1,
          OBJ("app", "z"), 0);

    /* apimachinery's own example */

    MATCH(LABEL, "x in (foo,,baz),y,z notin ()",
          OBJ("x", "foo", "y", "1"), 1,
          OBJ("x", "", "y", "1", "z", "a"), 1,
          OBJ("x", "foo", "y", "1", "z", ""), 0,
          OBJ("x", "bar", "y", "1"), 0,
          OBJ("x", "foo"), 0);

    /* several requirements: all of them */

    MATCH(LABEL, "app=web,tier!=db,env,!legacy",
          OBJ("app", "web", "env", "prod"), 1,
          OBJ("app", "web", "env", "prod", "tier", "db"), 0,
          OBJ("app", "web"), 0,
          OBJ("app", "web", "env", "prod", "legacy", "1"), 0,
          OBJ("app", "db", "env", "prod"), 0);

    COUNT(LABEL, "a,a,a", 3);

    /* whitespace: spaces, tabs, CR and LF around any token */

    MATCH(LABEL, "  app  =  web  ,\ttier\nin\r( a ,  b )  ",
          OBJ("app", "web", "tier", "b"), 1, OBJ("app", "web"), 0);

    MATCH(LABEL, "app in(web)", OBJ("app", "web"), 1);
    MATCH(LABEL, "app notin(web)", OBJ("app", "web"), 0, NONE, 1);
    MATCH(LABEL, "! app", OBJ("app", "web"), 0, NONE, 1);

    /* "in" and "notin" are keys and values too */

    MATCH(LABEL, "in in (in,notin)",
          OBJ("in", "in"), 1, OBJ("in", "notin"), 1, OBJ("in", "x"), 0);
    MATCH(LABEL, "notin=in", OBJ("notin", "in"), 1);
    MATCH(LABEL, "in", OBJ("in", "x"), 1, NONE, 0);
    MATCH(LABEL, "!notin", OBJ("notin", "x"), 0, NONE, 1);

    /* keys with a prefix, long keys and values */

    MATCH(LABEL, "app.kubernetes.io/name=web",
          OBJ("app.kubernetes.io/name", "web"), 1, OBJ("name", "web"), 0);
    MATCH(LABEL, "k8s-app=kube-dns", OBJ("k8s-app", "kube-dns"), 1);
    MATCH(LABEL, A63 "=" A63, OBJ(A63, A63), 1);
    MATCH(LABEL, "My_Key.1=Some-Value_2.x", OBJ("My_Key.1", "Some-Value_2.x"),
          1);

    /* the query string: percent-decoding and '+' */

    MATCH(LABEL, "app%3Dweb", OBJ("app", "web"), 1);
    MATCH(LABEL, "app+in+%28web%2Cdb%29", OBJ("app", "db"), 1,
          OBJ("app", "x"), 0);
    MATCH(LABEL, "app%20notin%20(web)", OBJ("app", "web"), 0, NONE, 1);
    MATCH(LABEL, "%21app", OBJ("app", "web"), 0, NONE, 1);
    MATCH(LABEL, "app%3dweb%2ctier%21%3Ddb",
          OBJ("app", "web"), 1, OBJ("app", "web", "tier", "db"), 0);

    /* Go's url.ParseQuery() drops these values: nothing is selected out */

    COUNT(LABEL, "app%3", 0);
    COUNT(LABEL, "app%zzweb", 0);
    COUNT(LABEL, "app=web;tier=db", 0);
    MATCH(LABEL, "app=%", OBJ("app", "web"), 1, NONE, 1);

    /* a NUL ends the selector where a token starts, and a token in it */

    COUNT(LABEL, "%00app=web", 0);
    ERROR(LABEL, "app=web,%00", "found '', expected: identifier after ','");
    MATCH(LABEL, "app=%00web", OBJ("app", "web"), 1);
    MATCH(LABEL, "app=web%00,tier", OBJ("app", "web", "tier", "x"), 1,
          OBJ("app", "web"), 0);
}


static void
test_label_errors(void)
{
    /* syntax */

    ERROR(LABEL, "app=web tier",
          "found 'tier', expected: ',' or 'end of string'");
    ERROR(LABEL, "app web", PARSE "found 'web', expected: " OPS);
    ERROR(LABEL, "app!", PARSE "found '!', expected: " OPS);
    ERROR(LABEL, "app=>1", PARSE "found '>', expected: identifier");
    ERROR(LABEL, "app,", "found '', expected: identifier after ','");
    ERROR(LABEL, "app,,tier", "found ',', expected: identifier after ','");
    ERROR(LABEL, ",app",
          "found ',', expected: !, identifier, or 'end of string'");
    ERROR(LABEL, "=web",
          "found '=', expected: !, identifier, or 'end of string'");
    ERROR(LABEL, "(app)",
          "found '(', expected: !, identifier, or 'end of string'");
    ERROR(LABEL, "!", PARSE "found '', expected: identifier");
    ERROR(LABEL, "!!app", PARSE "found '!', expected: identifier");
    ERROR(LABEL, "!app=web", "found '=', expected: ',' or 'end of string'");
    ERROR(LABEL, "app=(web)", PARSE "found '(', expected: identifier");
    ERROR(LABEL, "app===", PARSE "found '=', expected: identifier");
    ERROR(LABEL, "app=!web", PARSE "found '!', expected: identifier");
    ERROR(LABEL, "app in web", PARSE "found 'web' expected: '('");
    ERROR(LABEL, "app in", PARSE "found '' expected: '('");
    ERROR(LABEL, "app in (web", PARSE "found '', expected: ',' or ')'");
    ERROR(LABEL, "app in (web db)", PARSE "found 'db', expected: ',' or ')'");
    ERROR(LABEL, "app in (=)",
          PARSE "found '=', expected: ',', ')' or identifier");
    ERROR(LABEL, "app in (",
          PARSE "found '', expected: ',', ')' or identifier");
    ERROR(LABEL, "app in (web,=)",
          PARSE "found '=', expected: ',', or identifier");
    ERROR(LABEL, "app in (web,",
          PARSE "found '', expected: ',', or identifier");
    ERROR(LABEL, "app notin ((web))",
          PARSE "found '(', expected: ',', ')' or identifier");
    ERROR(LABEL, "app in (web),", "found '', expected: identifier after ','");
    ERROR(LABEL, "app in (web) x",
          "found 'x', expected: ',' or 'end of string'");
    ERROR(LABEL, "app=web%00garbage",
          "found 'garbage', expected: ',' or 'end of string'");
    ERROR(LABEL, "app=web+tier", "found 'tier', expected: ',' or "
          "'end of string'");

    /* invalid keys */

    ERROR(LABEL, "a$b=c", PARSE "<nil>: Invalid value: \"a$b\": name part "
          NAME_MSG);
    ERROR(LABEL, "-app", PARSE "<nil>: Invalid value: \"-app\": name part "
          NAME_MSG);
    ERROR(LABEL, "!app-", PARSE "<nil>: Invalid value: \"app-\": name part "
          NAME_MSG);
    ERROR(LABEL, "a/b/c=d", PARSE "<nil>: Invalid value: \"a/b/c\": "
          KEY_MSG);
    ERROR(LABEL, "/app", PARSE "<nil>: Invalid value: \"/app\": "
          "prefix part must be non-empty");
    ERROR(LABEL, "Example.com/app", PARSE "<nil>: Invalid value: "
          "\"Example.com/app\": prefix part " SUBDOMAIN_MSG);
    ERROR(LABEL, "example..com/app", PARSE "<nil>: Invalid value: "
          "\"example..com/app\": prefix part " SUBDOMAIN_MSG);
    ERROR(LABEL, "example.com/", PARSE "<nil>: Invalid value: "
          "\"example.com/\": name part must be non-empty; name part "
          NAME_MSG);
    ERROR(LABEL, "-x/", PARSE "<nil>: Invalid value: \"-x/\": prefix part "
          SUBDOMAIN_MSG "; name part must be non-empty; name part "
          NAME_MSG);
    ERROR(LABEL, A63 "a", PARSE "<nil>: Invalid value: \"" A63 "a\": "
          "name part must be no more than 63 bytes");
    ERROR(LABEL, A63 "a$", PARSE "<nil>: Invalid value: \"" A63 "a$\": "
          "name part must be no more than 63 bytes; name part " NAME_MSG);
    ERROR(LABEL,
          A63 "." A63 "." A63 "." A63 ".aa/x",
          PARSE "<nil>: Invalid value: \"" A63 "." A63 "." A63 "." A63
          ".aa/x\": prefix part must be no more than 253 bytes");

    /* invalid values: sorted, numbered, bracketed when several */

    ERROR(LABEL, "app=web$", PARSE "values[0][app]: Invalid value: "
          "\"web$\": " VALUE_MSG);
    ERROR(LABEL, "app=-web", PARSE "values[0][app]: Invalid value: "
          "\"-web\": " VALUE_MSG);
    ERROR(LABEL, "app=" A63 "a", PARSE "values[0][app]: Invalid value: \""
          A63 "a\": must be no more than 63 bytes");
    ERROR(LABEL, "app=" A63 "$", PARSE "values[0][app]: Invalid value: \""
          A63 "$\": must be no more than 63 bytes; " VALUE_MSG);
    ERROR(LABEL, "app in (z$,ok,y$,z$)", PARSE "[values[1][app]: Invalid "
          "value: \"y$\": " VALUE_MSG ", values[2][app]: Invalid value: "
          "\"z$\": " VALUE_MSG "]");
    ERROR(LABEL, "app.kubernetes.io/name notin (a/b)",
          PARSE "values[0][app.kubernetes.io/name]: Invalid value: \"a/b\": "
          VALUE_MSG);

    ERROR(LABEL, "replicas>x", PARSE "values[0]: Invalid value: \"x\": "
          INTEGER);
    ERROR(LABEL, "replicas<", PARSE "values[0]: Invalid value: \"\": "
          INTEGER);
    ERROR(LABEL, "replicas>99999999999999999999", PARSE "values[0]: Invalid "
          "value: \"99999999999999999999\": " INTEGER);
    ERROR(LABEL, "replicas>-1", PARSE "values[0][replicas]: Invalid value: "
          "\"-1\": " VALUE_MSG);
    ERROR(LABEL, "replicas>x$", PARSE "[values[0]: Invalid value: \"x$\": "
          INTEGER ", values[0][replicas]: Invalid value: \"x$\": "
          VALUE_MSG "]");

    /* the first error wins */

    ERROR(LABEL, "a$=b,c=d$", PARSE "<nil>: Invalid value: \"a$\": "
          "name part " NAME_MSG);
    ERROR(LABEL, "a=b$,c$", PARSE "values[0][a]: Invalid value: \"b$\": "
          VALUE_MSG);

    /* values quoted as Go's %q, messages made valid UTF-8 */

    ERROR(LABEL, "app=%22web%22", PARSE "values[0][app]: Invalid value: "
          "\"\\\"web\\\"\": " VALUE_MSG);
    ERROR(LABEL, "app=a%5Cb", PARSE "values[0][app]: Invalid value: "
          "\"a\\\\b\": " VALUE_MSG);
    ERROR(LABEL, "app=web%01%07%0B%7F", PARSE "values[0][app]: Invalid "
          "value: \"web\\x01\\a\\v\\x7f\": " VALUE_MSG);
    ERROR(LABEL, "app=%C3%A9t%C3%A9", PARSE "values[0][app]: Invalid "
          "value: \"\xc3\xa9t\xc3\xa9\": " VALUE_MSG);
    ERROR(LABEL, "app=a%C2%A0b%E2%80%8B", PARSE "values[0][app]: Invalid "
          "value: \"a\\u00a0b\\u200b\": " VALUE_MSG);
    ERROR(LABEL, "app=%F3%B0%80%80", PARSE "values[0][app]: Invalid "
          "value: \"\\U000f0000\": " VALUE_MSG);
    ERROR(LABEL, "app=%FFweb%C3", PARSE "values[0][app]: Invalid "
          "value: \"\\xffweb\\xc3\": " VALUE_MSG);
    ERROR(LABEL, "%E2%82%AC=1", PARSE "<nil>: Invalid value: \"\xe2\x82\xac\""
          ": name part " NAME_MSG);
    ERROR(LABEL, "app=web %FF%FE", "found '\xef\xbf\xbd\xef\xbf\xbd', "
          "expected: ',' or 'end of string'");
}


static void
test_fields(void)
{
    COUNT(FIELD, "", 0);
    COUNT(FIELD, ",,,", 0);

    MATCH(FIELD, "metadata.name=node-1",
          OBJ("metadata.name", "node-1"), 1,
          OBJ("metadata.name", "node-2"), 0);

    MATCH(FIELD, "metadata.name==node-1",
          OBJ("metadata.name", "node-1"), 1,
          OBJ("metadata.name", "node-2"), 0);

    MATCH(FIELD, "metadata.name!=node-1",
          OBJ("metadata.name", "node-1"), 0,
          OBJ("metadata.name", "node-2"), 1);

    MATCH(FIELD, "metadata.namespace=kube-system,metadata.name!=coredns",
          OBJ("metadata.namespace", "kube-system", "metadata.name", "x"), 1,
          OBJ("metadata.namespace", "kube-system",
              "metadata.name", "coredns"), 0,
          OBJ("metadata.namespace", "default", "metadata.name", "x"), 0);

    MATCH(FIELD, ",metadata.name=a,,",
          OBJ("metadata.name", "a"), 1, OBJ("metadata.name", "b"), 0);

    /* an absent field reads as "": nodes have no namespace */

    MATCH(FIELD, "metadata.namespace=",
          OBJ("metadata.name", "n"), 1,
          OBJ("metadata.namespace", "default"), 0);
    MATCH(FIELD, "metadata.namespace!=",
          OBJ("metadata.name", "n"), 0,
          OBJ("metadata.namespace", "default"), 1);
    MATCH(FIELD, "metadata.namespace!=default",
          OBJ("metadata.name", "n"), 1);
    MATCH(FIELD, "metadata.namespace=default",
          OBJ("metadata.name", "n"), 0);

    /* escapes, and no trimming of values */

    MATCH(FIELD, "metadata.name=a\\,b",
          OBJ("metadata.name", "a,b"), 1, OBJ("metadata.name", "a"), 0);
    MATCH(FIELD, "metadata.name=a\\=b\\\\c",
          OBJ("metadata.name", "a=b\\c"), 1);
    MATCH(FIELD, "metadata.name= a ",
          OBJ("metadata.name", " a "), 1, OBJ("metadata.name", "a"), 0);
    MATCH(FIELD, "metadata.name=a+b",
          OBJ("metadata.name", "a b"), 1, OBJ("metadata.name", "a+b"), 0);
    MATCH(FIELD, "metadata.name%3Dx%2Cmetadata.namespace%21%3Dy",
          OBJ("metadata.name", "x", "metadata.namespace", "z"), 1,
          OBJ("metadata.name", "x", "metadata.namespace", "y"), 0);

    /* dropped by url.ParseQuery() */

    COUNT(FIELD, "metadata.name=a%", 0);
    COUNT(FIELD, "metadata.name=a;b", 0);

    /* errors */

    ERROR(FIELD, "metadata.name",
          "invalid selector: 'metadata.name'; can't understand "
          "'metadata.name'");
    ERROR(FIELD, "metadata.name=a,metadata.namespace",
          "invalid selector: 'metadata.name=a,metadata.namespace'; "
          "can't understand 'metadata.namespace'");
    ERROR(FIELD, "spec.nodeName=node-1", UNKNOWN("spec.nodeName"));
    ERROR(FIELD, "status.phase!=Running", UNKNOWN("status.phase"));
    ERROR(FIELD, "metadata.labels=x", UNKNOWN("metadata.labels"));
    ERROR(FIELD, " metadata.name=x", UNKNOWN(" metadata.name"));
    ERROR(FIELD, "metadata.name =x", UNKNOWN("metadata.name "));
    ERROR(FIELD, "=x", UNKNOWN(""));
    ERROR(FIELD, "a%22b%0A=x", UNKNOWN("a\\\"b\\n"));
    ERROR(FIELD, "metadata.name=a=b",
          "invalid field selector: unescaped character in value: 61");
    ERROR(FIELD, "metadata.name!==b",
          "invalid field selector: unescaped character in value: 61");
    ERROR(FIELD, "metadata.name=a\\x",
          "invalid field selector: invalid escape sequence: \\x");
    ERROR(FIELD, "metadata.name=a\\%C3%A9",
          "invalid field selector: invalid escape sequence: \\\xc3\xa9");
    ERROR(FIELD, "metadata.name=a\\%FF",
          "invalid field selector: invalid escape sequence: \\\xef\xbf\xbd");
    ERROR(FIELD, "metadata.name=a\\",
          "invalid field selector: invalid escape sequence: \\");
    ERROR(FIELD, "metadata.name=a\\,x=%FF",
          "invalid field selector: unescaped character in value: 61");
    ERROR(FIELD, "x%FF",
          "invalid selector: 'x\xef\xbf\xbd'; can't understand "
          "'x\xef\xbf\xbd'");

    /* terms are sorted; syntax errors come before unknown fields */

    ERROR(FIELD, "z.bad,spec.nodeName=x",
          "invalid selector: 'z.bad,spec.nodeName=x'; can't understand "
          "'z.bad'");
    ERROR(FIELD, "b=1,a=2", UNKNOWN("a"));
    ERROR(FIELD, "spec.x=1,metadata.name=a\\q",
          "invalid field selector: invalid escape sequence: \\q");
}


static void
test_allocation_failures(void)
{
    NOMEM(LABEL, "app=web,tier in (a,b,c),!legacy,env");
    NOMEM(LABEL, "app+in+%28web%2Cdb%29");
    NOMEM(LABEL, "app in (z$,ok,y$,z$)");
    NOMEM(LABEL, "a/b/c=d");
    NOMEM(LABEL, "app=web tier");
    NOMEM(LABEL, "replicas>x$");
    NOMEM(FIELD, "metadata.name=a\\,b,metadata.namespace!=x");
    NOMEM(FIELD, "spec.nodeName=node-1");
    NOMEM(FIELD, "metadata.name=a\\x");
    NOMEM(FIELD, "z.bad,spec.nodeName=x");
}


static void
test_sort(void)
{
    ngx_str_t   a[64];
    ngx_uint_t  i, n, ok;
    u_char      buf[64][4];
    char        what[64];

    /* the heap sort on every length, with duplicates */

    for (n = 0; n <= 64; n++) {
        for (i = 0; i < n; i++) {
            buf[i][0] = (u_char) ('a' + (i * 7 + n) % 5);
            buf[i][1] = (u_char) ('a' + (i * 3) % 4);
            a[i].data = buf[i];
            a[i].len = 1 + (i % 3 == 0);
        }

        ngx_k8s_metrics_sel_sort(a, n);

        ok = 1;

        for (i = 1; i < n; i++) {
            if (ngx_k8s_metrics_sel_cmp(&a[i - 1], &a[i]) > 0) {
                ok = 0;
            }
        }

        snprintf(what, sizeof(what), "%u strings not sorted", (unsigned) n);
        result(ok, __LINE__, "(sort)", what);
    }
}


int
main(void)
{
    test_labels();
    test_label_errors();
    test_fields();
    test_allocation_failures();
    test_sort();

    printf("%d passed, %d failed\n", passed, failed);

    return failed ? 1 : 0;
}
