
/*
 * Fuzz target: ngx_k8s_metrics_label_selector_parse(),
 * ngx_k8s_metrics_field_selector_parse() and
 * ngx_k8s_metrics_selector_matches().
 *
 * Input: byte 0, bit 0: 0 label selector, 1 field selector; bits 1-7: N,
 * and when N > 0 a second parse runs with the (N-1)th allocation failing.
 * The rest is the raw query-string value (percent-escapes, "+").
 *
 * Invariants checked:
 *   - NGX_ERROR only when an allocation failed; NGX_DECLINED comes with
 *     a non-empty error that is valid UTF-8 (checked by a decoder of our
 *     own, RFC 3629); NGX_OK with an array;
 *   - what NGX_OK gives is valid as Kubernetes would have it: label keys
 *     are qualified names (optional DNS-1123 subdomain prefix), values
 *     are label values, sorted and unique; the operator has the number of
 *     values it takes (Gt/Lt: one integer); field selectors hold
 *     metadata.name / metadata.namespace with = or != and one value;
 *   - selector_matches() agrees with a matcher written here from
 *     k8s.io/apimachinery labels.Requirement.Matches / fields semantics,
 *     on fixed objects and on one built from the selector's own values;
 *   - printing the requirements back as Kubernetes writes them (String(),
 *     fields.EscapeValue, then percent-encoded) and parsing that gives
 *     the same requirements;
 *   - with an allocation failing, the result is NGX_ERROR or the very
 *     result of the clean run (a failure that did not matter).
 */


#include "fuzz_shim.h"

#include <errno.h>


typedef struct {
    const char  *key;
    const char  *value;
} kv_t;


typedef struct {
    const kv_t  *kv;
    size_t       n;
    ngx_str_t    value;         /* what lookup returns points here */
} object_t;


static const kv_t  labels_a[] = {
    { "app", "web" },
    { "tier", "frontend" },
    { "environment", "production" },
    { "release", "stable" },
    { "version", "5" },
    { "kubernetes.io/hostname", "node-1" },
    { "example.com/zone", "a" },
    { "empty", "" },
    { "big", "9223372036854775807" },
    { "neg", "-3" },
    { "in", "notin" },
};

static const kv_t  labels_b[] = {
    { "app", "db" },
    { "tier", "backend" },
    { "version", "12" },
    { "partition", "customerA" },
};

static const kv_t  fields_a[] = {
    { "metadata.name", "web-0" },
    { "metadata.namespace", "default" },
};

static const kv_t  fields_b[] = {
    { "metadata.name", "coredns-5d78c9869d-7xk2p" },
    { "metadata.namespace", "kube-system" },
};


#define NOBJ  4


static ngx_str_t *
lookup(void *data, ngx_str_t *key)
{
    size_t     i;
    object_t  *o = data;

    for (i = 0; i < o->n; i++) {
        if (strlen(o->kv[i].key) == key->len
            && memcmp(o->kv[i].key, key->data, key->len) == 0)
        {
            o->value.data = (u_char *) o->kv[i].value;
            o->value.len = strlen(o->kv[i].value);
            return &o->value;
        }
    }

    return NULL;
}


/* strconv.ParseInt(s, 10, 64) */

static int
parse_int(ngx_str_t *s, int64_t *v)
{
    size_t  i;
    char    buf[64];

    if (s->len == 0 || s->len >= sizeof(buf)) {
        return 0;
    }

    i = (s->data[0] == '+' || s->data[0] == '-');

    if (i == s->len) {
        return 0;
    }

    for ( /* void */ ; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return 0;
        }
    }

    memcpy(buf, s->data, s->len);
    buf[s->len] = '\0';

    errno = 0;
    *v = strtoll(buf, NULL, 10);

    return errno == 0;
}


static int
str_cmp(ngx_str_t *a, ngx_str_t *b)
{
    size_t  n = a->len < b->len ? a->len : b->len;
    int     rc = n ? memcmp(a->data, b->data, n) : 0;

    if (rc) {
        return rc;
    }

    return (a->len > b->len) - (a->len < b->len);
}


/* labels.Requirement.Matches(), fields: an absent field is "" */

