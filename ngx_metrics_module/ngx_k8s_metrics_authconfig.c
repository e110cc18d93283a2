
/*
 * ngx_metrics_module: the authentication settings of the ConfigMap
 * kube-system/extension-apiserver-authentication (k8s_metrics_
 * authentication_configmap on), followed without a restart.  The scraping
 * process watches the ConfigMap and puts its data in the zone; each worker
 * builds its CA stores and header lists again when the data changed.  As
 * k8s.io/apiserver's delegated authentication: a client CA file set in the
 * configuration wins over the ConfigMap's, and so does the whole
 * requestheader configuration when its CA file is set.  A CA that does not
 * parse leaves the previous one in place, and so does a list that does not
 * (kube-apiserver's requestheader controller keeps its previous lists, all
 * of them, when one does not parse): the scraping process decides it, once
 * per change of the ConfigMap, so that every worker builds the same
 * settings from the zone.
 */


#include "ngx_k8s_metrics.h"


typedef struct {
    ngx_uint_t                      version;
    ngx_pool_t                     *pool;

    ngx_k8s_metrics_ca_t           *client_ca;
    ngx_k8s_metrics_ca_t           *requestheader_ca;
    ngx_array_t                    *allowed_names;
    ngx_array_t                    *username_headers;
    ngx_array_t                    *group_headers;
    ngx_array_t                    *extra_prefixes;
    ngx_array_t                    *uid_headers;
} ngx_k8s_metrics_authconfig_t;


typedef struct {
    const char                     *key;
    size_t                          offset;     /* in authconfig_t */
    ngx_flag_t                      empty;      /* empty items kept */
} ngx_k8s_metrics_authconfig_list_t;


static json_t *ngx_k8s_metrics_authconfig_published(
    ngx_k8s_metrics_main_conf_t *kmcf);
static void ngx_k8s_metrics_authconfig_keep_cas(
    ngx_k8s_metrics_main_conf_t *kmcf, json_t *data, json_t *previous,
    ngx_log_t *log);
static void ngx_k8s_metrics_authconfig_keep_lists(
    ngx_k8s_metrics_main_conf_t *kmcf, json_t *data, json_t *previous,
    ngx_log_t *log);
static ngx_uint_t ngx_k8s_metrics_authconfig_read_pem(const char *pem,
    X509_STORE *store);
static ngx_int_t ngx_k8s_metrics_authconfig_load(
    ngx_k8s_metrics_main_conf_t *kmcf);
static ngx_k8s_metrics_ca_t *ngx_k8s_metrics_authconfig_ca(ngx_pool_t *pool,
    json_t *data, const char *key);
static const char *ngx_k8s_metrics_authconfig_pem(json_t *data,
    const char *key);
static ngx_int_t ngx_k8s_metrics_authconfig_build_lists(ngx_pool_t *pool,
    json_t *data, ngx_k8s_metrics_authconfig_t *ac);
static ngx_int_t ngx_k8s_metrics_authconfig_list(ngx_pool_t *pool,
    json_t *data, ngx_k8s_metrics_authconfig_list_t *spec, ngx_array_t **list);
static ngx_int_t ngx_k8s_metrics_authconfig_parse_list(json_t *data,
    const char *key, json_t **list);
static void ngx_k8s_metrics_authconfig_free_ca(void *data);


static ngx_k8s_metrics_authconfig_t  ngx_k8s_metrics_authconfig;

/* the scraping process: the ConfigMap's data last taken, as received */
static json_t  *ngx_k8s_metrics_authconfig_received;

static const char  *ngx_k8s_metrics_authconfig_ca_keys[] = {
    "client-ca-file",
    "requestheader-client-ca-file",
};

/*
 * The requestheader lists, taken or kept together.  An allowed name may be
 * empty: [""] allows only a certificate without a CN, as kube-apiserver
 * compares names.  Empty header names and prefixes name no header.
 */
