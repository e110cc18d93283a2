// t/apiserver/apiserver.js -- njs (0.7.x) part of the fake kube-apiserver (see README.md beside it).
//
// One nginx, one worker.  The TLS server (`serve`) answers the Kubernetes API paths the module
// uses: node/pod/configmap lists, gets and watches, SubjectAccessReview and TokenReview.  The
// plain-HTTP control server (127.0.0.1:CONTROL_PORT) changes the cluster (`ctl*`) and serves the
// watch streams themselves (`watchStream`, reached from the TLS side through an unbuffered proxy,
// so that each event is flushed through TLS at once).
//
// njs 0.7 keeps nothing between requests (each request runs in a fresh VM clone), so the state
// lives in files under DIR/state/:
//   meta.json      {rv, floor, events_size}: the last resourceVersion, the oldest one a watch
//                   or a continue token may start from, the size of events.jsonl
//   nodes.json, pods.json, configmaps.json   {key: object}, as served (key NAME or NS/NAME)
//   events.jsonl   one line per change: {rv, res, type, key, obj, prev} (append-only)
//   signals.json   {rv, floor, events_size, cut, cut_clean, bookmark}: what watch streams poll
//   config.json    {tokens, access, sar, modes}: authentication, authorization, fault modes
//   calls.jsonl    one line per API request received (for tests: what the module sent)
//   watches/ID.json  one file per open watch stream
// Only the control server writes objects/events/signals/config, and there is one worker, so
// every change is atomic with respect to every reader (handlers never interleave).

import fs from 'fs';

// ---------------------------------------------------------------------------------------------
// parameters, files

function params(r) {
    const P = {};
    const kv = r.variables.fa_params.split(';');
    for (let i = 0; i < kv.length; i++) {
        const j = kv[i].indexOf('=');
        if (j > 0) { P[kv[i].slice(0, j)] = kv[i].slice(j + 1); }
    }
    P.poll = Number(P.poll) || 25;
    P.state = P.dir + '/state';
    return P;
}

function readJSON(path, dflt) {
    let s;
    try { s = fs.readFileSync(path, 'utf8'); } catch (e) { return dflt; }
    try { return JSON.parse(s); } catch (e) { return dflt; }
}

function writeJSON(path, obj) {
    fs.writeFileSync(path + '.tmp', JSON.stringify(obj));
    fs.renameSync(path + '.tmp', path);
}

const RES_NAMES = ['nodes', 'pods', 'configmaps'];

// loadObjects(P): meta + every resource; loadObjects(P, 'nodes'): meta + nodes; (P, ''): meta
function loadObjects(P, which) {
    const o = readJSON(P.state + '/meta.json', { rv: 1, floor: 1, events_size: 0 });
    const list = which === undefined ? RES_NAMES : (which ? [which] : []);
    for (let i = 0; i < list.length; i++) { o[list[i]] = readJSON(P.state + '/' + list[i] + '.json', {}); }
    return o;
}

function saveObjects(P, o, touched) {
    for (let i = 0; i < touched.length; i++) { writeJSON(P.state + '/' + touched[i] + '.json', o[touched[i]]); }
    writeJSON(P.state + '/meta.json', { rv: o.rv, floor: o.floor, events_size: o.events_size });
}
function loadConfig(P) {
    const c = readJSON(P.state + '/config.json', {});
    c.tokens = c.tokens || {};
    c.access = c.access || {};
    c.sar = c.sar || { rules: [], default: 'deny' };
    c.modes = c.modes || {};
    c.audiences = c.audiences || ['https://kubernetes.default.svc.cluster.local'];
    return c;
}
function loadSignals(P) {
    return readJSON(P.state + '/signals.json',
                    { rv: 1, floor: 1, events_size: 0, cut: 0, cut_clean: 0, bookmark: 0 });
}

// ---------------------------------------------------------------------------------------------
// JSON output in Go's order.  njs 0.7 objects keep insertion order only up to about 10 keys, so
// maps (labels, annotations, data, extra, capacity, ...) are written with sorted keys, as Go's
// encoding/json writes a map, and the few structs that can grow past 10 fields have their field
// order here.  Everything else is built in Go's field order and stays small.

const MAP_KEYS = { labels: 1, annotations: 1, data: 1, binaryData: 1, extra: 1, capacity: 1,
                   allocatable: 1, nodeSelector: 1 };
const DEEP_MAP_KEYS = { fieldsV1: 1 };
const ORDERS = {
    metadata: ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion',
               'continue', 'remainingItemCount', 'generation', 'creationTimestamp',
               'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations',
               'ownerReferences', 'finalizers', 'managedFields'],
    nodeInfo: ['machineID', 'systemUUID', 'bootID', 'kernelVersion', 'osImage',
               'containerRuntimeVersion', 'kubeletVersion', 'kubeProxyVersion', 'operatingSystem',
               'architecture'],
    status: ['allowed', 'denied', 'reason', 'evaluationError', 'authenticated', 'user',
             'audiences', 'error', 'capacity', 'allocatable', 'phase', 'conditions', 'message',
             'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime', 'addresses', 'daemonEndpoints',
             'nodeInfo', 'containerStatuses', 'qosClass'],
    spec: ['resourceAttributes', 'nonResourceAttributes', 'token', 'audiences', 'user', 'groups',
           'extra', 'uid', 'podCIDR', 'podCIDRs', 'providerID', 'unschedulable', 'taints',
           'volumes', 'containers', 'restartPolicy', 'terminationGracePeriodSeconds', 'dnsPolicy',
           'serviceAccountName', 'nodeName', 'hostNetwork', 'schedulerName'],
    resourceAttributes: ['namespace', 'verb', 'group', 'version', 'resource', 'subresource',
                         'name', 'fieldSelector', 'labelSelector'],
};

function quote(s) { return JSON.stringify(s); }

function enc(v, key, deep) {
    if (v === null || v === undefined) { return 'null'; }
    const t = typeof v;
    if (t === 'string') { return quote(v); }
    if (t === 'number' || t === 'boolean') { return JSON.stringify(v); }
    if (Array.isArray(v)) {
        const a = [];
        for (let i = 0; i < v.length; i++) { a.push(enc(v[i], null, deep)); }
        return '[' + a.join(',') + ']';
    }
    let keys = Object.keys(v);
    const isMap = deep || (key && MAP_KEYS[key]);
    if (isMap) {
        keys.sort();
    } else if (key && ORDERS[key]) {
        const order = ORDERS[key];
        const known = [], rest = [];
        for (let i = 0; i < order.length; i++) { if (v[order[i]] !== undefined) { known.push(order[i]); } }
        for (let i = 0; i < keys.length; i++) { if (order.indexOf(keys[i]) < 0) { rest.push(keys[i]); } }
        rest.sort();
        keys = known.concat(rest);
    }
    const parts = [];
    for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (v[k] === undefined) { continue; }
        parts.push(quote(k) + ':' + enc(v[k], isMap ? null : k, deep || !!DEEP_MAP_KEYS[k]));
    }
    return '{' + parts.join(',') + '}';
}

function copy(o) { return JSON.parse(JSON.stringify(o)); }

// ---------------------------------------------------------------------------------------------
// small helpers

function nowIso() { return new Date().toISOString().replace(/\.\d+Z$/, 'Z'); }

function hex(n) {
    let s = '';
    for (let i = 0; i < n; i++) { s += '0123456789abcdef'[Math.floor(Math.random() * 16)]; }
    return s;
}
function newUid() {
    return hex(8) + '-' + hex(4) + '-4' + hex(3) + '-' + '89ab'[Math.floor(Math.random() * 4)]
           + hex(3) + '-' + hex(12);
}

function decodeComp(s) {
    try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch (e) { return s; }
}

// raw query string -> {name: value} (first value wins) and the ordered list
function parseQuery(raw) {
    const q = {};
    if (!raw) { return q; }
    const parts = raw.split('&');
    for (let i = 0; i < parts.length; i++) {
        if (!parts[i]) { continue; }
        const j = parts[i].indexOf('=');
        const k = decodeComp(j < 0 ? parts[i] : parts[i].slice(0, j));
        const v = j < 0 ? '' : decodeComp(parts[i].slice(j + 1));
        if (q[k] === undefined) { q[k] = v; }
    }
    return q;
}

function parseBool(s) {
    return ['1', 't', 'T', 'TRUE', 'true', 'True'].indexOf(String(s)) >= 0;
}

function has(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }

function sortedKeys(o) { const k = Object.keys(o); k.sort(); return k; }

// ---------------------------------------------------------------------------------------------
// Status objects (k8s.io/apimachinery/pkg/api/errors)

function status(code, reason, message, details) {
    const s = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
                message: message, reason: reason };
    if (details) { s.details = details; }
    s.code = code;
    return s;
}

function statusEnc(s) {
    // kind, apiVersion, metadata, status, message, reason, details, code (metav1.Status order)
    const parts = ['"kind":"Status"', '"apiVersion":"v1"', '"metadata":' + enc(s.metadata || {}, 'metadata')];
    if (s.status) { parts.push('"status":' + quote(s.status)); }
    if (s.message !== undefined) { parts.push('"message":' + quote(s.message)); }
    if (s.reason) { parts.push('"reason":' + quote(s.reason)); }
    if (s.details) { parts.push('"details":' + enc(s.details, 'details')); }
    parts.push('"code":' + s.code);
    return '{' + parts.join(',') + '}';
}

const REASONS = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound',
                  405: 'MethodNotAllowed', 406: 'NotAcceptable', 409: 'AlreadyExists',
                  410: 'Expired', 415: 'UnsupportedMediaType', 422: 'Invalid',
                  429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable',
                  504: 'Timeout' };

// an injected failure with a Kubernetes-like message
function injected(code, what) {
    const reason = REASONS[code] || 'Unknown';
    let msg;
    switch (code) {
    case 429: msg = 'Too many requests, please try again later.'; break;
    case 500: msg = 'Internal error occurred: fake-apiserver: injected failure of ' + what; break;
    case 503: msg = 'the server is currently unable to handle the request'; break;
    case 504: msg = 'Timeout: request did not complete within the allotted timeout'; break;
    default: msg = 'fake-apiserver: injected ' + code + ' for ' + what;
    }
    const det = code === 429 ? { retryAfterSeconds: 1 } : (code === 500 ? { causes: [{ message: msg }] } : null);
    return status(code, reason, msg, det);
}

function audit(r) {
    r.headersOut['Audit-Id'] = newUid();
    r.headersOut['Cache-Control'] = 'no-cache, private';
}