static int
ref_matches(ngx_array_t *reqs, object_t *o)
{
    int64_t                         have, want;
    ngx_str_t                      *v, *values, empty = ngx_string("");
    ngx_uint_t                      i, j;
    int                             in;
    ngx_k8s_metrics_requirement_t  *r;

    r = reqs->elts;

    for (i = 0; i < reqs->nelts; i++) {
        v = lookup(o, &r[i].key);

        if (v == NULL && r[i].field) {
            v = &empty;
        }

        values = r[i].values.elts;
        in = 0;

        for (j = 0; v && j < r[i].values.nelts; j++) {
            if (str_cmp(&values[j], v) == 0) {
                in = 1;
            }
        }

        switch (r[i].op) {
        case NGX_K8S_METRICS_SEL_EQUALS:
        case NGX_K8S_METRICS_SEL_IN:
            if (!in) {
                return 0;
            }
            break;

        case NGX_K8S_METRICS_SEL_NOT_EQUALS:
        case NGX_K8S_METRICS_SEL_NOT_IN:
            if (in) {
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
            if (v == NULL || !parse_int(v, &have)
                || r[i].values.nelts != 1 || !parse_int(&values[0], &want))
            {
                return 0;
            }

            if (r[i].op == NGX_K8S_METRICS_SEL_GREATER_THAN
                ? !(have > want) : !(have < want))
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


#define alnum(c)                                                             \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z')              \
     || ((c) >= '0' && (c) <= '9'))


/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 bytes */

static int
valid_name(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > 63 || !alnum(p[0]) || !alnum(p[len - 1])) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!alnum(p[i]) && p[i] != '-' && p[i] != '_' && p[i] != '.') {
            return 0;
        }
    }

    return 1;
}


/* RFC 1123 subdomain: dot-separated [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 253 */

static int
valid_subdomain(const u_char *p, size_t len)
{
    size_t  i, start;

    if (len == 0 || len > 253) {
        return 0;
    }

    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && p[i] != '.') {
            if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')
                  || p[i] == '-'))
            {
                return 0;
            }

            continue;
        }

        /* a label p[start, i) */
        if (i == start || p[start] == '-' || p[i - 1] == '-') {
            return 0;
        }

        start = i + 1;
    }

    return 1;
}


static int
valid_key(ngx_str_t *k)
{
    u_char  *slash;

    slash = memchr(k->data, '/', k->len);

    if (slash == NULL) {
        return valid_name(k->data, k->len);
    }

    return valid_subdomain(k->data, slash - k->data)
           && valid_name(slash + 1, k->data + k->len - slash - 1);
}


static void
check_requirements(ngx_array_t *reqs, int field)
{
    int64_t                         n;
    ngx_str_t                      *v;
    ngx_uint_t                      i, j;
    ngx_k8s_metrics_requirement_t  *r;

    fuzz_assert(reqs != NULL, "NGX_OK without requirements");

    r = reqs->elts;

    for (i = 0; i < reqs->nelts; i++) {
        fuzz_assert(r[i].field == (unsigned) field, "field flag %u",
                    (unsigned) r[i].field);

        v = r[i].values.elts;

        for (j = 0; j < r[i].values.nelts; j++) {
            fuzz_assert(v[j].data != NULL, "value %lu: NULL data",
                        (unsigned long) j);
        }

        if (field) {
            fuzz_assert((r[i].key.len == 13
                         && memcmp(r[i].key.data, "metadata.name", 13) == 0)
                        || (r[i].key.len == 18
                            && memcmp(r[i].key.data, "metadata.namespace",
                                      18) == 0),
                        "field key accepted");
            fuzz_assert(r[i].op == NGX_K8S_METRICS_SEL_EQUALS
                        || r[i].op == NGX_K8S_METRICS_SEL_NOT_EQUALS,
                        "field op %d", (int) r[i].op);
            fuzz_assert(r[i].values.nelts == 1, "field: %lu values",
                        (unsigned long) r[i].values.nelts);
            continue;
        }

        fuzz_assert(valid_key(&r[i].key), "label key not a qualified name");

        switch (r[i].op) {
        case NGX_K8S_METRICS_SEL_EXISTS:
        case NGX_K8S_METRICS_SEL_NOT_EXISTS:
            fuzz_assert(r[i].values.nelts == 0, "exists: %lu values",
                        (unsigned long) r[i].values.nelts);
            break;

        case NGX_K8S_METRICS_SEL_EQUALS:
        case NGX_K8S_METRICS_SEL_NOT_EQUALS:
            fuzz_assert(r[i].values.nelts == 1, "=: %lu values",
                        (unsigned long) r[i].values.nelts);
            break;

        case NGX_K8S_METRICS_SEL_IN:
        case NGX_K8S_METRICS_SEL_NOT_IN:
            fuzz_assert(r[i].values.nelts >= 1, "in: no value");
            break;

        case NGX_K8S_METRICS_SEL_GREATER_THAN:
        case NGX_K8S_METRICS_SEL_LESS_THAN:
            fuzz_assert(r[i].values.nelts == 1 && parse_int(&v[0], &n),
                        "gt/lt: not one integer");
            break;

        default:
            fuzz_assert(0, "label op %d", (int) r[i].op);
        }

        for (j = 0; j < r[i].values.nelts; j++) {
            fuzz_assert(v[j].len == 0 || valid_name(v[j].data, v[j].len),
                        "label value %lu not valid", (unsigned long) j);

            fuzz_assert(j == 0 || str_cmp(&v[j - 1], &v[j]) < 0,
                        "values not sorted and unique at %lu",
                        (unsigned long) j);
        }
    }
}


