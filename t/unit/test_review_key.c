
/*
 * Unit tests of ngx_k8s_metrics_review_key.c: the SubjectAccessReview spec
 * of a request and its cache key (ordering, escaping), against
 * k8s.io/api authorization/v1 SubjectAccessReviewSpec's JSON names.
 */


#include "unit.h"
#include "unit_pool.h"
#include "ngx_k8s_metrics_review_key.h"

#include <stdlib.h>
#include <jansson.h>
#include <openssl/sha.h>


typedef struct {
    const char  *user;
    const char  *uid;
    const char  *groups[4];
    const char  *extra[8];      /* key, value, key, value... */
} who_t;


static void
str(ngx_str_t *s, const char *v)
{
    s->data = (u_char *) v;
    s->len = strlen(v);
}


static void
identity(ngx_k8s_metrics_identity_t *id, who_t *w)
{
    ngx_uint_t                i;
    ngx_str_t                *g, *v;
    ngx_k8s_metrics_extra_t  *e;

    ngx_memzero(id, sizeof(ngx_k8s_metrics_identity_t));

    str(&id->user, w->user);
    str(&id->uid, w->uid ? w->uid : "");

    (void) ngx_array_init(&id->groups, unit_pool, 4, sizeof(ngx_str_t));
    (void) ngx_array_init(&id->extra, unit_pool, 4,
                          sizeof(ngx_k8s_metrics_extra_t));

    for (i = 0; i < 4 && w->groups[i]; i++) {
        g = ngx_array_push(&id->groups);
        str(g, w->groups[i]);
    }

    for (i = 0; i < 8 && w->extra[i]; i += 2) {
        e = id->extra.nelts
            ? (ngx_k8s_metrics_extra_t *) id->extra.elts + id->extra.nelts - 1
            : NULL;

        /* a key given twice in a row: one more value of the same key */
        if (e == NULL || strcmp((char *) e->key.data, w->extra[i]) != 0) {
            e = ngx_array_push(&id->extra);
            str(&e->key, w->extra[i]);
            (void) ngx_array_init(&e->values, unit_pool, 2,
                                  sizeof(ngx_str_t));
        }

        v = ngx_array_push(&e->values);
        str(v, w->extra[i + 1]);
    }
}


static void
request(ngx_k8s_metrics_request_info_t *info, const char *verb,
    const char *ns, const char *name)
{
    ngx_memzero(info, sizeof(ngx_k8s_metrics_request_info_t));

    info->resource_request = 1;
    str(&info->verb, verb);
    str(&info->resource, "pods");
    str(&info->namespace, ns);
    str(&info->name, name);
    str(&info->path, "/apis/metrics.k8s.io/v1beta1/pods");
}


/* the spec's JSON (keys sorted) and its key; 0 on no memory */

static int
spec(who_t *w, ngx_k8s_metrics_request_info_t *info, char *json,
    size_t size, u_char *digest)
{
    char                        *dump;
    json_t                      *s;
    ngx_k8s_metrics_identity_t   id;

    identity(&id, w);

    s = ngx_k8s_metrics_review_spec(unit_pool, &id, info, digest);
    if (s == NULL) {
        return 0;
    }

    dump = json_dumps(s, JSON_COMPACT|JSON_SORT_KEYS);
    snprintf(json, size, "%s", dump ? dump : "");
    free(dump);
    json_decref(s);

    return dump != NULL;
}


static int
same_key(who_t *a, who_t *b, ngx_k8s_metrics_request_info_t *ia,
    ngx_k8s_metrics_request_info_t *ib)
{
    char    ja[1024], jb[1024];
    u_char  da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];

    if (!spec(a, ia, ja, sizeof(ja), da) || !spec(b, ib, jb, sizeof(jb), db))
    {
        return -1;
    }

    /* the key is the spec: the same JSON, the same key, and only then */
    if ((strcmp(ja, jb) == 0) != (memcmp(da, db, sizeof(da)) == 0)) {
        return -1;
    }

    return memcmp(da, db, sizeof(da)) == 0;
}