function sendJSON(r, code, text) {
    audit(r);
    r.headersOut['Content-Type'] = 'application/json';
    r.return(code, text + '\n');
}

function sendStatus(r, s) {
    if (s.code === 429) { r.headersOut['Retry-After'] = '1'; }
    sendJSON(r, s.code, statusEnc(s));
}

// ---------------------------------------------------------------------------------------------
// resources

const RES = {
    nodes: { kind: 'Node', listKind: 'NodeList', namespaced: false, internal: 'core.NodeList',
             fields: {
                 'metadata.name': (o) => o.metadata.name,
                 'spec.unschedulable': (o) => String(!!(o.spec && o.spec.unschedulable)),
             } },
    pods: { kind: 'Pod', listKind: 'PodList', namespaced: true, internal: 'core.PodList',
            fields: {
                'metadata.name': (o) => o.metadata.name,
                'metadata.namespace': (o) => o.metadata.namespace,
                'spec.nodeName': (o) => (o.spec && o.spec.nodeName) || '',
                'spec.restartPolicy': (o) => (o.spec && o.spec.restartPolicy) || '',
                'spec.schedulerName': (o) => (o.spec && o.spec.schedulerName) || '',
                'spec.serviceAccountName': (o) => (o.spec && o.spec.serviceAccountName) || '',
                'spec.hostNetwork': (o) => String(!!(o.spec && o.spec.hostNetwork)),
                'status.phase': (o) => (o.status && o.status.phase) || '',
                'status.podIP': (o) => (o.status && o.status.podIP) || '',
                'status.nominatedNodeName': (o) => (o.status && o.status.nominatedNodeName) || '',
            } },
    configmaps: { kind: 'ConfigMap', listKind: 'ConfigMapList', namespaced: true,
                  internal: 'core.ConfigMapList',
                  fields: {
                      'metadata.name': (o) => o.metadata.name,
                      'metadata.namespace': (o) => o.metadata.namespace,
                  } },
};

function objKey(res, o) {
    return RES[res].namespaced ? o.metadata.namespace + '/' + o.metadata.name : o.metadata.name;
}

// ---------------------------------------------------------------------------------------------
// selectors

const LKEY = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?';
const LVAL = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?';
const RE_SET = new RegExp('^(' + LKEY + ')\\s+(in|notin)\\s*\\(([^)]*)\\)$');
const RE_EQ = new RegExp('^(' + LKEY + ')\\s*(==|=|!=)\\s*(' + LVAL + ')$');
const RE_EXISTS = new RegExp('^(' + LKEY + ')$');
const RE_NOT = new RegExp('^!\\s*(' + LKEY + ')$');
const RE_VAL = new RegExp('^' + LVAL + '$');

// labels.Parse subset: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k; comma = AND
function parseLabelSelector(s) {
    const reqs = [];
    if (s === undefined || s.trim() === '') { return reqs; }
    const terms = [];
    let depth = 0, cur = '';
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (c === '(') { depth++; }
        if (c === ')') { depth--; }
        if (c === ',' && depth === 0) { terms.push(cur); cur = ''; continue; }
        cur += c;
    }
    terms.push(cur);
    for (let i = 0; i < terms.length; i++) {
        const t = terms[i].trim();
        let m;
        if ((m = RE_SET.exec(t))) {
            const vals = m[3].split(',').map((x) => x.trim());
            for (let j = 0; j < vals.length; j++) {
                if (!RE_VAL.test(vals[j])) { throw new Error('unable to parse requirement: invalid label value: "' + vals[j] + '"'); }
            }
            reqs.push({ key: m[1], op: m[2], values: vals });
        } else if ((m = RE_EQ.exec(t))) {
            reqs.push({ key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] });
        } else if ((m = RE_NOT.exec(t))) {
            reqs.push({ key: m[1], op: '!' });
        } else if ((m = RE_EXISTS.exec(t))) {
            reqs.push({ key: m[1], op: 'exists' });
        } else {
            throw new Error('unable to parse requirement: "' + t + '"');
        }
    }
    return reqs;
}

function labelsMatch(reqs, labels) {
    labels = labels || {};
    for (let i = 0; i < reqs.length; i++) {
        const q = reqs[i];
        const present = has(labels, q.key);
        const v = labels[q.key];
        switch (q.op) {
        case '=': if (!present || v !== q.values[0]) { return false; } break;
        case '!=': if (present && v === q.values[0]) { return false; } break;
        case 'in': if (!present || q.values.indexOf(v) < 0) { return false; } break;
        case 'notin': if (present && q.values.indexOf(v) >= 0) { return false; } break;
        case 'exists': if (!present) { return false; } break;
        case '!': if (present) { return false; } break;
        }
    }
    return true;
}

// fields.ParseSelector subset: f=v, f==v, f!=v, comma = AND, backslash escapes
function parseFieldSelector(res, s) {
    const reqs = [];
    if (s === undefined || s.trim() === '') { return reqs; }
    const terms = [];
    let cur = '';
    for (let i = 0; i < s.length; i++) {
        if (s[i] === '\\' && i + 1 < s.length) { cur += s[i] + s[i + 1]; i++; continue; }
        if (s[i] === ',') { terms.push(cur); cur = ''; continue; }
        cur += s[i];
    }
    terms.push(cur);
    for (let i = 0; i < terms.length; i++) {
        const t = terms[i];
        const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(t);
        if (!m) { throw new Error('invalid selector: \'' + s + '\'; can\'t understand \'' + t + '\''); }
        const field = m[1].trim();
        if (!RES[res].fields[field]) { throw new Error('field label not supported: ' + field); }
        reqs.push({ field: field, neg: m[2] === '!=', value: m[3].replace(/\\(.)/g, '$1') });
    }
    return reqs;
}

function fieldsMatch(res, reqs, o) {
    for (let i = 0; i < reqs.length; i++) {
        const v = RES[res].fields[reqs[i].field](o);
        if ((v === reqs[i].value) === reqs[i].neg) { return false; }
    }
    return true;
}

function makeFilter(res, ns, lsel, fsel) {
    return (o) => {
        if (!o) { return false; }
        if (ns && o.metadata.namespace !== ns) { return false; }
        return labelsMatch(lsel, o.metadata.labels) && fieldsMatch(res, fsel, o);
    };
}

// ---------------------------------------------------------------------------------------------
// Accept negotiation (k8s.io/apiserver endpoints/handlers/negotiation, JSON only).  The clauses
// are tried in goautoneg's order (ParseAccept: sort.Sort with its Less, an insertion sort for
// so few: higher q first, then a concrete type or subtype before a wildcard; q=0 is not
// skipped).  A clause with as/g/v asks for a conversion, which RequestScope.
// AllowsMediaTypeTransform grants only for PartialObjectMetadata and PartialObjectMetadataList
// of meta.k8s.io v1 or v1beta1 (and Table, which the fake does not serve): for a list as for an
// object, a watch as a get ("TODO: should delineate between lists and non-list endpoints"); the
// form that does not fit fails later, in the transform.  Protobuf and yaml clauses are skipped
// (JSON only).  No clause served: 406.
// -> {as: '' | 'PartialObjectMetadata' | 'PartialObjectMetadataList', gv: 'v1'|'v1beta1'} or null

function acceptClauses(accept) {
    const out = [];
    const parts = accept.split(',');
    for (let i = 0; i < parts.length; i++) {
        const ps = parts[i].trim().split(';');
        const mr = ps[0].split('/');
        const c = { type: mr[0].trim(), sub: '', q: 1, p: {} };
        if (mr.length === 1 && c.type === '*') { c.sub = '*'; }
        else if (mr.length === 2) { c.sub = mr[1].trim(); }
        else { continue; }
        for (let j = 1; j < ps.length; j++) {
            const k = ps[j].indexOf('=');
            if (k < 0) { continue; }
            const name = ps[j].slice(0, k).trim(), val = ps[j].slice(k + 1).trim();
            if (name === 'q') { c.q = parseFloat(val) || 0; } else { c.p[name] = val; }
        }
        out.push(c);
    }
    // goautoneg's Less, as it is (not a strict order), through Go's insertionSort
    const less = (x, y) => x.q > y.q || (x.type !== '*' && y.type === '*')
                           || (x.sub !== '*' && y.sub === '*');
    for (let i = 1; i < out.length; i++) {
        for (let j = i; j > 0 && less(out[j], out[j - 1]); j--) {
            const t = out[j]; out[j] = out[j - 1]; out[j - 1] = t;
        }
    }
    return out;
}

function negotiate(accept) {
    if (!accept || !accept.trim()) { return { as: '', gv: 'v1' }; }
    const clauses = acceptClauses(accept);
    for (let i = 0; i < clauses.length; i++) {
        const c = clauses[i], p = c.p;
        const json = (c.type === 'application' && (c.sub === 'json' || c.sub === '*'))
                     || (c.type === '*' && c.sub === '*');
        if (!json) { continue; }
        if (p.stream !== undefined && p.stream !== '' && p.stream !== 'watch') { continue; }
        if (p.as === undefined && p.g === undefined && p.v === undefined) { return { as: '', gv: 'v1' }; }
        if (p.g !== 'meta.k8s.io' || (p.v !== 'v1' && p.v !== 'v1beta1')) { continue; }
        if (p.as === 'PartialObjectMetadata' || p.as === 'PartialObjectMetadataList') {
            return { as: p.as, gv: p.v };
        }
    }
    return null;
}

function asPartial(o, gv) {
    return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/' + gv, metadata: o.metadata };
}

function stripType(o) {
    const c = {};
    const ks = Object.keys(o);
    for (let i = 0; i < ks.length; i++) { if (ks[i] !== 'kind' && ks[i] !== 'apiVersion') { c[ks[i]] = o[ks[i]]; } }
    return c;
}

// an object as written: kind, apiVersion, metadata, spec, status, data (Go order)
function objEnc(o) {
    const parts = [];
    const order = ['kind', 'apiVersion', 'metadata', 'spec', 'status', 'immutable', 'data', 'binaryData'];
    const ks = Object.keys(o);
    for (let i = 0; i < order.length; i++) {
        if (o[order[i]] !== undefined) { parts.push(quote(order[i]) + ':' + enc(o[order[i]], order[i])); }
    }
    for (let i = 0; i < ks.length; i++) {
        if (order.indexOf(ks[i]) < 0 && o[ks[i]] !== undefined) { parts.push(quote(ks[i]) + ':' + enc(o[ks[i]], ks[i])); }
    }
    return '{' + parts.join(',') + '}';
}

// ---------------------------------------------------------------------------------------------
// history: the state at an older resourceVersion, rebuilt from the event log backwards