static char *
str_dup(u_char *p, size_t n)
{
    char  *s;

    s = malloc(n + 1);
    if (s == NULL) {
        abort();
    }

    if (n) {
        memcpy(s, p, n);
    }

    s[n] = '\0';

    return s;
}


/* a growing byte string */

typedef struct {
    u_char  *data;
    size_t   len;
    size_t   size;
} buf_t;


static void
put(buf_t *b, const void *p, size_t n)
{
    if (b->data == NULL || b->len + n > b->size) {
        b->size = 2 * (b->len + n) + 64;
        b->data = realloc(b->data, b->size);
        if (b->data == NULL) {
            abort();
        }
    }

    if (n) {
        memcpy(b->data + b->len, p, n);
    }

    b->len += n;
}


#define puts_(b, s)  put(b, s, sizeof(s) - 1)


static void
put_num(buf_t *b, size_t n)
{
    char  tmp[32];

    put(b, tmp, snprintf(tmp, sizeof(tmp), "%zu:", n));
}


static int
blob_cmp(const void *a, const void *b)
{
    const buf_t  *x = a, *y = b;
    ngx_str_t     s, t;

    s.data = x->data;
    s.len = x->len;
    t.data = y->data;
    t.len = y->len;

    return str_cmp(&s, &t);
}


/* the requirements as one byte string, in an order of their own */

static void
canonical(ngx_array_t *reqs, buf_t *out)
{
    buf_t                          *each;
    ngx_str_t                      *v;
    ngx_uint_t                      i, j;
    ngx_k8s_metrics_requirement_t  *r;

    out->len = 0;
    r = reqs->elts;

    each = calloc(reqs->nelts + 1, sizeof(buf_t));
    if (each == NULL) {
        abort();
    }

    for (i = 0; i < reqs->nelts; i++) {
        put_num(&each[i], r[i].field);
        put_num(&each[i], r[i].op);
        put_num(&each[i], r[i].key.len);
        put(&each[i], r[i].key.data, r[i].key.len);
        put_num(&each[i], r[i].values.nelts);

        v = r[i].values.elts;

        for (j = 0; j < r[i].values.nelts; j++) {
            put_num(&each[i], v[j].len);
            put(&each[i], v[j].data, v[j].len);
        }
    }

    qsort(each, reqs->nelts, sizeof(buf_t), blob_cmp);

    puts_(out, "");

    for (i = 0; i < reqs->nelts; i++) {
        put_num(out, each[i].len);
        put(out, each[i].data, each[i].len);
        free(each[i].data);
    }

    free(each);
}


/* labels.Requirement.String(), joined by "," */

static void
print_labels(ngx_array_t *reqs, buf_t *out)
{
    ngx_str_t                      *v;
    ngx_uint_t                      i, j;
    ngx_k8s_metrics_requirement_t  *r;

    r = reqs->elts;

    for (i = 0; i < reqs->nelts; i++) {
        if (i) {
            puts_(out, ",");
        }

        if (r[i].op == NGX_K8S_METRICS_SEL_NOT_EXISTS) {
            puts_(out, "!");
        }

        put(out, r[i].key.data, r[i].key.len);

        v = r[i].values.elts;

        switch (r[i].op) {
        case NGX_K8S_METRICS_SEL_EQUALS:
            puts_(out, "=");
            break;
        case NGX_K8S_METRICS_SEL_NOT_EQUALS:
            puts_(out, "!=");
            break;
        case NGX_K8S_METRICS_SEL_GREATER_THAN:
            puts_(out, ">");
            break;
        case NGX_K8S_METRICS_SEL_LESS_THAN:
            puts_(out, "<");
            break;
        case NGX_K8S_METRICS_SEL_IN:
            puts_(out, " in (");
            break;
        case NGX_K8S_METRICS_SEL_NOT_IN:
            puts_(out, " notin (");
            break;
        default:
            continue;
        }

        for (j = 0; j < r[i].values.nelts; j++) {
            if (j) {
                puts_(out, ",");
            }

            put(out, v[j].data, v[j].len);
        }

        if (r[i].op == NGX_K8S_METRICS_SEL_IN
            || r[i].op == NGX_K8S_METRICS_SEL_NOT_IN)
        {
            puts_(out, ")");
        }
    }
}