static void
test_spec(void)
{
    char                            json[1024];
    u_char                          digest[SHA256_DIGEST_LENGTH];
    ngx_k8s_metrics_request_info_t  info;

    who_t  alice = { "alice", "42", { "devs", "system:authenticated" },
                     { "scopes", "b", "scopes", "a", "org", "x" } };
    who_t  bob = { "bob", NULL, { NULL }, { NULL } };

    request(&info, "list", "ns", "");
    check(spec(&alice, &info, json, sizeof(json), digest)
          && strcmp(json, "{\"extra\":{\"org\":[\"x\"],\"scopes\":[\"b\","
                          "\"a\"]},\"groups\":[\"devs\","
                          "\"system:authenticated\"],\"resourceAttributes\":"
                          "{\"group\":\"metrics.k8s.io\",\"namespace\":"
                          "\"ns\",\"resource\":\"pods\",\"verb\":\"list\","
                          "\"version\":\"v1beta1\"},\"uid\":\"42\","
                          "\"user\":\"alice\"}") == 0,
          "resource spec: %s", json);

    /* no uid, no extra, no namespace, no name: left out, groups [] */
    request(&info, "get", "", "p");
    check(spec(&bob, &info, json, sizeof(json), digest)
          && strcmp(json, "{\"groups\":[],\"resourceAttributes\":{\"group\":"
                          "\"metrics.k8s.io\",\"name\":\"p\",\"resource\":"
                          "\"pods\",\"verb\":\"get\",\"version\":"
                          "\"v1beta1\"},\"user\":\"bob\"}") == 0,
          "minimal spec: %s", json);

    ngx_memzero(&info, sizeof(info));
    str(&info.verb, "get");
    str(&info.path, "/readyz");
    check(spec(&bob, &info, json, sizeof(json), digest)
          && strcmp(json, "{\"groups\":[],\"nonResourceAttributes\":"
                          "{\"path\":\"/readyz\",\"verb\":\"get\"},"
                          "\"user\":\"bob\"}") == 0,
          "non-resource spec: %s", json);

    unit_pool_reset();
}


static void
test_ordering(void)
{
    ngx_k8s_metrics_request_info_t  list, get, other;

    who_t  a = { "u", NULL, { "g1", "g2" }, { "k1", "v", "k2", "w" } };
    who_t  b = { "u", NULL, { "g1", "g2" }, { "k2", "w", "k1", "v" } };
    who_t  c = { "u", NULL, { "g2", "g1" }, { "k1", "v", "k2", "w" } };
    who_t  d = { "u", NULL, { "g1", "g2" }, { "k1", "v", "k1", "x" } };
    who_t  e = { "u", NULL, { "g1", "g2" }, { "k1", "x", "k1", "v" } };
    who_t  f = { "u", "", { "g1", "g2" }, { "k1", "v", "k2", "w" } };

    request(&list, "list", "ns", "");
    request(&get, "get", "ns", "");
    request(&other, "list", "ns2", "");

    check(same_key(&a, &b, &list, &list) == 1,
          "extra keys in another order: the same key");
    check(same_key(&a, &c, &list, &list) == 0,
          "groups in another order: another key (a list)");
    check(same_key(&d, &e, &list, &list) == 0,
          "values of a key in another order: another key (a list)");
    check(same_key(&a, &f, &list, &list) == 1,
          "an empty uid is no uid");
    check(same_key(&a, &a, &list, &get) == 0, "another verb: another key");
    check(same_key(&a, &a, &list, &other) == 0,
          "another namespace: another key");

    unit_pool_reset();
}


static void
test_escaping(void)
{
    ngx_k8s_metrics_request_info_t  info;

    who_t  bad1 = { "a\xff", NULL, { NULL }, { NULL } };
    who_t  bad2 = { "a\xfe", NULL, { NULL }, { NULL } };
    who_t  fffd = { "a\xef\xbf\xbd", NULL, { NULL }, { NULL } };
    who_t  plain = { "a", NULL, { NULL }, { NULL } };
    who_t  inject = { "x\",\"uid\":\"y", NULL, { NULL }, { NULL } };
    who_t  xy = { "x", "y", { NULL }, { NULL } };
    who_t  ginj = { "u", NULL, { "a\",\"b" }, { NULL } };
    who_t  gab = { "u", NULL, { "a", "b" }, { NULL } };
    who_t  k1 = { "u", NULL, { NULL }, { "k\xff", "1", "k\xfe", "2" } };
    who_t  k2 = { "u", NULL, { NULL }, { "k\xef\xbf\xbd", "1",
                                         "k\xef\xbf\xbd", "2" } };
    who_t  nul = { "u", NULL, { NULL }, { "k", "a\\u0000" } };
    who_t  nul2 = { "u", NULL, { NULL }, { "k", "a" } };

    request(&info, "list", "ns", "");

    check(same_key(&bad1, &bad2, &info, &info) == 1,
          "bytes that are not UTF-8: U+FFFD, the same review");
    check(same_key(&bad1, &fffd, &info, &info) == 1,
          "as a literal U+FFFD");
    check(same_key(&bad1, &plain, &info, &info) == 0,
          "not dropped: another key than without it");
    check(same_key(&inject, &xy, &info, &info) == 0,
          "quotes in a user are escaped, not a uid");
    check(same_key(&ginj, &gab, &info, &info) == 0,
          "quotes in a group are escaped, not two groups");
    check(same_key(&k1, &k2, &info, &info) == 1,
          "extra keys that become the same: one key, both values");
    check(same_key(&nul, &nul2, &info, &info) == 0,
          "a backslash is a character");

    unit_pool_reset();
}


int
main(void)
{
    test_spec();
    test_ordering();
    test_escaping();

    return unit_done("test_review_key");
}