function readEvents(P, from, to) {
    const path = P.state + '/events.jsonl';
    let fd;
    try { fd = fs.openSync(path, 'r'); } catch (e) { return { events: [], end: from }; }
    let out = [], end = from;
    try {
        const size = fs.fstatSync(fd).size;
        const stop = to !== undefined && to < size ? to : size;
        if (stop > from) {
            const b = Buffer.alloc(stop - from);
            const got = fs.readSync(fd, b, 0, stop - from, from);
            const s = b.toString('utf8', 0, got);
            const last = s.lastIndexOf('\n');
            if (last >= 0) {
                const lines = s.slice(0, last).split('\n');
                for (let i = 0; i < lines.length; i++) {
                    if (lines[i]) { out.push(JSON.parse(lines[i])); }
                }
                end = from + Buffer.byteLength(s.slice(0, last + 1));
            }
        }
    } finally {
        fs.closeSync(fd);
    }
    return { events: out, end: end };
}

// objects of `res` at resourceVersion rv (rv >= floor): {key: obj}
function objectsAt(P, o, res, rv) {
    const cur = {};
    const ks = Object.keys(o[res]);
    for (let i = 0; i < ks.length; i++) { cur[ks[i]] = o[res][ks[i]]; }
    if (rv >= o.rv) { return cur; }
    const evs = readEvents(P, 0, o.events_size).events;
    for (let i = evs.length - 1; i >= 0; i--) {
        const e = evs[i];
        if (e.rv <= rv) { break; }
        if (e.res !== res) { continue; }
        if (e.type === 'ADDED') { delete cur[e.key]; } else { cur[e.key] = e.prev; }
    }
    return cur;
}

// continue tokens as k8s.io/apiserver/pkg/storage/continue.go writes them:
// base64url(no padding) of {"v":"meta.k8s.io/v1","rv":RV,"start":"KEY\u0000"}
function encodeContinue(rv, key) {
    return Buffer.from('{"v":"meta.k8s.io/v1","rv":' + rv + ',"start":' + quote(key + '\u0000') + '}')
        .toString('base64url');
}
function decodeContinue(tok) {
    let t;
    try { t = JSON.parse(Buffer.from(tok, 'base64url').toString()); } catch (e) { return null; }
    if (!t || t.v !== 'meta.k8s.io/v1' || typeof t.start !== 'string' || typeof t.rv !== 'number') { return null; }
    return t;
}

const CONTINUE_EXPIRED = 'The provided continue parameter is too old to display a consistent list '
    + 'result. You can start a new list without the continue parameter, or use the continue token '
    + 'in this response to retrieve the remainder of the results. Continuing with the provided '
    + 'token results in an inconsistent list - objects that were created, modified, or deleted '
    + 'between the time the first chunk was returned and now may show up in the list.';

// ---------------------------------------------------------------------------------------------
// authentication and the fake's own authorization

// RFC 2253 subject ("CN=alice,O=qa,O=dev") -> {cn, orgs in certificate order}
function parseDN(dn) {
    const out = { cn: '', orgs: [] };
    if (!dn) { return out; }
    const rdns = [];
    let cur = '';
    for (let i = 0; i < dn.length; i++) {
        if (dn[i] === '\\' && i + 1 < dn.length) { cur += dn[i + 1]; i++; continue; }
        if (dn[i] === ',' || dn[i] === '+') { rdns.push(cur); cur = ''; continue; }
        cur += dn[i];
    }
    rdns.push(cur);
    for (let i = rdns.length - 1; i >= 0; i--) {
        const j = rdns[i].indexOf('=');
        if (j < 0) { continue; }
        const k = rdns[i].slice(0, j).trim().toUpperCase(), v = rdns[i].slice(j + 1);
        if (k === 'CN') { out.cn = v; }
        if (k === 'O') { out.orgs.push(v); }
    }
    return out;
}

function withAuthenticated(groups) {
    const g = (groups || []).slice();
    if (g.indexOf('system:authenticated') < 0) { g.push('system:authenticated'); }
    return g;
}

// -> {user, uid, groups, extra, via} or null (401)
function authenticate(r, cfg) {
    const verify = r.variables.ssl_client_verify || 'NONE';
    if (verify === 'SUCCESS') {
        const dn = parseDN(r.variables.ssl_client_s_dn);
        if (dn.cn) {
            return { user: dn.cn, uid: '', groups: withAuthenticated(dn.orgs), extra: {}, via: 'x509',
                     subject: r.variables.ssl_client_s_dn };
        }
    }
    const h = r.headersIn['Authorization'] || '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (m && cfg.tokens[m[1]]) {
        const t = cfg.tokens[m[1]];
        return { user: t.username, uid: t.uid || '', groups: withAuthenticated(t.groups),
                 extra: t.extra || {}, via: 'token' };
    }
    return null;
}

// access[user] = ["verb resource", "* nodes", "list *", "*"]; no entry = everything
function permitted(cfg, who, verb, res) {
    if (who.groups.indexOf('system:masters') >= 0) { return true; }
    const perms = cfg.access[who.user];
    if (perms === undefined || perms === null) { return true; }
    for (let i = 0; i < perms.length; i++) {
        const p = String(perms[i]).trim().split(/\s+/);
        if (p[0] === '*' && p.length === 1) { return true; }
        if ((p[0] === '*' || p[0] === verb) && (p[1] === '*' || p[1] === res)) { return true; }
    }
    return false;
}

// the RBAC authorizer's message (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters)
function forbidden(who, verb, res, group, ns, name) {
    const gr = group ? res + '.' + group : res;
    let msg = (name ? gr + ' "' + name + '"' : gr) + ' is forbidden: User "' + who.user
              + '" cannot ' + verb + ' resource "' + res + '" in API group "' + group + '"';
    msg += ns ? ' in the namespace "' + ns + '"' : ' at the cluster scope';
    const det = {};
    if (name) { det.name = name; }
    if (group) { det.group = group; }
    det.kind = res;
    return status(403, 'Forbidden', msg, det);
}

function notFound(res, name) {
    return status(404, 'NotFound', res + ' "' + name + '" not found', { name: name, kind: res });
}

// ---------------------------------------------------------------------------------------------
// call log

function recordCall(P, rec) {
    rec.time_ms = Date.now();
    try { fs.appendFileSync(P.state + '/calls.jsonl', JSON.stringify(rec) + '\n'); } catch (e) { /* */ }
}

function callBase(r, req, who) {
    return {
        type: req.type, method: r.method, path: r.uri, query: r.variables.args || '',
        res: req.res || '', namespace: req.ns || '', name: req.name || '',
        accept: r.headersIn['Accept'] || '', authorization: r.headersIn['Authorization'] || '',
        content_type: r.headersIn['Content-Type'] || '', user_agent: r.headersIn['User-Agent'] || '',
        http_version: r.httpVersion, client_verify: r.variables.ssl_client_verify || '',
        client_subject: r.variables.ssl_client_s_dn || '',
        user: who ? who.user : '', groups: who ? who.groups : [], authenticator: who ? who.via : '',
    };
}

// ---------------------------------------------------------------------------------------------
// routing

// -> {type, res, ns, name, watchPath} for the API paths served
function route(r) {
    let uri = r.uri;
    let watch = false;
    if (uri.indexOf('/api/v1/watch/') === 0) { watch = true; uri = '/api/v1/' + uri.slice(14); }
    let m;
    if ((m = /^\/api\/v1\/(nodes|pods|configmaps)\/?$/.exec(uri))) {
        return { type: 'list', res: m[1], ns: '', name: '', watch: watch };
    }
    if ((m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(uri))) {
        return { type: 'get', res: 'nodes', ns: '', name: m[1], watch: watch };
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|configmaps)\/?$/.exec(uri))) {
        return { type: 'list', res: m[2], ns: m[1], name: '', watch: watch };
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|configmaps)\/([^/]+)$/.exec(uri))) {
        return { type: 'get', res: m[2], ns: m[1], name: m[3], watch: watch };
    }
    if (uri === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
        return { type: 'sar', res: 'subjectaccessreviews', group: 'authorization.k8s.io' };
    }
    if (uri === '/apis/authentication.k8s.io/v1/tokenreviews') {
        return { type: 'tokenreview', res: 'tokenreviews', group: 'authentication.k8s.io' };
    }
    if (uri === '/version' || uri === '/api' || uri === '/apis' || uri === '/api/v1') {
        return { type: 'discovery', res: '' };
    }
    return { type: 'unknown', res: '' };
}

function serve(r) {
    const P = params(r);
    const uri = r.uri;
    if (uri === '/healthz' || uri === '/livez' || uri === '/readyz') {
        r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
        r.return(200, 'ok');
        return;
    }
    const cfg = loadConfig(P);
    const req = route(r);
    const who = authenticate(r, cfg);
    const rec = callBase(r, req, who);
    const done = (s, extra) => {
        rec.status = s.code || 200;
        if (extra) { const ks = Object.keys(extra); for (let i = 0; i < ks.length; i++) { rec[ks[i]] = extra[ks[i]]; } }
        recordCall(P, rec);
    };
    if (!who) {
        const s = status(401, 'Unauthorized', 'Unauthorized');
        done(s);
        sendStatus(r, s);
        return;
    }
    switch (req.type) {
    case 'list':
    case 'get':
        serveRead(r, P, cfg, req, who, rec, done);
        return;
    case 'sar':
        serveSAR(r, P, cfg, req, who, rec, done);
        return;
    case 'tokenreview':
        serveTokenReview(r, P, cfg, req, who, rec, done);
        return;
    case 'discovery':
        done({ code: 200 });
        serveDiscovery(r, P, uri);
        return;
    default: {
        const s = status(404, 'NotFound', 'the server could not find the requested resource', {});
        done(s);
        sendStatus(r, s);
    }
    }
}