/* fields: key, = or !=, EscapeValue(value), every byte percent-encoded */

static void
put_pct(buf_t *out, const u_char *p, size_t n)
{
    char    tmp[4];
    size_t  i;

    for (i = 0; i < n; i++) {
        snprintf(tmp, sizeof(tmp), "%%%02X", p[i]);
        put(out, tmp, 3);
    }
}


static void
print_fields(ngx_array_t *reqs, buf_t *out)
{
    u_char                          c[2];
    ngx_str_t                      *v;
    ngx_uint_t                      i, j;
    ngx_k8s_metrics_requirement_t  *r;

    r = reqs->elts;

    for (i = 0; i < reqs->nelts; i++) {
        if (i) {
            puts_(out, ",");
        }

        put_pct(out, r[i].key.data, r[i].key.len);

        if (r[i].op == NGX_K8S_METRICS_SEL_NOT_EQUALS) {
            put_pct(out, (u_char *) "!=", 2);

        } else {
            put_pct(out, (u_char *) "=", 1);
        }

        v = r[i].values.elts;

        for (j = 0; j < v[0].len; j++) {
            c[0] = '\\';
            c[1] = v[0].data[j];

            if (c[1] == '\\' || c[1] == ',' || c[1] == '=') {
                put_pct(out, c, 2);

            } else {
                put_pct(out, c + 1, 1);
            }
        }
    }
}


static ngx_int_t
parse(int field, u_char *text, size_t len, ngx_array_t **reqs,
    ngx_str_t *err)
{
    ngx_str_t  t;

    t.data = text;
    t.len = len;
    err->data = NULL;
    err->len = 0;

    return field
           ? ngx_k8s_metrics_field_selector_parse(fuzz_pool, &t, reqs, err)
           : ngx_k8s_metrics_label_selector_parse(fuzz_pool, &t, reqs, err);
}


static void
check_result(ngx_int_t rc, ngx_array_t *reqs, ngx_str_t *err, int field)
{
    fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED || rc == NGX_ERROR,
                "rc %ld", (long) rc);

    if (rc == NGX_DECLINED) {
        fuzz_assert(err->len > 0 && err->data != NULL, "empty error");
        fuzz_assert(fuzz_valid_utf8(err->data, err->len),
                    "error not UTF-8: %.*s", (int) err->len, err->data);
        fuzz_assert(reqs == NULL, "requirements with NGX_DECLINED");
    }

    if (rc == NGX_OK) {
        check_requirements(reqs, field);
    }
}


/* the outcome of a parse, kept across pool resets */