static ngx_k8s_metrics_authconfig_list_t  ngx_k8s_metrics_authconfig_lists[] = {
    { "requestheader-allowed-names",
      offsetof(ngx_k8s_metrics_authconfig_t, allowed_names), 1 },
    { "requestheader-username-headers",
      offsetof(ngx_k8s_metrics_authconfig_t, username_headers), 0 },
    { "requestheader-group-headers",
      offsetof(ngx_k8s_metrics_authconfig_t, group_headers), 0 },
    { "requestheader-extra-headers-prefix",
      offsetof(ngx_k8s_metrics_authconfig_t, extra_prefixes), 0 },
    { "requestheader-uid-headers",
      offsetof(ngx_k8s_metrics_authconfig_t, uid_headers), 0 },
};


/* the scraping process: the ConfigMap's data, into the zone */

void
ngx_k8s_metrics_authconfig_update(ngx_k8s_metrics_main_conf_t *kmcf,
    json_t *data, ngx_log_t *log)
{
    char     *text;
    size_t    len;
    json_t   *next, *previous, *received;
    u_char   *copy, *old;

    /*
     * A list again (a relist, a watch resumed) brings the same data: it
     * was taken, its rejections logged and counted, when it first came.
     */

    received = data ? json_deep_copy(data) : json_object();
    if (received == NULL) {
        return;
    }

    if (json_equal(received, ngx_k8s_metrics_authconfig_received)) {
        json_decref(received);
        return;
    }

    /* a shallow copy: the values kept replace values of the copy only */

    next = json_copy(received);
    if (next == NULL) {
        json_decref(received);
        return;
    }

    previous = ngx_k8s_metrics_authconfig_published(kmcf);
    ngx_k8s_metrics_authconfig_keep_cas(kmcf, next, previous, log);
    ngx_k8s_metrics_authconfig_keep_lists(kmcf, next, previous, log);
    json_decref(previous);

    text = json_dumps(next, JSON_COMPACT|JSON_SORT_KEYS);
    json_decref(next);

    if (text == NULL) {
        json_decref(received);
        return;
    }

    json_decref(ngx_k8s_metrics_authconfig_received);
    ngx_k8s_metrics_authconfig_received = received;

    len = ngx_strlen(text);

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    old = kmcf->sh->authconfig;

    if (old && kmcf->sh->authconfig_len == len
        && ngx_memcmp(old, text, len) == 0)
    {
        ngx_shmtx_unlock(&kmcf->shpool->mutex);
        free(text);
        return;
    }

    copy = ngx_slab_alloc_locked(kmcf->shpool, len);

    if (copy == NULL) {
        ngx_shmtx_unlock(&kmcf->shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "k8s metrics: k8s_metrics_zone is full: the "
                      "authentication ConfigMap is not taken");
        free(text);

        /* taken when it comes again */

        json_decref(ngx_k8s_metrics_authconfig_received);
        ngx_k8s_metrics_authconfig_received = NULL;

        return;
    }

    ngx_memcpy(copy, text, len);

    if (old) {
        ngx_slab_free_locked(kmcf->shpool, old);
    }

    kmcf->sh->authconfig = copy;
    kmcf->sh->authconfig_len = len;
    kmcf->sh->authconfig_version++;
    kmcf->sh->counters.configmap_updates++;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    free(text);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "k8s metrics: the authentication ConfigMap "
                  "kube-system/extension-apiserver-authentication changed: "
                  "taken");
}


/* the data last put in the zone, or NULL */

static json_t *
ngx_k8s_metrics_authconfig_published(ngx_k8s_metrics_main_conf_t *kmcf)
{
    json_t  *data;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    data = kmcf->sh->authconfig
           ? json_loadb((char *) kmcf->sh->authconfig,
                        kmcf->sh->authconfig_len, 0, NULL)
           : NULL;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    return data;
}


/*
 * A CA bundle of the new data that holds no certificate is replaced by the
 * one published before (the zone only ever holds bundles that parse, or
 * none); with nothing published before, the key is left out.
 */