function serveDiscovery(r, P, uri) {
    if (uri === '/version') {
        sendJSON(r, 200, '{"major":"1","minor":"30","gitVersion":"v1.30.0","gitCommit":"fake",'
                 + '"gitTreeState":"clean","buildDate":"2024-04-17T00:00:00Z","goVersion":"go1.22.2",'
                 + '"compiler":"gc","platform":"linux/amd64"}');
    } else if (uri === '/api') {
        sendJSON(r, 200, '{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":'
                 + '[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:' + P.port + '"}]}');
    } else if (uri === '/apis') {
        const g = (name) => '{"name":"' + name + '","versions":[{"groupVersion":"' + name
                  + '/v1","version":"v1"}],"preferredVersion":{"groupVersion":"' + name
                  + '/v1","version":"v1"}}';
        sendJSON(r, 200, '{"kind":"APIGroupList","apiVersion":"v1","groups":['
                 + g('authentication.k8s.io') + ',' + g('authorization.k8s.io') + ']}');
    } else {
        const res = (name, kind, ns, verbs) => '{"name":"' + name + '","singularName":"","namespaced":'
                    + ns + ',"kind":"' + kind + '","verbs":' + JSON.stringify(verbs) + '}';
        sendJSON(r, 200, '{"kind":"APIResourceList","groupVersion":"v1","resources":['
                 + res('configmaps', 'ConfigMap', true, ['get', 'list', 'watch']) + ','
                 + res('nodes', 'Node', false, ['get', 'list', 'watch']) + ','
                 + res('pods', 'Pod', true, ['get', 'list', 'watch']) + ']}');
    }
}