static void
outcome(ngx_int_t rc, ngx_array_t *reqs, ngx_str_t *err, buf_t *out)
{
    out->len = 0;
    put_num(out, (size_t) (rc + 10));

    if (rc == NGX_OK) {
        buf_t  c = { NULL, 0, 0 };

        canonical(reqs, &c);
        put(out, c.data, c.len);
        free(c.data);

    } else if (rc == NGX_DECLINED) {
        put(out, err->data, err->len);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int           field, m, i;
    long          fail;
    u_char       *text;
    size_t        len;
    kv_t          built[16];
    buf_t         first = { NULL, 0, 0 }, again = { NULL, 0, 0 },
                  printed = { NULL, 0, 0 };
    ngx_int_t     rc, rc2;
    ngx_str_t     err, err2, *v;
    ngx_uint_t    j, nb;
    ngx_array_t  *reqs, *reqs2;
    object_t      objs[NOBJ + 1];
    char         *keys[16], *vals[16];
    long          allocs;

    ngx_k8s_metrics_requirement_t  *r;

    if (size < 1) {
        return 0;
    }

    field = data[0] & 1;
    fail = (long) (data[0] >> 1) - 1;

    /* an exactly-sized copy: reads past the end are ASan reports */
    len = size - 1;
    text = malloc(len);
    if (text == NULL && len) {
        abort();
    }

    if (len) {
        memcpy(text, data + 1, len);
    }

    fuzz_pool_reset();

    rc = parse(field, text, len, &reqs, &err);

    fuzz_assert(rc != NGX_ERROR, "NGX_ERROR without a failed allocation");
    check_result(rc, reqs, &err, field);
    outcome(rc, reqs, &err, &first);

    allocs = fuzz_pool_allocs();

    if (rc == NGX_OK) {

        /* matching, against the reference */

        memset(objs, 0, sizeof(objs));

        if (field) {
            objs[0].kv = fields_a;
            objs[0].n = sizeof(fields_a) / sizeof(kv_t);
            objs[1].kv = fields_b;
            objs[1].n = sizeof(fields_b) / sizeof(kv_t);

        } else {
            objs[0].kv = labels_a;
            objs[0].n = sizeof(labels_a) / sizeof(kv_t);
            objs[1].kv = labels_b;
            objs[1].n = sizeof(labels_b) / sizeof(kv_t);
        }

        /* objs[2]: nothing at all */

        /* objs[3]: each key with its first value (or "" for exists) */

        r = reqs->elts;
        nb = 0;

        for (j = 0; j < reqs->nelts && nb < 16; j++) {
            if (r[j].op == NGX_K8S_METRICS_SEL_NOT_EXISTS) {
                continue;
            }

            v = r[j].values.elts;

            keys[nb] = str_dup(r[j].key.data, r[j].key.len);
            vals[nb] = r[j].values.nelts ? str_dup(v[0].data, v[0].len)
                                         : str_dup((u_char *) "", 0);

            built[nb].key = keys[nb];
            built[nb].value = vals[nb];
            nb++;
        }

        objs[3].kv = built;
        objs[3].n = nb;

        for (m = 0; m < NOBJ; m++) {
            fuzz_assert(ngx_k8s_metrics_selector_matches(reqs, lookup,
                                                         &objs[m])
                        == ref_matches(reqs, &objs[m]),
                        "object %d: matches() disagrees with the reference",
                        m);
        }

        fuzz_assert(ngx_k8s_metrics_selector_matches(NULL, lookup, &objs[0])
                    == 1, "NULL requirements match everything");

        /* printed back and parsed again: the same requirements (the
         * module never gets a NULL text: an empty one is not parsed) */

        puts_(&printed, "");

        if (field) {
            print_fields(reqs, &printed);

        } else {
            print_labels(reqs, &printed);
        }

        rc2 = parse(field, printed.data, printed.len, &reqs2, &err2);

        if (rc2 != NGX_OK) {
            fuzz_dump("printed", printed.data, printed.len);
        }

        fuzz_assert(rc2 == NGX_OK, "printed selector: rc %ld%s%.*s",
                    (long) rc2, rc2 == NGX_DECLINED ? ": " : "",
                    (int) err2.len, err2.data ? (char *) err2.data : "");

        outcome(rc2, reqs2, &err2, &again);

        if (again.len != first.len
            || memcmp(again.data, first.data, first.len) != 0)
        {
            fuzz_dump("printed", printed.data, printed.len);
        }

        fuzz_assert(again.len == first.len
                    && memcmp(again.data, first.data, first.len) == 0,
                    "printed selector parses to other requirements");

        for (m = 0; m < NOBJ; m++) {
            fuzz_assert(ngx_k8s_metrics_selector_matches(reqs2, lookup,
                                                         &objs[m])
                        == ngx_k8s_metrics_selector_matches(reqs, lookup,
                                                            &objs[m]),
                        "object %d: printed selector matches otherwise", m);
        }

        for (i = 0; i < (int) nb; i++) {
            free(keys[i]);
            free(vals[i]);
        }
    }

    /* an allocation failing: NGX_ERROR, or what the clean run gave */

    if (fail >= 0 && fail < allocs) {
        fuzz_pool_reset();
        fuzz_pool_fail_at(fail);

        rc2 = parse(field, text, len, &reqs2, &err2);

        fuzz_assert(fuzz_pool_failed(), "allocation %ld did not happen",
                    fail);
        check_result(rc2, reqs2, &err2, field);

        if (rc2 != NGX_ERROR) {
            outcome(rc2, reqs2, &err2, &again);

            fuzz_assert(again.len == first.len
                        && memcmp(again.data, first.data, first.len) == 0,
                        "allocation %ld failed: rc %ld, another result "
                        "than the clean run's %ld", fail, (long) rc2,
                        (long) rc);
        }
    }

    fuzz_pool_reset();

    free(first.data);
    free(again.data);
    free(printed.data);
    free(text);

    return 0;
}