static void
ngx_k8s_metrics_authconfig_keep_cas(ngx_k8s_metrics_main_conf_t *kmcf,
    json_t *data, json_t *previous, ngx_log_t *log)
{
    json_t      *kept;
    ngx_uint_t   i;
    const char  *key, *pem;

    for (i = 0; i < sizeof(ngx_k8s_metrics_authconfig_ca_keys)
                    / sizeof(ngx_k8s_metrics_authconfig_ca_keys[0]); i++)
    {
        key = ngx_k8s_metrics_authconfig_ca_keys[i];
        pem = ngx_k8s_metrics_authconfig_pem(data, key);

        if (pem == NULL || ngx_k8s_metrics_authconfig_read_pem(pem, NULL)) {
            continue;
        }

        kept = json_object_get(previous, key);

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "k8s metrics: the authentication ConfigMap's \"%s\" "
                      "holds no certificate: %s", key,
                      kept ? "the previous CA is kept" : "it is not used");

        (void) ngx_atomic_fetch_add(&kmcf->sh->counters.configmap_rejected, 1);

        if (kept) {
            json_object_set(data, key, kept);

        } else {
            json_object_del(data, key);
        }
    }
}


/*
 * A list of the new data that does not parse keeps every list published
 * before, as kube-apiserver keeps its previous lists.  With no
 * requestheader CA published before, there is nothing to keep: the
 * requestheader authentication is left out (its CA with the lists), as
 * kube-apiserver does not start on such a ConfigMap.
 */

static void
ngx_k8s_metrics_authconfig_keep_lists(ngx_k8s_metrics_main_conf_t *kmcf,
    json_t *data, json_t *previous, ngx_log_t *log)
{
    json_t      *list, *kept;
    ngx_uint_t   i, n, broken;
    const char  *key;

    n = sizeof(ngx_k8s_metrics_authconfig_lists)
        / sizeof(ngx_k8s_metrics_authconfig_lists[0]);
    broken = 0;

    kept = ngx_k8s_metrics_authconfig_pem(previous,
                                          "requestheader-client-ca-file")
           ? previous : NULL;

    for (i = 0; i < n; i++) {
        key = ngx_k8s_metrics_authconfig_lists[i].key;

        if (ngx_k8s_metrics_authconfig_parse_list(data, key, &list)
            == NGX_OK)
        {
            json_decref(list);
            continue;
        }

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "k8s metrics: the authentication ConfigMap's \"%s\" "
                      "is not a JSON array of strings: %s", key,
                      kept ? "the previous requestheader settings are kept"
                           : "the requestheader authentication is not used");

        (void) ngx_atomic_fetch_add(&kmcf->sh->counters.configmap_rejected, 1);

        broken++;
    }

    if (broken == 0) {
        return;
    }

    if (kept == NULL) {
        json_object_del(data, "requestheader-client-ca-file");
    }

    for (i = 0; i < n; i++) {
        key = ngx_k8s_metrics_authconfig_lists[i].key;
        list = kept ? json_object_get(kept, key) : NULL;

        if (list) {
            json_object_set(data, key, list);

        } else {
            json_object_del(data, key);
        }
    }
}


/*
 * The certificates of a PEM bundle, added to the store if one is given;
 * returns how many were read.
 */

static ngx_uint_t
ngx_k8s_metrics_authconfig_read_pem(const char *pem, X509_STORE *store)
{
    BIO         *bio;
    X509        *cert;
    ngx_uint_t   n;

    bio = BIO_new_mem_buf(pem, -1);
    n = 0;

    while (bio && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {

        if (store == NULL || X509_STORE_add_cert(store, cert) == 1) {
            n++;
        }

        X509_free(cert);
    }

    BIO_free(bio);
    ERR_clear_error();

    return n;
}


/*
 * A worker, for a request: the location's settings with what the
 * ConfigMap provides where the files do not.
 */

void
ngx_k8s_metrics_authconfig_apply(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf)
{
    ngx_k8s_metrics_authconfig_t  *ac;
    ngx_k8s_metrics_main_conf_t   *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);
    ac = &ngx_k8s_metrics_authconfig;

    if (ac->version != kmcf->sh->authconfig_version) {
        (void) ngx_k8s_metrics_authconfig_load(kmcf);
    }

    if (klcf->client_ca == NULL) {
        klcf->client_ca = ac->client_ca;
    }

    if (klcf->requestheader_ca) {
        return;
    }

    klcf->requestheader_ca = ac->requestheader_ca;
    klcf->allowed_names = ac->allowed_names;

    if (ac->username_headers) {
        klcf->username_headers = ac->username_headers;
    }

    if (ac->group_headers) {
        klcf->group_headers = ac->group_headers;
    }

    if (ac->extra_prefixes) {
        klcf->extra_prefixes = ac->extra_prefixes;
    }

    klcf->uid_headers = ac->uid_headers;
}