// a mode value: `NAME:RES` (resource-specific) wins over `NAME`
function modeOf(cfg, name, res) {
    const m = cfg.modes;
    if (res && m[name + ':' + res] !== undefined && m[name + ':' + res] !== '') { return Number(m[name + ':' + res]) || 0; }
    if (m[name] !== undefined && m[name] !== '') { return Number(m[name]) || 0; }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// GET: list, get, watch

function serveRead(r, P, cfg, req, who, rec, done) {
    const fail = (s) => { done(s); sendStatus(r, s); };
    if (r.method !== 'GET' && r.method !== 'HEAD') {
        fail(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}));
        return;
    }
    const q = parseQuery(r.variables.args);
    const watch = req.watch || (q.watch !== undefined && parseBool(q.watch));
    if (watch) { req.type = 'watch'; rec.type = 'watch'; }
    const verb = req.type;
    if (req.type === 'watch' && req.name) {
        fail(status(405, 'MethodNotAllowed', 'watch of a single object by name is not supported by the fake; use fieldSelector=metadata.name=NAME', {}));
        return;
    }
    if (!permitted(cfg, who, verb, req.res)) {
        fail(forbidden(who, verb, req.res, '', req.ns, req.name));
        return;
    }
    const injectedCode = modeOf(cfg, verb + '_status', req.res);
    if (injectedCode) {
        fail(injectedCode === 403 ? forbidden(who, verb, req.res, '', req.ns, req.name)
                                  : injected(injectedCode, verb + ' ' + req.res));
        return;
    }
    const neg = negotiate(r.headersIn['Accept']);
    if (!neg) {
        fail(status(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf', {}));
        return;
    }
    rec.as = neg.as;
    let lsel, fsel;
    try {
        lsel = parseLabelSelector(q.labelSelector);
        fsel = parseFieldSelector(req.res, q.fieldSelector);
    } catch (e) {
        fail(status(400, 'BadRequest', e.message));
        return;
    }
    const o = loadObjects(P, req.res);

    if (req.type === 'get') {
        if (neg.as === 'PartialObjectMetadataList') {
            fail(status(406, 'NotAcceptable', 'you requested PartialObjectMetadataList, but the requested object is not a list (*core.' + RES[req.res].kind + ')'));
            return;
        }
        const key = req.ns ? req.ns + '/' + req.name : req.name;
        const obj = o[req.res][key];
        if (!obj) { fail(notFound(req.res, req.name)); return; }
        done({ code: 200 });
        sendJSON(r, 200, neg.as ? enc(asPartial(obj, neg.gv)) : objEnc(obj));
        return;
    }

    if (req.type === 'watch') {
        if (neg.as === 'PartialObjectMetadataList') {
            // negotiated, but no event holds a list: see watchStream
            rec.warning = 'watch with as=PartialObjectMetadataList: kube-apiserver ends the stream, '
                          + 'cleanly, before its first event that is not an ERROR';
        }
        const rvs = q.resourceVersion;
        if (rvs !== undefined && rvs !== '' && !/^\d+$/.test(rvs)) {
            fail(status(400, 'BadRequest', 'resourceVersion: Invalid value: "' + rvs + '": must be a valid integer'));
            return;
        }
        if (rvs && rvs !== '0' && Number(rvs) < o.floor && modeOf(cfg, 'expired_as_http')) {
            fail(status(410, 'Expired', 'too old resource version: ' + rvs + ' (' + o.floor + ')'));
            return;
        }
        const id = Date.now().toString(36) + hex(6);
        rec.watch_id = id;
        done({ code: 200 });
        const a = 'id=' + id + '&res=' + req.res + '&ns=' + encodeURIComponent(req.ns)
                  + '&as=' + (neg.as === 'PartialObjectMetadata' ? 'pom'
                              : neg.as === 'PartialObjectMetadataList' ? 'pomlist' : 'full')
                  + '&gv=' + neg.gv
                  + '&user=' + encodeURIComponent(who.user)
                  + '&q=' + encodeURIComponent(r.variables.args || '');
        r.internalRedirect('/_fa/watch?' + a);
        return;
    }

    // list
    if (neg.as === 'PartialObjectMetadata') {
        fail(status(406, 'NotAcceptable', 'you requested PartialObjectMetadata, but the requested object is a list (*' + RES[req.res].internal + ')'));
        return;
    }
    const rvs = q.resourceVersion, match = q.resourceVersionMatch;
    if (rvs !== undefined && rvs !== '' && !/^\d+$/.test(rvs)) {
        fail(status(400, 'BadRequest', 'resourceVersion: Invalid value: "' + rvs + '": must be a valid integer'));
        return;
    }
    if (match && !rvs) {
        fail(status(422, 'Invalid', 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided'));
        return;
    }
    if (q['continue'] && rvs) {
        fail(status(422, 'Invalid', 'ListOptions.meta.k8s.io "" is invalid: resourceVersion: Forbidden: specifying resource version is not allowed when using continue'));
        return;
    }
    let limit = 0;
    if (q.limit !== undefined && q.limit !== '') {
        if (!/^\d+$/.test(q.limit)) { fail(status(400, 'BadRequest', 'limit: Invalid value: "' + q.limit + '"')); return; }
        limit = Number(q.limit);
    }
    let at = o.rv, start = null;
    if (q['continue']) {
        const t = decodeContinue(q['continue']);
        if (!t) { fail(status(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')); return; }
        if (t.rv > 0) {
            if (t.rv < o.floor) {
                const s = status(410, 'Expired', CONTINUE_EXPIRED);
                s.metadata = { 'continue': encodeContinue(-1, t.start.replace(/\u0000$/, '')) };
                fail(s);
                return;
            }
            at = t.rv;
        }
        start = t.start;
    } else if (rvs && rvs !== '0') {
        const n = Number(rvs);
        if (match === 'Exact') {
            if (n < o.floor) { fail(status(410, 'Expired', 'The resourceVersion for the provided list is too old.')); return; }
            if (n > o.rv) { tooLarge(r, P, n, o.rv, fail); return; }
            at = n;
        } else if (n > o.rv) {
            tooLarge(r, P, n, o.rv, fail);
            return;
        }
    }
    if (rvs === '0' && modeOf(cfg, 'ignore_limit_rv0')) { limit = 0; }

    const objs = objectsAt(P, o, req.res, at);
    const keys = sortedKeys(objs);
    const filter = makeFilter(req.res, req.ns, lsel, fsel);
    const items = [];
    let cont = '', remaining = 0, i = 0;
    for (; i < keys.length; i++) {
        if (start !== null && !(keys[i] >= start)) { continue; }
        const obj = objs[keys[i]];
        if (!filter(obj)) { continue; }
        if (limit && items.length === limit) { break; }
        items.push(obj);
    }
    if (limit && i < keys.length) {
        // more matching items may follow (kube-apiserver checks for any further key)
        let more = false;
        for (let j = i; j < keys.length; j++) { if (filter(objs[keys[j]])) { more = true; remaining++; } }
        if (more) { cont = encodeContinue(at, objKey(req.res, items[items.length - 1])); }
    }
    const meta = { resourceVersion: String(at) };
    if (cont) {
        meta['continue'] = cont;
        if (!lsel.length && !fsel.length) { meta.remainingItemCount = remaining; }
    }
    rec.items = items.length;
    rec.list_rv = at;
    done({ code: 200 });
    const parts = [];
    if (neg.as === 'PartialObjectMetadataList') {
        for (let k = 0; k < items.length; k++) { parts.push(enc(asPartial(items[k], neg.gv))); }
        sendJSON(r, 200, '{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/' + neg.gv
                 + '","metadata":' + enc(meta, 'metadata') + ',"items":[' + parts.join(',') + ']}');
    } else {
        for (let k = 0; k < items.length; k++) { parts.push(objEnc(stripType(items[k]))); }
        sendJSON(r, 200, '{"kind":"' + RES[req.res].listKind + '","apiVersion":"v1","metadata":'
                 + enc(meta, 'metadata') + ',"items":[' + parts.join(',') + ']}');
    }
}

// the watch cache waits up to 3 s for a future resourceVersion, then 504 (storage.NewTooLargeResourceVersionError)
function tooLarge(r, P, n, cur, fail) {
    setTimeout(() => {
        const o = loadObjects(P, '');
        const s = status(504, 'Timeout', 'Too large resource version: ' + n + ', current: ' + o.rv,
                         { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
                           retryAfterSeconds: 1 });
        fail(s);
    }, 3000);
}

// ---------------------------------------------------------------------------------------------
// the watch stream (control server, /_fa/watch, reached through the TLS server's proxy)

function bookmarkObject(res, as, gv, rv) {
    const meta = '{"resourceVersion":"' + rv + '","creationTimestamp":null}';
    if (as === 'pom') {
        return '{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/' + gv + '","metadata":' + meta + '}';
    }
    if (res === 'nodes') {
        return '{"kind":"Node","apiVersion":"v1","metadata":' + meta + ',"spec":{},"status":'
               + '{"daemonEndpoints":{"kubeletEndpoint":{"Port":0}},"nodeInfo":{"machineID":"",'
               + '"systemUUID":"","bootID":"","kernelVersion":"","osImage":"",'
               + '"containerRuntimeVersion":"","kubeletVersion":"","kubeProxyVersion":"",'
               + '"operatingSystem":"","architecture":""}}}';
    }
    if (res === 'pods') {
        return '{"kind":"Pod","apiVersion":"v1","metadata":' + meta + ',"spec":{"containers":null},"status":{}}';
    }
    return '{"kind":"ConfigMap","apiVersion":"v1","metadata":' + meta + '}';
}

function watchStream(r) {
    const P = params(r);
    const a = parseQuery(r.variables.args);
    const q = parseQuery(a.q || '');
    const res = a.res, ns = a.ns || '', as = a.as, gv = a.gv || 'v1', id = a.id;
    const cfg = loadConfig(P);
    const o = loadObjects(P, res);
    let sig = loadSignals(P);
    const lsel = parseLabelSelector(q.labelSelector);
    const fsel = parseFieldSelector(res, q.fieldSelector);
    const filter = makeFilter(res, ns, lsel, fsel);
    const bookmarks = q.allowWatchBookmarks !== undefined && parseBool(q.allowWatchBookmarks);
    const now0 = Date.now();
    let timeout = Number(q.timeoutSeconds) || modeOf(cfg, 'watch_timeout_default') || 1800;
    const deadline = now0 + timeout * 1000;
    const bmEvery = (modeOf(cfg, 'bookmark_interval') || 60) * 1000;
    let nextBm = Math.min(now0 + bmEvery, deadline - 2000);
    const cut0 = sig.cut, cutClean0 = sig.cut_clean;
    let bm0 = sig.bookmark;
    const reg = P.state + '/watches/' + id + '.json';
    const info = { id: id, res: res, namespace: ns, as: as, user: a.user || '', query: a.q || '',
                   started_ms: now0, events: 0, bookmarks: 0, last_rv: '' };
    let infoAt = 0;
    const touch = (force) => {
        const t = Date.now();
        if (!force && t - infoAt < 1000) { return; }
        infoAt = t;
        info.last_ms = t;
        try { writeJSON(reg, info); } catch (e) { /* */ }
    };
    const unregister = () => { try { fs.unlinkSync(reg); } catch (e) { /* */ } };

    r.status = 200;
    r.headersOut['Content-Type'] = 'application/json';
    r.headersOut['Cache-Control'] = 'no-cache, private';
    r.headersOut['Audit-Id'] = newUid();
    r.sendHeader();

    // WatchServer.HandleHTTP ends the stream, cleanly, at the first event it cannot encode,
    // before writing any of it ("unable to encode watch object", logged by the server only).
    // An object that cannot take the form asked for (asPartialObjectMetadataList of one Pod: "not
    // a list") is handed on as it is (watchEmbeddedEncoder.doEncode) to the encoder of that form's
    // group, meta.k8s.io, whose scheme has no core kinds: every ADDED, MODIFIED, DELETED and
    // BOOKMARK fails; an ERROR's Status is registered there and goes through.  Mode
    // watch_unencodable[:RES] gives the same end for another reason the real server has (a
    // custom resource whose conversion webhook fails).
    const unencodable = as === 'pomlist' || modeOf(cfg, 'watch_unencodable', res);
    let ended = false;
    const emit = (type, objText) => {
        if (ended) { return false; }
        if (unencodable && type !== 'ERROR') {
            ended = true;
            const kind = '*core.' + RES[res].kind;
            if (as === 'pomlist') {
                ngx.log(ngx.WARN, 'failed to transform object ' + kind + ': you requested '
                        + 'PartialObjectMetadataList, but the requested object is not a list ('
                        + kind + ')');
            }
            ngx.log(ngx.WARN, 'unable to encode watch object ' + kind + ': no kind is registered '
                    + 'for the type core.' + RES[res].kind + ' in scheme "k8s.io/apimachinery/pkg/'
                    + 'apis/meta/internalversion/scheme/register.go:28" (watch ' + id + ', '
                    + type + ')');
            unregister();
            r.finish();
            return false;
        }
        r.send('{"type":"' + type + '","object":' + objText + '}\n');
        return true;
    };
    const objText = (obj) => (as === 'pom' ? enc(asPartial(obj, gv)) : objEnc(obj));

    // cacheWatcher.convertToWatchEvent: the filter decides on both the new and the old object
    let minRv = 0;
    const deliver = (e) => {
        if (e.res !== res || e.rv <= minRv) { return; }
        const cur = e.type !== 'DELETED' && filter(e.obj);
        const old = !!e.prev && filter(e.prev);
        let type, obj;
        if (cur && !old) { type = 'ADDED'; obj = e.obj; }
        else if (cur && old) { type = 'MODIFIED'; obj = e.obj; }
        else if (!cur && old) {
            type = 'DELETED';
            if (e.type === 'DELETED') { obj = e.obj; }
            else { obj = copy(e.prev); obj.metadata.resourceVersion = String(e.rv); }
        } else { return; }
        if (!emit(type, objText(obj))) { return; }
        info.events++;
        info.last_rv = String(e.rv);
    };

    const rvs = q.resourceVersion;
    let offset;
    if (rvs && rvs !== '0') {
        const n = Number(rvs);
        if (n < o.floor) {
            // the watch cache: errors.NewResourceExpired("too old resource version: %d (%d)")
            emit('ERROR', statusEnc(status(410, 'Expired', 'too old resource version: ' + n + ' (' + o.floor + ')')));
            r.finish();
            return;
        }
        // events after n, from the log
        minRv = n;
        const all = readEvents(P, 0, o.events_size);
        offset = all.end;
        const pending = [];
        for (let i = 0; i < all.events.length; i++) { if (all.events[i].rv > n) { pending.push(all.events[i]); } }
        touch(true);
        for (let i = 0; i < pending.length; i++) { deliver(pending[i]); }
    } else {
        // unset or "0": synthetic ADDED events for the current state, then changes
        offset = o.events_size;
        touch(true);
        const keys = sortedKeys(o[res]);
        for (let i = 0; i < keys.length; i++) {
            const obj = o[res][keys[i]];
            if (filter(obj) && emit('ADDED', objText(obj))) { info.events++; info.last_rv = obj.metadata.resourceVersion; }
        }
    }
    if (ended) { return; }

    const tick = () => {
        if (ended) { return; }
        try {
            sig = loadSignals(P);
            if (sig.cut > cut0) {
                unregister();
                r.return(444);          // headers are out: nginx closes the connection, no last chunk
                return;
            }
            if (sig.cut_clean > cutClean0) { unregister(); r.finish(); return; }
            if (sig.events_size > offset) {
                const got = readEvents(P, offset, sig.events_size);
                offset = got.end;
                for (let i = 0; i < got.events.length; i++) { deliver(got.events[i]); }
                if (ended) { return; }
            }
            const t = Date.now();
            if (t >= deadline) { unregister(); r.finish(); return; }
            if (bookmarks && (sig.bookmark > bm0 || t >= nextBm)) {
                bm0 = sig.bookmark;
                if (!emit('BOOKMARK', bookmarkObject(res, as, gv, sig.rv))) { return; }
                info.bookmarks++;
                info.last_rv = String(sig.rv);
                nextBm = Math.min(t + bmEvery, deadline - 2000);
                if (nextBm <= t) { nextBm = deadline + 1; }
            }
            if (t - infoAt >= 1000) {
                // the registry file disappears when the client side of the stream ends (js_set
                // watchEnded at its log phase): this side would notice only at its next write
                try { fs.accessSync(reg); } catch (e) { r.finish(); return; }
                touch(true);
            }
        } catch (e) {
            unregister();
            return;             // the proxy (client) is gone
        }
        setTimeout(tick, P.poll);
    };
    setTimeout(tick, P.poll);
}

// js_set at the log phase of the TLS side of a watch: the stream has ended
function watchEnded(r) {
    const P = params(r);
    const a = parseQuery(r.variables.args);
    if (a.id && /^[a-z0-9]+$/.test(a.id)) {
        try { fs.unlinkSync(P.state + '/watches/' + a.id + '.json'); } catch (e) { /* */ }
        try {
            fs.appendFileSync(P.state + '/watch-ends.log', a.id + '\t' + Date.now() + '\t'
                              + r.variables.status + '\t' + r.variables.bytes_sent + '\n');
        } catch (e) { /* */ }
    }
    return a.id || '-';
}

// ---------------------------------------------------------------------------------------------
// POST bodies

function readBody(r, kind, group, fail) {
    const ct = (r.headersIn['Content-Type'] || '').split(';')[0].trim().toLowerCase();
    if (ct !== 'application/json') {
        fail(status(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf'));
        return null;
    }
    let body;
    try { body = JSON.parse(r.requestText || ''); } catch (e) {
        fail(status(400, 'BadRequest', 'the object provided is unrecognized (' + e.message + ')'));
        return null;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
        fail(status(400, 'BadRequest', 'the object provided is unrecognized'));
        return null;
    }
    if (body.apiVersion !== undefined && body.apiVersion !== group + '/v1') {
        fail(status(400, 'BadRequest', 'the API version in the data (' + body.apiVersion + ') does not match the expected API version (' + group + '/v1)'));
        return null;
    }
    if (body.kind !== undefined && body.kind !== kind) {
        fail(status(400, 'BadRequest', 'the kind in the data (' + body.kind + ') does not match the expected kind (' + kind + ')'));
        return null;
    }
    return body;
}

function invalid(kind, group, errs) {
    const msgs = errs.map((e) => e.field + ': ' + e.message);
    const msg = kind + '.' + group + ' "" is invalid: ' + (msgs.length === 1 ? msgs[0] : '[' + msgs.join(', ') + ']');
    return status(422, 'Invalid', msg, { group: group, kind: kind,
        causes: errs.map((e) => ({ reason: 'FieldValueInvalid', message: e.message, field: e.field })) });
}

function later(ms, fn) { if (ms > 0) { setTimeout(fn, ms); } else { fn(); } }

// ---------------------------------------------------------------------------------------------
// SubjectAccessReview (authorization.k8s.io/v1)

function globMatch(pat, s) {
    if (pat === undefined || pat === null || pat === '*') { return true; }
    pat = String(pat);
    if (pat.length > 1 && pat[pat.length - 1] === '*') { return String(s).indexOf(pat.slice(0, -1)) === 0; }
    return pat === String(s);
}

// rules: [{user, group, verb, apiGroup, resource, subresource, namespace, name, path,
//          allowed (default true), denied, reason}] -- first match wins
function decideSAR(cfg, spec) {
    const rules = cfg.sar.rules || [];
    const ra = spec.resourceAttributes, na = spec.nonResourceAttributes;
    const groups = spec.groups || [];
    for (let i = 0; i < rules.length; i++) {
        const x = rules[i];
        if (x.user !== undefined && !globMatch(x.user, spec.user || '')) { continue; }
        if (x.group !== undefined) {
            let any = false;
            for (let j = 0; j < groups.length; j++) { if (globMatch(x.group, groups[j])) { any = true; } }
            if (!any) { continue; }
        }
        if (x.path !== undefined) {
            if (!na || !globMatch(x.path, na.path || '') || !globMatch(x.verb, na.verb || '')) { continue; }
        } else if (x.resource !== undefined || x.apiGroup !== undefined || x.namespace !== undefined
                   || x.name !== undefined || x.subresource !== undefined) {
            if (!ra) { continue; }
            if (!globMatch(x.verb, ra.verb || '') || !globMatch(x.resource, ra.resource || '')
                || !globMatch(x.apiGroup, ra.group || '') || !globMatch(x.namespace, ra.namespace || '')
                || !globMatch(x.name, ra.name || '') || !globMatch(x.subresource, ra.subresource || '')) { continue; }
        } else if (x.verb !== undefined) {
            const v = ra ? ra.verb : (na ? na.verb : '');
            if (!globMatch(x.verb, v || '')) { continue; }
        }
        const allowed = x.allowed === undefined ? !x.denied : !!x.allowed;
        const st = { allowed: allowed };
        if (!allowed && x.denied) { st.denied = true; }
        st.reason = x.reason !== undefined ? x.reason : (allowed ? 'fake-apiserver: allowed by rule ' + i
                                                                  : 'fake-apiserver: denied by rule ' + i);
        if (st.reason === '') { delete st.reason; }
        return { status: st, rule: i };
    }
    if (cfg.sar['default'] === 'allow') {
        return { status: { allowed: true, reason: 'fake-apiserver: allowed by default' }, rule: -1 };
    }
    return { status: { allowed: false }, rule: -1 };
}

function serveSAR(r, P, cfg, req, who, rec, done) {
    const fail = (s) => { done(s); later(delayMs, () => sendStatus(r, s)); };
    const delayMs = modeOf(cfg, 'sar_delay');
    if (r.method !== 'POST') {
        fail(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}));
        return;
    }
    if (!permitted(cfg, who, 'create', req.res)) {
        fail(forbidden(who, 'create', req.res, req.group, '', ''));
        return;
    }
    const body = readBody(r, 'SubjectAccessReview', req.group, fail);
    if (!body) { return; }
    const spec = body.spec || {};
    rec.spec = spec;
    const code = modeOf(cfg, 'sar_status');
    if (code) { fail(injected(code, 'create subjectaccessreviews')); return; }
    const errs = [];
    if (spec.resourceAttributes && spec.nonResourceAttributes) {
        errs.push({ field: 'spec.nonResourceAttributes', message: 'Invalid value: "null": cannot be specified in combination with resourceAttributes' });
    }
    if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
        errs.push({ field: 'spec.resourceAttributes', message: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified' });
    }
    if (!spec.user && !(spec.groups && spec.groups.length)) {
        errs.push({ field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' });
    }
    if (errs.length) { fail(invalid('SubjectAccessReview', req.group, errs)); return; }
    const d = decideSAR(cfg, spec);
    rec.decision = d.status;
    rec.rule = d.rule;
    done({ code: 201 });
    const meta = body.metadata && typeof body.metadata === 'object' ? body.metadata : {};
    meta.creationTimestamp = null;
    const out = '{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":'
                + enc(meta, 'metadata') + ',"spec":' + enc(spec, 'spec') + ',"status":'
                + enc(d.status, 'status') + '}';
    later(delayMs, () => sendJSON(r, 201, out));
}

// ---------------------------------------------------------------------------------------------
// TokenReview (authentication.k8s.io/v1)

function serveTokenReview(r, P, cfg, req, who, rec, done) {
    const delayMs = modeOf(cfg, 'tokenreview_delay');
    const fail = (s) => { done(s); later(delayMs, () => sendStatus(r, s)); };
    if (r.method !== 'POST') {
        fail(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}));
        return;
    }
    if (!permitted(cfg, who, 'create', req.res)) {
        fail(forbidden(who, 'create', req.res, req.group, '', ''));
        return;
    }
    const body = readBody(r, 'TokenReview', req.group, fail);
    if (!body) { return; }
    const spec = body.spec || {};
    rec.spec = spec;
    const code = modeOf(cfg, 'tokenreview_status');
    if (code) { fail(injected(code, 'create tokenreviews')); return; }
    if (!spec.token) {
        fail(invalid('TokenReview', req.group, [{ field: 'spec.token', message: 'Required value' }]));
        return;
    }
    const t = cfg.tokens[spec.token];
    let st;
    if (t) {
        const tokAuds = t.audiences || cfg.audiences;
        const want = spec.audiences && spec.audiences.length ? spec.audiences : cfg.audiences;
        const inter = want.filter((x) => tokAuds.indexOf(x) >= 0);
        if (!inter.length) {
            st = { user: {}, error: '[invalid bearer token, token audiences ' + JSON.stringify(tokAuds)
                   + ' is invalid for the target audiences ' + JSON.stringify(want) + ']' };
        } else {
            const user = { username: t.username };
            if (t.uid) { user.uid = t.uid; }
            user.groups = withAuthenticated(t.groups);
            if (t.extra && Object.keys(t.extra).length) { user.extra = t.extra; }
            st = { authenticated: true, user: user, audiences: inter };
        }
    } else {
        st = { user: {}, error: '[invalid bearer token, token lookup failed]' };
    }
    rec.decision = st;
    done({ code: 201 });
    const meta = { creationTimestamp: null };
    const out = '{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":'
                + enc(meta, 'metadata') + ',"spec":' + enc(spec, 'spec') + ',"status":'
                + enc(st, 'status') + '}';
    // tokenreview_truncate N: the answer cut after N bytes (a proxy that cut it), spec.token and all
    const cut = modeOf(cfg, 'tokenreview_truncate');
    later(delayMs, () => sendJSON(r, 201, cut ? out.slice(0, cut) : out));
}

// ---------------------------------------------------------------------------------------------
// object construction (control API)

function managedFields(manager, time, fields) {
    return [{ manager: manager, operation: 'Update', apiVersion: 'v1', time: time,
              fieldsType: 'FieldsV1', fieldsV1: fields }];
}

function nodeAddresses(spec) {
    if (spec.addresses) { return spec.addresses; }
    const out = [];
    if (spec.address) { out.push({ type: 'InternalIP', address: spec.address }); }
    if (spec.external_ip) { out.push({ type: 'ExternalIP', address: spec.external_ip }); }
    out.push({ type: 'Hostname', address: spec.hostname || spec.name });
    return out;
}

function readyCondition(ready, t) {
    return ready
        ? { type: 'Ready', status: 'True', lastHeartbeatTime: t, lastTransitionTime: t,
            reason: 'KubeletReady', message: 'kubelet is posting ready status' }
        : { type: 'Ready', status: 'Unknown', lastHeartbeatTime: t, lastTransitionTime: t,
            reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' };
}

function makeNode(spec, rv, idx) {
    const t = nowIso();
    const name = spec.name;
    const labels = spec.labels !== undefined ? copy(spec.labels) : {};
    if (spec.default_labels !== false) {
        const d = { 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux',
                    'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name,
                    'kubernetes.io/os': 'linux' };
        const ks = Object.keys(d);
        for (let i = 0; i < ks.length; i++) { if (!has(labels, ks[i])) { labels[ks[i]] = d[ks[i]]; } }
    }
    const ann = spec.annotations !== undefined ? copy(spec.annotations) : {};
    if (spec.default_labels !== false) {
        if (!has(ann, 'node.alpha.kubernetes.io/ttl')) { ann['node.alpha.kubernetes.io/ttl'] = '0'; }
        if (!has(ann, 'volumes.kubernetes.io/controller-managed-attach-detach')) {
            ann['volumes.kubernetes.io/controller-managed-attach-detach'] = 'true';
        }
    }
    const meta = { name: name, uid: spec.uid || newUid(), resourceVersion: String(rv),
                   creationTimestamp: t, labels: labels, annotations: ann,
                   managedFields: managedFields('kubelet', t, { 'f:metadata': { 'f:labels': { '.': {} } },
                                                                 'f:status': { 'f:addresses': {} } }) };
    const cidr = '10.244.' + (idx % 256) + '.0/24';
    const nodeSpec = { podCIDR: cidr, podCIDRs: [cidr] };
    if (spec.unschedulable) { nodeSpec.unschedulable = true; }
    const cap = { cpu: '4', 'ephemeral-storage': '102687672Ki', 'hugepages-2Mi': '0',
                  memory: '16373928Ki', pods: '110' };
    const alloc = { cpu: '4', 'ephemeral-storage': '94636958229', 'hugepages-2Mi': '0',
                    memory: '16271528Ki', pods: '110' };
    const st = {
        capacity: cap, allocatable: alloc,
        conditions: [readyCondition(spec.ready === undefined || !!spec.ready, t)],
        addresses: nodeAddresses(spec),
        daemonEndpoints: { kubeletEndpoint: { Port: Number(spec.port) || 10250 } },
        nodeInfo: { machineID: hex(32), systemUUID: newUid(), bootID: newUid(),
                    kernelVersion: '6.1.0-18-amd64', osImage: 'Debian GNU/Linux 12 (bookworm)',
                    containerRuntimeVersion: 'containerd://1.7.13', kubeletVersion: 'v1.30.0',
                    kubeProxyVersion: 'v1.30.0', operatingSystem: 'linux', architecture: 'amd64' },
    };
    return { kind: 'Node', apiVersion: 'v1', metadata: meta, spec: nodeSpec, status: st };
}

function makePod(spec, rv) {
    const t = nowIso();
    const ns = spec.namespace || 'default';
    const meta = { name: spec.name, namespace: ns, uid: spec.uid || newUid(),
                   resourceVersion: String(rv), creationTimestamp: t,
                   labels: spec.labels !== undefined ? copy(spec.labels) : {} };
    if (spec.annotations) { meta.annotations = copy(spec.annotations); }
    meta.managedFields = managedFields('kubelet', t, { 'f:status': { 'f:phase': {} } });
    const names = spec.containers || ['app'];
    const containers = names.map((c) => ({ name: c, image: 'registry.k8s.io/pause:3.9', resources: {} }));
    const podSpec = { containers: containers, restartPolicy: 'Always', terminationGracePeriodSeconds: 30,
                      dnsPolicy: 'ClusterFirst', serviceAccountName: 'default',
                      nodeName: spec.node || '', schedulerName: 'default-scheduler' };
    if (!podSpec.nodeName) { delete podSpec.nodeName; }
    const phase = spec.phase || 'Running';
    const st = { phase: phase };
    if (phase === 'Running') {
        st.conditions = [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: t }];
        st.podIP = spec.ip || ('10.' + (100 + ((rv >> 16) & 127)) + '.' + ((rv >> 8) & 255) + '.' + (rv & 255));
        st.startTime = t;
    }
    st.qosClass = 'BestEffort';
    return { kind: 'Pod', apiVersion: 'v1', metadata: meta, spec: podSpec, status: st };
}

function makeConfigMap(ns, name, data, rv) {
    const t = nowIso();
    return { kind: 'ConfigMap', apiVersion: 'v1',
             metadata: { name: name, namespace: ns, uid: newUid(), resourceVersion: String(rv),
                         creationTimestamp: t,
                         managedFields: managedFields('kube-apiserver', t, { 'f:data': {} }) },
             data: data };
}

// ---------------------------------------------------------------------------------------------
// control server

function ctlJSON(r, code, obj) {
    r.headersOut['Content-Type'] = 'application/json';
    r.return(code, JSON.stringify(obj) + '\n');
}

// query args, overridden by a JSON object body
function ctlArgs(r) {
    const a = parseQuery(r.variables.args);
    if (r.method === 'POST' && r.requestText) {
        const b = JSON.parse(r.requestText);
        const ks = Object.keys(b);
        for (let i = 0; i < ks.length; i++) { a[ks[i]] = b[ks[i]]; }
    }
    return a;
}

function writeSignals(P, o, patch) {
    const s = loadSignals(P);
    s.rv = o.rv;
    s.floor = o.floor;
    s.events_size = o.events_size;
    if (patch) { const ks = Object.keys(patch); for (let i = 0; i < ks.length; i++) { s[ks[i]] = patch[ks[i]]; } }
    writeJSON(P.state + '/signals.json', s);
    return s;
}

// apply changes: evs = [{res, type, key, obj, prev}] (rv assigned here, one per event)
function commit(P, o, evs, touched) {
    touched = touched ? touched.slice() : [];
    if (evs.length) {
        let text = '';
        for (let i = 0; i < evs.length; i++) {
            text += JSON.stringify(evs[i]) + '\n';
            if (touched.indexOf(evs[i].res) < 0) { touched.push(evs[i].res); }
        }
        fs.appendFileSync(P.state + '/events.jsonl', text);
        o.events_size = fs.statSync(P.state + '/events.jsonl').size;
    }
    saveObjects(P, o, touched);
    writeSignals(P, o);
}

function put(o, evs, res, type, key, obj, prev) {
    o.rv++;
    if (type === 'DELETED') {
        obj = copy(prev);
        obj.metadata.resourceVersion = String(o.rv);
        delete o[res][key];
    } else {
        obj.metadata.resourceVersion = String(o.rv);
        o[res][key] = obj;
    }
    evs.push({ rv: o.rv, res: res, type: type, key: key, obj: obj, prev: prev || null });
    return obj;
}

function applyMap(target, set) {
    const ks = Object.keys(set);
    for (let i = 0; i < ks.length; i++) {
        if (set[ks[i]] === null) { delete target[ks[i]]; } else { target[ks[i]] = String(set[ks[i]]); }
    }
}

function nodeOps(P, o, a, op, evs) {
    const name = a.name;
    if (!name) { throw new Error('name is required'); }
    const prev = o.nodes[name];
    if (op === 'add') {
        if (prev) { throw new Error('node ' + name + ' exists'); }
        return put(o, evs, 'nodes', 'ADDED', name, makeNode(a, o.rv + 1, Object.keys(o.nodes).length + 1));
    }
    if (!prev) { throw new Error('no node ' + name); }
    if (op === 'remove') { return put(o, evs, 'nodes', 'DELETED', name, null, prev); }
    const n = copy(prev);
    if (a.labels !== undefined) { n.metadata.labels = copy(a.labels); }
    if (a.set_labels) { applyMap(n.metadata.labels = n.metadata.labels || {}, a.set_labels); }
    if (a.annotations !== undefined) { n.metadata.annotations = copy(a.annotations); }
    if (a.set_annotations) { applyMap(n.metadata.annotations = n.metadata.annotations || {}, a.set_annotations); }
    if (a.addresses !== undefined || a.address !== undefined || a.external_ip !== undefined || a.hostname !== undefined) {
        const cur = {};
        for (let i = 0; i < n.status.addresses.length; i++) {
            const x = n.status.addresses[i];
            if (x.type === 'InternalIP' && cur.address === undefined) { cur.address = x.address; }
            if (x.type === 'ExternalIP' && cur.external_ip === undefined) { cur.external_ip = x.address; }
            if (x.type === 'Hostname') { cur.hostname = x.address; }
        }
        const s = { name: name, addresses: a.addresses,
                    address: a.address !== undefined ? a.address : cur.address,
                    external_ip: a.external_ip !== undefined ? a.external_ip : cur.external_ip,
                    hostname: a.hostname !== undefined ? a.hostname : cur.hostname };
        if (s.address === '') { delete s.address; }
        if (s.external_ip === '') { delete s.external_ip; }
        n.status.addresses = nodeAddresses(s);
    }
    if (a.port !== undefined) { n.status.daemonEndpoints.kubeletEndpoint.Port = Number(a.port); }
    if (a.ready !== undefined) {
        const rdy = a.ready === true || a.ready === 'true' || a.ready === '1' || a.ready === 1;
        n.status.conditions = [readyCondition(rdy, nowIso())];
    }
    if (a.unschedulable !== undefined) {
        if (a.unschedulable === true || a.unschedulable === 'true' || a.unschedulable === '1') { n.spec.unschedulable = true; }
        else { delete n.spec.unschedulable; }
    }
    return put(o, evs, 'nodes', 'MODIFIED', name, n, prev);
}

function podOps(P, o, a, op, evs) {
    const ns = a.namespace || 'default';
    if (!a.name) { throw new Error('name is required'); }
    const key = ns + '/' + a.name;
    const prev = o.pods[key];
    if (op === 'add') {
        if (prev) { throw new Error('pod ' + key + ' exists'); }
        return put(o, evs, 'pods', 'ADDED', key, makePod(a, o.rv + 1));
    }
    if (!prev) { throw new Error('no pod ' + key); }
    if (op === 'remove') {
        if (a.graceful && a.graceful !== '0') {
            // as the kubelet and the API do: deletionTimestamp first (MODIFIED), then DELETED
            const m = copy(prev);
            m.metadata.deletionTimestamp = nowIso();
            m.metadata.deletionGracePeriodSeconds = 30;
            const mid = put(o, evs, 'pods', 'MODIFIED', key, m, prev);
            return put(o, evs, 'pods', 'DELETED', key, null, mid);
        }
        return put(o, evs, 'pods', 'DELETED', key, null, prev);
    }
    const p = copy(prev);
    if (a.labels !== undefined) { p.metadata.labels = copy(a.labels); }
    if (a.set_labels) { applyMap(p.metadata.labels = p.metadata.labels || {}, a.set_labels); }
    if (a.annotations !== undefined) { p.metadata.annotations = copy(a.annotations); }
    if (a.phase !== undefined) { p.status.phase = a.phase; }
    if (a.node !== undefined) { p.spec.nodeName = a.node; }
    return put(o, evs, 'pods', 'MODIFIED', key, p, prev);
}

function configMapOps(P, o, a, op, evs) {
    const ns = a.namespace || 'kube-system';
    const name = a.name || 'extension-apiserver-authentication';
    const key = ns + '/' + name;
    const prev = o.configmaps[key];
    if (op === 'delete') {
        if (!prev) { throw new Error('no configmap ' + key); }
        return put(o, evs, 'configmaps', 'DELETED', key, null, prev);
    }
    // the data: {data: {k: v}}, or the keys at the top level ({"client-ca-file": PEM})
    let given = a.data;
    if (given === undefined) {
        given = {};
        const ks = Object.keys(a);
        for (let i = 0; i < ks.length; i++) {
            if (ks[i] !== 'namespace' && ks[i] !== 'name' && ks[i] !== 'items') { given[ks[i]] = a[ks[i]]; }
        }
    }
    const data = {};
    if (op === 'set' && prev) { applyMap(data, prev.data || {}); }
    applyMap(data, given || {});
    if (!prev) { return put(o, evs, 'configmaps', 'ADDED', key, makeConfigMap(ns, name, data, o.rv + 1)); }
    const c = copy(prev);
    c.data = data;
    return put(o, evs, 'configmaps', 'MODIFIED', key, c, prev);
}

// /node/add, /node/modify, /node/remove, /pod/..., /configmap/set|replace|delete
function ctlObjects(r) {
    const P = params(r);
    let a;
    try { a = ctlArgs(r); } catch (e) { ctlJSON(r, 400, { error: 'bad JSON body: ' + e.message }); return; }
    const m = /^\/(node|pod|configmap)\/(add|modify|remove|set|replace|delete)$/.exec(r.uri);
    if (!m) { ctlJSON(r, 404, { error: 'unknown control path ' + r.uri }); return; }
    const o = loadObjects(P, m[1] + 's');
    const evs = [];
    let obj;
    try {
        // a list of objects in "items" applies them all at once
        const list = Array.isArray(a.items) ? a.items : [a];
        const out = [];
        if (m[1] === 'node' && m[2] === 'add') {
            // the kubelet port of the seed (the simulator's, or --kubelet-port) unless given
            const dport = loadConfig(P).default_kubelet_port;
            for (let i = 0; i < list.length; i++) {
                if (list[i].port === undefined && dport) { list[i].port = dport; }
            }
        }
        for (let i = 0; i < list.length; i++) {
            if (m[1] === 'node') { out.push(nodeOps(P, o, list[i], m[2], evs)); }
            else if (m[1] === 'pod') { out.push(podOps(P, o, list[i], m[2], evs)); }
            else { out.push(configMapOps(P, o, list[i], m[2], evs)); }
        }
        obj = Array.isArray(a.items) ? { rv: o.rv, count: out.length } : out[0];
    } catch (e) {
        ctlJSON(r, 400, { error: e.message });
        return;
    }
    commit(P, o, evs);
    ctlJSON(r, 200, obj);
}

// /seed {nodes: [...], pods: [...], configmaps: [{namespace, name, data}]}: the initial objects,
// without watch history (floor = the resulting rv)
function ctlSeed(r) {
    const P = params(r);
    let a;
    try { a = ctlArgs(r); } catch (e) { ctlJSON(r, 400, { error: 'bad JSON body: ' + e.message }); return; }
    const o = loadObjects(P);
    const evs = [];
    try {
        const nodes = a.nodes || [], pods = a.pods || [], cms = a.configmaps || [];
        for (let i = 0; i < nodes.length; i++) { nodeOps(P, o, nodes[i], 'add', evs); }
        for (let i = 0; i < pods.length; i++) { podOps(P, o, pods[i], 'add', evs); }
        for (let i = 0; i < cms.length; i++) { configMapOps(P, o, cms[i], 'replace', evs); }
    } catch (e) {
        ctlJSON(r, 400, { error: e.message });
        return;
    }
    o.floor = o.rv;
    commit(P, o, [], RES_NAMES);
    ctlJSON(r, 200, { rv: o.rv, floor: o.floor, nodes: Object.keys(o.nodes).length,
                      pods: Object.keys(o.pods).length, configmaps: Object.keys(o.configmaps).length });
}

// /gone: history expires (as after an etcd compaction): the rv moves on by one and every watch
// or continue from an older rv gets 410 Expired.  ?cut=1 also cuts the open streams.
function ctlGone(r) {
    const P = params(r);
    const a = ctlArgs(r);
    const o = loadObjects(P, '');
    o.rv++;
    o.floor = a.floor !== undefined ? Number(a.floor) : o.rv;
    saveObjects(P, o, []);
    const sig = loadSignals(P);
    const patch = {};
    if (a.cut && a.cut !== '0') { patch.cut = sig.cut + 1; }
    writeSignals(P, o, patch);
    ctlJSON(r, 200, { rv: o.rv, floor: o.floor });
}

// /cut[?clean=1]: every open watch stream ends now: abruptly (TCP close / HTTP/2 RST_STREAM, no
// last chunk), or cleanly (last chunk, as at timeoutSeconds)
function ctlCut(r) {
    const P = params(r);
    const a = ctlArgs(r);
    const o = loadObjects(P, '');
    const sig = loadSignals(P);
    const clean = a.clean && a.clean !== '0';
    const s = writeSignals(P, o, clean ? { cut_clean: sig.cut_clean + 1 } : { cut: sig.cut + 1 });
    ctlJSON(r, 200, { cut: s.cut, cut_clean: s.cut_clean, open: listWatches(P).length });
}

// /bookmark: every open watch with allowWatchBookmarks=true sends a BOOKMARK now
function ctlBookmark(r) {
    const P = params(r);
    const o = loadObjects(P, '');
    const sig = loadSignals(P);
    const s = writeSignals(P, o, { bookmark: sig.bookmark + 1 });
    ctlJSON(r, 200, { rv: s.rv, bookmark: s.bookmark });
}

function saveConfig(P, c) { writeJSON(P.state + '/config.json', c); }

// /sar {rules?: [...], default?: "allow"|"deny", append?: rule}
function ctlSAR(r) {
    const P = params(r);
    let a;
    try { a = ctlArgs(r); } catch (e) { ctlJSON(r, 400, { error: 'bad JSON body: ' + e.message }); return; }
    const c = loadConfig(P);
    if (a.rules !== undefined) {
        if (!Array.isArray(a.rules)) { ctlJSON(r, 400, { error: 'rules must be a list' }); return; }
        c.sar.rules = a.rules;
    }
    if (a.append) { c.sar.rules.push(a.append); }
    if (a.prepend) { c.sar.rules.unshift(a.prepend); }
    if (a['default'] !== undefined) {
        if (a['default'] !== 'allow' && a['default'] !== 'deny') { ctlJSON(r, 400, { error: 'default: allow|deny' }); return; }
        c.sar['default'] = a['default'];
    }
    saveConfig(P, c);
    ctlJSON(r, 200, c.sar);
}

// /token {token, username, uid?, groups?, extra?, audiences?} or {token, remove: true}
function ctlToken(r) {
    const P = params(r);
    let a;
    try { a = ctlArgs(r); } catch (e) { ctlJSON(r, 400, { error: 'bad JSON body: ' + e.message }); return; }
    if (!a.token) { ctlJSON(r, 400, { error: 'token is required' }); return; }
    const c = loadConfig(P);
    if (a.remove && a.remove !== '0') {
        delete c.tokens[a.token];
    } else {
        if (!a.username) { ctlJSON(r, 400, { error: 'username is required' }); return; }
        const t = { username: a.username };
        if (a.uid) { t.uid = a.uid; }
        t.groups = typeof a.groups === 'string' ? (a.groups ? a.groups.split(',') : []) : (a.groups || []);
        if (a.extra) { t.extra = a.extra; }
        if (a.audiences) { t.audiences = typeof a.audiences === 'string' ? a.audiences.split(',') : a.audiences; }
        c.tokens[a.token] = t;
    }
    saveConfig(P, c);
    ctlJSON(r, 200, { tokens: Object.keys(c.tokens).length, token: c.tokens[a.token] || null });
}

// /access {user, perms: ["list nodes", ...] | null (everything)}
function ctlAccess(r) {
    const P = params(r);
    let a;
    try { a = ctlArgs(r); } catch (e) { ctlJSON(r, 400, { error: 'bad JSON body: ' + e.message }); return; }
    if (!a.user) { ctlJSON(r, 400, { error: 'user is required' }); return; }
    const c = loadConfig(P);
    let perms = a.perms;
    if (typeof perms === 'string') { perms = perms === '' ? [] : perms.split(','); }
    if (perms === null || perms === undefined) { delete c.access[a.user]; } else { c.access[a.user] = perms; }
    saveConfig(P, c);
    ctlJSON(r, 200, c.access);
}

const MODE_NAMES = ['sar_status', 'sar_delay', 'tokenreview_status', 'tokenreview_delay',
                    'tokenreview_truncate',
                    'list_status', 'watch_status', 'get_status', 'bookmark_interval',
                    'watch_timeout_default', 'expired_as_http', 'ignore_limit_rv0',
                    'watch_unencodable'];

// /mode?name=N&value=V or POST {N: V, ...}; value "" or 0 clears.  list_status etc. take a
// ":RES" suffix (list_status:nodes) to touch one resource only.
function ctlMode(r) {
    const P = params(r);
    let a;
    try { a = ctlArgs(r); } catch (e) { ctlJSON(r, 400, { error: 'bad JSON body: ' + e.message }); return; }
    const c = loadConfig(P);
    const set = {};
    if (a.name !== undefined) { set[a.name] = a.value === undefined ? '' : a.value; }
    else { const ks = Object.keys(a); for (let i = 0; i < ks.length; i++) { set[ks[i]] = a[ks[i]]; } }
    const ks = Object.keys(set);
    for (let i = 0; i < ks.length; i++) {
        const base = ks[i].split(':')[0];
        if (MODE_NAMES.indexOf(base) < 0) { ctlJSON(r, 400, { error: 'unknown mode ' + ks[i], modes: MODE_NAMES }); return; }
        const v = set[ks[i]];
        if (v === '' || v === null || Number(v) === 0) { delete c.modes[ks[i]]; } else { c.modes[ks[i]] = Number(v); }
    }
    saveConfig(P, c);
    ctlJSON(r, 200, c.modes);
}

function ctlReset(r) {
    // modes and SAR rules back to the start's
    const P = params(r);
    const c = loadConfig(P);
    const init = readJSON(P.state + '/config.initial.json', null);
    if (init) { saveConfig(P, init); } else { c.modes = {}; saveConfig(P, c); }
    ctlJSON(r, 200, loadConfig(P));
}

// /calls[?type=sar|tokenreview|list|watch|get|...][&since=N][&res=R]
function ctlCalls(r) {
    const P = params(r);
    const a = parseQuery(r.variables.args);
    let text = '';
    try { text = fs.readFileSync(P.state + '/calls.jsonl', 'utf8'); } catch (e) { /* */ }
    const lines = text.split('\n');
    const out = [];
    const since = Number(a.since) || 0;
    let n = 0;
    for (let i = 0; i < lines.length; i++) {
        if (!lines[i]) { continue; }
        const idx = n++;
        if (idx < since) { continue; }
        const c = JSON.parse(lines[i]);
        if (a.type && a.type.split(',').indexOf(c.type) < 0) { continue; }
        if (a.res && c.res !== a.res) { continue; }
        c.i = idx;
        out.push(c);
    }
    ctlJSON(r, 200, { next: n, count: out.length, calls: out });
}

function ctlCallsReset(r) {
    const P = params(r);
    fs.writeFileSync(P.state + '/calls.jsonl', '');
    ctlJSON(r, 200, { reset: true });
}

function listWatches(P) {
    let names = [];
    try { names = fs.readdirSync(P.state + '/watches'); } catch (e) { return []; }
    const out = [];
    for (let i = 0; i < names.length; i++) {
        if (!/\.json$/.test(names[i])) { continue; }
        const w = readJSON(P.state + '/watches/' + names[i], null);
        if (w) { out.push(w); }
    }
    out.sort((x, y) => x.started_ms - y.started_ms);
    return out;
}

function ctlWatches(r) {
    const P = params(r);
    const a = parseQuery(r.variables.args);
    let w = listWatches(P);
    if (a.res) { w = w.filter((x) => x.res === a.res); }
    ctlJSON(r, 200, { count: w.length, watches: w });
}

function ctlState(r) {
    const P = params(r);
    const o = loadObjects(P);
    const c = loadConfig(P);
    ctlJSON(r, 200, { rv: o.rv, floor: o.floor, nodes: sortedKeys(o.nodes), pods: sortedKeys(o.pods),
                      configmaps: sortedKeys(o.configmaps), signals: loadSignals(P),
                      tokens: c.tokens, access: c.access, sar: c.sar, modes: c.modes,
                      watches: listWatches(P).length });
}

function ctlObject(r) {
    // /object?res=nodes&key=NAME (pods/configmaps: key=NS/NAME): the stored object
    const P = params(r);
    const a = parseQuery(r.variables.args);
    if (!RES[a.res]) { ctlJSON(r, 400, { error: 'res: nodes|pods|configmaps' }); return; }
    const o = loadObjects(P, a.res);
    const obj = o[a.res][a.key];
    if (!obj) { ctlJSON(r, 404, { error: 'no ' + a.res + ' ' + a.key }); return; }
    ctlJSON(r, 200, obj);
}

function ctlRV(r) {
    const P = params(r);
    const o = loadObjects(P, '');
    ctlJSON(r, 200, { rv: o.rv, floor: o.floor });
}

function ctlHealth(r) {
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, 'ok\n');
}

export default { serve, watchStream, watchEnded, ctlObjects, ctlSeed, ctlGone, ctlCut, ctlBookmark,
                 ctlSAR, ctlToken, ctlAccess, ctlMode, ctlReset, ctlCalls, ctlCallsReset,
                 ctlWatches, ctlState, ctlObject, ctlRV, ctlHealth };