static ngx_int_t
ngx_k8s_metrics_authconfig_load(ngx_k8s_metrics_main_conf_t *kmcf)
{
    json_t                        *data;
    ngx_uint_t                     version, published;
    ngx_pool_t                    *pool;
    ngx_k8s_metrics_authconfig_t  *ac, next;

    ac = &ngx_k8s_metrics_authconfig;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    version = kmcf->sh->authconfig_version;
    published = (kmcf->sh->authconfig != NULL);
    data = published ? json_loadb((char *) kmcf->sh->authconfig,
                                  kmcf->sh->authconfig_len, 0, NULL)
                     : NULL;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    /*
     * Out of memory: this worker keeps what it has (never no CA where the
     * ConfigMap names one) and tries again at its next request.
     */

    if (published && data == NULL) {
        return NGX_ERROR;
    }

    /* the pool outlives the request whose log this is */

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        json_decref(data);
        return NGX_ERROR;
    }

    ngx_memzero(&next, sizeof(ngx_k8s_metrics_authconfig_t));

    next.version = version;
    next.pool = pool;

    next.client_ca = ngx_k8s_metrics_authconfig_ca(pool, data,
                                                   "client-ca-file");
    next.requestheader_ca = ngx_k8s_metrics_authconfig_ca(pool, data,
                                              "requestheader-client-ca-file");

    if ((next.client_ca == NULL
         && ngx_k8s_metrics_authconfig_pem(data, "client-ca-file"))
        || (next.requestheader_ca == NULL
            && ngx_k8s_metrics_authconfig_pem(data,
                                              "requestheader-client-ca-file"))
        || ngx_k8s_metrics_authconfig_build_lists(pool, data, &next)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "k8s metrics: cannot build the settings of the "
                      "authentication ConfigMap: the previous ones are kept");
        json_decref(data);
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    json_decref(data);

    if (ac->pool) {
        ngx_destroy_pool(ac->pool);
    }

    *ac = next;

    return NGX_OK;
}


/*
 * A CA bundle of the ConfigMap, in a store of its own.  Bundles that hold
 * no certificate never reach the zone (see authconfig_keep_cas()), so one
 * that fails here failed to allocate.
 */

static ngx_k8s_metrics_ca_t *
ngx_k8s_metrics_authconfig_ca(ngx_pool_t *pool, json_t *data,
    const char *key)
{
    const char            *pem;
    ngx_pool_cleanup_t    *cln;
    ngx_k8s_metrics_ca_t  *ca;

    pem = ngx_k8s_metrics_authconfig_pem(data, key);

    if (pem == NULL) {
        return NULL;
    }

    ca = ngx_pcalloc(pool, sizeof(ngx_k8s_metrics_ca_t));
    if (ca == NULL) {
        return NULL;
    }

    ca->file.data = ngx_pnalloc(pool, sizeof("configmap ") + ngx_strlen(key));
    if (ca->file.data == NULL) {
        return NULL;
    }

    ca->file.len = ngx_sprintf(ca->file.data, "configmap %s", key)
                   - ca->file.data;
    ca->id = ngx_k8s_metrics_ca_id();

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    ca->store = X509_STORE_new();
    if (ca->store == NULL) {
        return NULL;
    }

    cln->handler = ngx_k8s_metrics_authconfig_free_ca;
    cln->data = ca->store;

    if (ngx_k8s_metrics_authconfig_read_pem(pem, ca->store) == 0) {
        return NULL;
    }

    return ca;
}


/* a CA bundle of the data, or NULL when it names none */

static const char *
ngx_k8s_metrics_authconfig_pem(json_t *data, const char *key)
{
    const char  *pem;

    pem = json_string_value(json_object_get(data, key));

    return (pem && *pem) ? pem : NULL;
}


/*
 * The lists of the data (every one parses: see authconfig_keep_lists());
 * no list of allowed names, or an empty one, allows any name.
 */

static ngx_int_t
ngx_k8s_metrics_authconfig_build_lists(ngx_pool_t *pool, json_t *data,
    ngx_k8s_metrics_authconfig_t *ac)
{
    ngx_uint_t                          i;
    ngx_k8s_metrics_authconfig_list_t  *spec;

    for (i = 0; i < sizeof(ngx_k8s_metrics_authconfig_lists)
                    / sizeof(ngx_k8s_metrics_authconfig_lists[0]); i++)
    {
        spec = &ngx_k8s_metrics_authconfig_lists[i];

        if (ngx_k8s_metrics_authconfig_list(pool, data, spec,
                                    (ngx_array_t **) ((u_char *) ac
                                                      + spec->offset))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ac->allowed_names && ac->allowed_names->nelts == 0) {
        ac->allowed_names = NULL;
    }

    return NGX_OK;
}


/* a list into the pool: NULL when the data has none */

static ngx_int_t
ngx_k8s_metrics_authconfig_list(ngx_pool_t *pool, json_t *data,
    ngx_k8s_metrics_authconfig_list_t *spec, ngx_array_t **list)
{
    size_t        i;
    json_t       *items, *item;
    ngx_str_t    *s, value;
    const char   *text;
    ngx_array_t  *a;

    *list = NULL;

    if (ngx_k8s_metrics_authconfig_parse_list(data, spec->key, &items)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (items == NULL) {
        return NGX_OK;
    }

    a = ngx_array_create(pool, json_array_size(items) + 1, sizeof(ngx_str_t));
    if (a == NULL) {
        goto failed;
    }

    json_array_foreach(items, i, item) {
        text = json_string_value(item);

        value.len = json_string_length(item);
        value.data = (u_char *) (text ? text : "");

        if (value.len == 0 && !spec->empty) {
            continue;
        }

        s = ngx_array_push(a);
        if (s == NULL) {
            goto failed;
        }

        s->len = value.len;
        s->data = ngx_pstrdup(pool, &value);

        if (s->data == NULL) {
            goto failed;
        }
    }

    json_decref(items);

    *list = a;

    return NGX_OK;

failed:

    json_decref(items);

    return NGX_ERROR;
}


/*
 * A list of the ConfigMap is a JSON array inside a string, read as Go's
 * json.Unmarshal() into a []string reads it: no value, an empty one or
 * null is no list, a null item is "", anything else does not parse.
 */

static ngx_int_t
ngx_k8s_metrics_authconfig_parse_list(json_t *data, const char *key,
    json_t **list)
{
    size_t       i;
    json_t      *value, *items, *item;
    const char  *text;

    *list = NULL;

    value = json_object_get(data, key);
    if (value == NULL) {
        return NGX_OK;
    }

    text = json_string_value(value);
    if (text == NULL) {
        return NGX_ERROR;
    }

    if (*text == '\0') {
        return NGX_OK;
    }

    items = json_loads(text, JSON_DECODE_ANY, NULL);

    if (json_is_null(items)) {
        json_decref(items);
        return NGX_OK;
    }

    if (!json_is_array(items)) {
        json_decref(items);
        return NGX_ERROR;
    }

    json_array_foreach(items, i, item) {
        if (!json_is_string(item) && !json_is_null(item)) {
            json_decref(items);
            return NGX_ERROR;
        }
    }

    *list = items;

    return NGX_OK;
}


static void
ngx_k8s_metrics_authconfig_free_ca(void *data)
{
    X509_STORE_free(data);
}
