// t/sim/kubelet.js -- njs (0.7.x) part of the kubelet simulator (see README.md beside it).
//
// One nginx serves every simulated kubelet: the TLS server's js_content `serve` finds the node
// from $server_addr, reads that node's state file (DIR/state/nodes/NAME.json; absent = pristine),
// appends one line per request to DIR/state/requests.log and answers GET /metrics/resource with
// a body in the exact format of a v1.29 kubelet, from deterministic formulas (below; mirrored in
// KubeletSim.pm).  The plain-HTTP control server (127.0.0.1:CONTROL_PORT) sets modes and reports
// statistics.  njs 0.7 keeps nothing between requests (each request runs in a fresh VM clone),
// so every piece of state lives in files under DIR/state/.
//
// Formulas (n = node number from its name node-NNNNN, 1-based; p = pod number, 0-based;
// c = container number, 0-based; T0 = simulator start in ms, a multiple of 1000):
//   cpu millicores      m(n,p,c)   = 1 + (n*7 + p*13 + c*29) % 997
//   memory bytes        mem(n,p,c) = 4096 * (2048 + (n*101 + p*211 + c*307) % 61440)
//   container start ms  s(n,p,c)   = T0 - 3600000 - 1000 * ((n*3 + p*7 + c*11) % 600)
//   cpu counter ns      = m * 1000 * (now_ms - max(start_ms, counter_reset_ms))
//   pod                 = sums over its containers (cpu counter ns, memory)
//   node cpu            = (sum of m over the configured pods) + 250 m, counter from
//                         T0 - 7200000 (boot), memory = sum + 805306368 (768 MiB);
//                         node values ignore drop_pod/add_pod/restart.
//   claimed pod k       (claim_pod: a pod of any name) = pod number CLAIM_BASE + k of node n

import fs from 'fs';

const NAMESPACES = ['default', 'kube-system', 'team-a', 'team-b', 'monitoring'];
const CONTAINERS = ['app', 'sidecar', 'proxy', 'logger', 'cache', 'worker', 'exporter', 'init'];
const NODE_CPU_OVERHEAD_M = 250;
const NODE_MEM_OVERHEAD = 805306368;
const START_BEFORE_MS = 3600000;
const BOOT_BEFORE_MS = 7200000;
const CLAIM_BASE = 100000;
const CT = 'text/plain; version=0.0.4; charset=utf-8';

const HELP = {
    container_cpu_usage_seconds_total:
        ['[STABLE] Cumulative cpu time consumed by the container in core-seconds', 'counter'],
    container_memory_working_set_bytes:
        ['[STABLE] Current working set of the container in bytes', 'gauge'],
    container_start_time_seconds:
        ['[STABLE] Start time of the container since unix epoch in seconds', 'gauge'],
    container_swap_usage_bytes:
        ['[ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems', 'gauge'],
    node_cpu_usage_seconds_total:
        ['[STABLE] Cumulative cpu time consumed by the node in core-seconds', 'counter'],
    node_memory_working_set_bytes:
        ['[STABLE] Current working set of the node in bytes', 'gauge'],
    node_swap_usage_bytes:
        ['[ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems', 'gauge'],
    pod_cpu_usage_seconds_total:
        ['[STABLE] Cumulative cpu time consumed by the pod in core-seconds', 'counter'],
    pod_memory_working_set_bytes:
        ['[STABLE] Current working set of the pod in bytes', 'gauge'],
    pod_swap_usage_bytes:
        ['[ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems', 'gauge'],
    resource_scrape_error:
        ['[STABLE] 1 if there was an error while getting container metrics, 0 otherwise', 'gauge'],
    scrape_error:
        ['[ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise', 'gauge'],
};

const MODES = ['normal', 'reset', 'restart', 'counter_reset', 'drop_pod', 'add_pod', 'claim_pod', 'garbage',
               'empty', 'status', 'hang', 'slow', 'close_mid_body', 'oversize', 'oversize_chunked',
               'gzip', 'redirect', 'malformed_lines', 'swap'];

// ---------------------------------------------------------------------------------------------
// parameters (js_var $sim_params "key=value;...", written by kubelet-sim)

function params(r) {
    const P = {};
    const kv = r.variables.sim_params.split(';');
    for (let i = 0; i < kv.length; i++) {
        const j = kv[i].indexOf('=');
        if (j > 0) { P[kv[i].slice(0, j)] = kv[i].slice(j + 1); }
    }
    P.t0 = Number(P.t0);
    P.nodes = Number(P.nodes);
    P.pods = Number(P.pods);
    P.containers = Number(P.containers);
    P.auth = P.auth === '1';
    P.baseInt = ipToInt(P.base);
    return P;
}

function ipToInt(s) {
    const a = s.split('.');
    if (a.length !== 4) { return -1; }
    return ((+a[0] << 24) >>> 0) + (+a[1] << 16) + (+a[2] << 8) + (+a[3]);
}

function intToIp(x) {
    return [(x >>> 24) & 255, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join('.');
}

// Addresses are consecutive from the base, skipping last octets 0 and 255: 254 per /24.
function nodeOfIp(P, ip) {
    const x = ipToInt(ip || '');
    if (x < 0) { return 0; }
    const last = x & 255;
    if (last === 0 || last === 255) { return 0; }
    const i = (Math.floor(x / 256) - Math.floor(P.baseInt / 256)) * 254
              + (last - 1) - ((P.baseInt & 255) - 1);
    return (i >= 0 && i < P.nodes) ? i + 1 : 0;
}

function ipOfNode(P, n) {
    const k = (n - 1) + (P.baseInt & 255) - 1;
    return intToIp((Math.floor(P.baseInt / 256) + Math.floor(k / 254)) * 256 + (k % 254) + 1);
}

function pad(x, w) { let s = String(x); while (s.length < w) { s = '0' + s; } return s; }
function nodeName(n) { return 'node-' + pad(n, 5); }
function podName(n, p) { return 'pod-' + pad(n, 5) + '-' + pad(p, 3); }
function podNamespace(p) { return NAMESPACES[p % NAMESPACES.length]; }
function containerName(c) { return c < CONTAINERS.length ? CONTAINERS[c] : 'c' + c; }

function cpuMilli(n, p, c) { return 1 + (n * 7 + p * 13 + c * 29) % 997; }
function memBytes(n, p, c) { return 4096 * (2048 + (n * 101 + p * 211 + c * 307) % 61440); }
function startMs(P, n, p, c) {
    return P.t0 - START_BEFORE_MS - 1000 * ((n * 3 + p * 7 + c * 11) % 600);
}

// Parse "node-00012", "12" or an IP into a node number (0 if none).
function parseNode(P, s) {
    if (!s) { return 0; }
    let n = 0;
    if (/^node-\d+$/.test(s)) { n = Number(s.slice(5)); }
    else if (/^\d+$/.test(s)) { n = Number(s); }
    else if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) { n = nodeOfIp(P, s); }
    return (n >= 1 && n <= P.nodes) ? n : 0;
}

// ---------------------------------------------------------------------------------------------
// Go's strconv.FormatFloat(f, 'g', -1, 64), as the Prometheus text encoder writes samples:
// shortest round-trip digits, %e form when the exponent is < -4 or >= 6 (exponent with at least
// two digits: 1.4442496e+07), plain decimal otherwise.

function gofloat(x) {
    if (x === 0) { return '0'; }
    if (x !== x) { return 'NaN'; }
    if (x === Infinity) { return '+Inf'; }
    if (x === -Infinity) { return '-Inf'; }
    // njs' toExponential() is not always the shortest (7.730000000000001e-07 for 773/1e9):
    // take the first precision whose correctly rounded digits read back as x.
    let e;
    for (let p = 1; p <= 17; p++) {
        e = x.toExponential(p - 1);
        if (Number(e) === x) { break; }
    }
    const i = e.indexOf('e');
    let mant = e.slice(0, i);
    if (mant.indexOf('.') >= 0) { mant = mant.replace(/\.?0+$/, ''); }
    const exp = Number(e.slice(i + 1));
    if (exp < -4 || exp >= 6) {
        const a = exp < 0 ? -exp : exp;
        return mant + (exp < 0 ? 'e-' : 'e+') + (a < 10 ? '0' + a : String(a));
    }
    const neg = mant[0] === '-';
    const digits = mant.replace(/[-.]/g, '');
    const sign = neg ? '-' : '';
    if (exp < 0) { return sign + '0.' + '0'.repeat(-exp - 1) + digits; }
    if (digits.length <= exp + 1) { return sign + digits + '0'.repeat(exp + 1 - digits.length); }
    return sign + digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
}

// ---------------------------------------------------------------------------------------------
// state files

function statePath(P, n) { return P.dir + '/state/nodes/' + nodeName(n) + '.json'; }

function pristine() {
    return { mode: 'normal', arg: '', restarts: {}, reset_at: 0, dropped: {}, added: [], claimed: [] };
}

// Every node has a state file from the start (kubelet-sim writes "{}"): a missing file would
// cost an exception, and an exception costs ~0.25 ms in njs 0.7.
function readState(P, n) {
    let s;
    try {
        s = fs.readFileSync(statePath(P, n), 'utf8');
    } catch (e) {
        return pristine();
    }
    try {
        const st = JSON.parse(s);
        const d = pristine();
        for (const k in d) { if (st[k] === undefined) { st[k] = d[k]; } }
        return st;
    } catch (e) {
        return pristine();
    }
}

function writeState(P, n, st) {
    const path = statePath(P, n);
    const tmp = path + '.tmp';
    fs.writeFileSync(tmp, JSON.stringify(st));
    fs.renameSync(tmp, path);
}

// ---------------------------------------------------------------------------------------------
// the model: every live pod and container of node n at time now (ms)

function model(P, n, st, now) {
    const pods = [];
    const total = P.pods + st.added.length;
    const addedAt = {};
    for (let k = 0; k < st.added.length; k++) { addedAt[st.added[k].p] = st.added[k].at; }
    const reset = st.reset_at || 0;
    for (let p = 0; p < total; p++) {
        if (st.dropped[p] !== undefined) { continue; }
        const pod = { p: p, name: podName(n, p), ns: podNamespace(p), cpuNs: 0, mem: 0, cs: [] };
        for (let c = 0; c < P.containers; c++) {
            let start = addedAt[p] !== undefined ? addedAt[p] : startMs(P, n, p, c);
            const rs = st.restarts[p + ':' + c];
            if (rs !== undefined) { start = rs; }
            const m = cpuMilli(n, p, c);
            const from = start > reset ? start : reset;
            const cpuNs = now > from ? m * 1000 * (now - from) : 0;
            const mem = memBytes(n, p, c);
            pod.cs.push({ c: c, name: containerName(c), m: m, start: start, cpuNs: cpuNs,
                          mem: mem });
            pod.cpuNs += cpuNs;
            pod.mem += mem;
        }
        pods.push(pod);
    }
    for (let k = 0; k < st.claimed.length; k++) {
        const p = CLAIM_BASE + k;
        const pod = { p: p, name: st.claimed[k].name, ns: st.claimed[k].ns, cpuNs: 0, mem: 0, cs: [] };
        for (let c = 0; c < P.containers; c++) {
            const start = startMs(P, n, p, c);
            const m = cpuMilli(n, p, c);
            const from = start > reset ? start : reset;
            const cpuNs = now > from ? m * 1000 * (now - from) : 0;
            const mem = memBytes(n, p, c);
            pod.cs.push({ c: c, name: containerName(c), m: m, start: start, cpuNs: cpuNs, mem: mem });
            pod.cpuNs += cpuNs;
            pod.mem += mem;
        }
        pods.push(pod);
    }
    // the node: configured pods only, so drop/add/restart never make its counter go back
    let nm = NODE_CPU_OVERHEAD_M, nmem = NODE_MEM_OVERHEAD;
    for (let p = 0; p < P.pods; p++) {
        for (let c = 0; c < P.containers; c++) {
            nm += cpuMilli(n, p, c);
            nmem += memBytes(n, p, c);
        }
    }
    const boot = P.t0 - BOOT_BEFORE_MS;
    const nfrom = boot > reset ? boot : reset;
    return { pods: pods, nodeM: nm, nodeMem: nmem, nodeCpuNs: nm * 1000 * (now - nfrom) };
}

function sortedIdx(names) {
    const idx = [];
    for (let i = 0; i < names.length; i++) { idx.push(i); }
    idx.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
    return idx;
}

// I x 10^-scale (I a non-negative integer below 2^53) exactly as Go prints the double nearest
// to it.  A decimal of at most 15 significant digits is the unique shortest round-trip string
// of that double, so the digits come straight from the integer; this avoids njs' own float
// printing, which is not always shortest (7.730000000000001e-07 for 773/1e9).  Integers with
// more than 15 significant digits go through gofloat() (not reached by the simulator's values).
function fmtScaled(I, scale) {
    if (I === 0) { return '0'; }
    let z = 0;
    while (I % 10 === 0) { I /= 10; z++; }
    const d = String(I);
    const nd = d.length;
    if (nd > 15) { return gofloat(I * Math.pow(10, z - scale)); }
    const exp = nd - 1 + z - scale;
    if (exp < -4 || exp >= 6) {
        const a = exp < 0 ? -exp : exp;
        return (nd > 1 ? d[0] + '.' + d.slice(1) : d) + (exp < 0 ? 'e-' : 'e+')
               + (a < 10 ? '0' + a : String(a));
    }
    if (exp >= nd - 1) { return nd - 1 === exp ? d : d + '0'.repeat(exp - nd + 1); }
    if (exp >= 0) { return d.slice(0, exp + 1) + '.' + d.slice(exp + 1); }
    return '0.' + '0'.repeat(-exp - 1) + d;
}

// namespaces in sorted order, with their index in NAMESPACES (pods of namespace j: p % 5 == j)
const NS_SORTED = NAMESPACES.map((ns, j) => [ns, j]).sort((a, b) => (a[0] < b[0] ? -1 : 1));

function helpType(name) {
    return '# HELP ' + name + ' ' + HELP[name][0] + '\n# TYPE ' + name + ' ' + HELP[name][1] + '\n';
}

// The body, in the order client_golang's registry writes it: families sorted by name, samples
// sorted by their label values (labels themselves sorted by name: container, namespace, pod).
// Returns an array of pieces (joined by the caller; malformed_lines splices lines in).
// Same values as model(), computed in one pass (njs is an interpreter: this is the hot path).
function metricsBody(P, n, st, now) {
    const ts = ' ' + now + '\n';
    const reset = st.reset_at || 0;
    const total = P.pods + st.added.length;
    const addedAt = {};
    for (let k = 0; k < st.added.length; k++) { addedAt[st.added[k].p] = st.added[k].at; }
    const hasRestarts = Object.keys(st.restarts).length > 0;
    const hasDropped = Object.keys(st.dropped).length > 0;

    // live pods in (namespace, name) order
    const pp = [], pns = [], pname = [];
    for (let j = 0; j < NS_SORTED.length; j++) {
        const ns = NS_SORTED[j][0];
        for (let p = NS_SORTED[j][1]; p < total; p += NAMESPACES.length) {
            if (hasDropped && st.dropped[p] !== undefined) { continue; }
            pp.push(p);
            pns.push(ns);
            pname.push(podName(n, p));
        }
    }
    if (st.claimed.length) { claimPods(st, pp, pns, pname); }
    const np = pp.length;
    const C = P.containers;
    const cnames = [];
    for (let c = 0; c < C; c++) { cnames.push(containerName(c)); }
    const corder = sortedIdx(cnames);

    const podCpu = new Array(np).fill(0), podMem = new Array(np).fill(0);
    const swap = st.swap || 0, podSwap = new Array(np).fill(0);
    let nodeSwap = 0;
    const lc = [], lm = [], ls = [], lw = [];
    const nc = 'container_cpu_usage_seconds_total', nm = 'container_memory_working_set_bytes',
          nst = 'container_start_time_seconds', nsw = 'container_swap_usage_bytes';
    const n7 = n * 7, n101 = n * 101, n3 = n * 3, base0 = P.t0 - START_BEFORE_MS;
    for (let k = 0; k < C; k++) {
        const c = corder[k];
        const pre = '{container="' + cnames[c] + '",namespace="';
        for (let i = 0; i < np; i++) {
            const p = pp[i];
            let start = addedAt[p] !== undefined ? addedAt[p]
                        : base0 - 1000 * ((n3 + p * 7 + c * 11) % 600);
            if (hasRestarts && st.restarts[p + ':' + c] !== undefined) {
                start = st.restarts[p + ':' + c];
            }
            const from = start > reset ? start : reset;
            const us = now > from ? (1 + (n7 + p * 13 + c * 29) % 997) * (now - from) : 0;
            const mem = 4096 * (2048 + (n101 + p * 211 + c * 307) % 61440);
            podCpu[i] += us;
            podMem[i] += mem;
            const l = pre + pns[i] + '",pod="' + pname[i] + '"} ';
            lc.push(nc + l + fmtScaled(us, 6) + ts);
            lm.push(nm + l + fmtScaled(mem, 0) + ts);
            ls.push(nst + l + fmtScaled(start, 3) + '\n');
            lw.push(nsw + l + swap * (c + 1) + ts);
            podSwap[i] += swap * (c + 1);
            nodeSwap += swap * (c + 1);
        }
    }
    // the node: configured pods only, so drop/add/restart never make its counter go back
    let nodeM = NODE_CPU_OVERHEAD_M, nodeMem = NODE_MEM_OVERHEAD;
    for (let p = 0; p < P.pods; p++) {
        for (let c = 0; c < C; c++) {
            nodeM += 1 + (n7 + p * 13 + c * 29) % 997;
            nodeMem += 4096 * (2048 + (n101 + p * 211 + c * 307) % 61440);
        }
    }
    const boot = P.t0 - BOOT_BEFORE_MS;
    const nfrom = boot > reset ? boot : reset;

    const out = [helpType(nc), lc.join(''), helpType(nm), lm.join(''), helpType(nst), ls.join(''),
                 helpType(nsw), lw.join('')];
    out.push(helpType('node_cpu_usage_seconds_total'),
             'node_cpu_usage_seconds_total ' + fmtScaled(nodeM * (now - nfrom), 6) + ts,
             helpType('node_memory_working_set_bytes'),
             'node_memory_working_set_bytes ' + fmtScaled(nodeMem, 0) + ts,
             helpType('node_swap_usage_bytes'), 'node_swap_usage_bytes ' + nodeSwap + ts);
    const pc = [], pm = [], pw = [];
    for (let i = 0; i < np; i++) {
        const l = '{namespace="' + pns[i] + '",pod="' + pname[i] + '"} ';
        pc.push('pod_cpu_usage_seconds_total' + l + fmtScaled(podCpu[i], 6) + ts);
        pm.push('pod_memory_working_set_bytes' + l + fmtScaled(podMem[i], 0) + ts);
        pw.push('pod_swap_usage_bytes' + l + podSwap[i] + ts);
    }
    out.push(helpType('pod_cpu_usage_seconds_total'), pc.join(''),
             helpType('pod_memory_working_set_bytes'), pm.join(''),
             helpType('pod_swap_usage_bytes'), pw.join(''),
             helpType('resource_scrape_error'), 'resource_scrape_error 0\n',
             helpType('scrape_error'), 'scrape_error 0\n');
    return out;
}

// claim_pod: the claimed pods join the node's own, all in (namespace, name) order again
function claimPods(st, pp, pns, pname) {
    for (let k = 0; k < st.claimed.length; k++) {
        pp.push(CLAIM_BASE + k);
        pns.push(st.claimed[k].ns);
        pname.push(st.claimed[k].name);
    }
    const idx = [];
    for (let i = 0; i < pp.length; i++) { idx.push(i); }
    const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
    idx.sort((a, b) => cmp(pns[a], pns[b]) || cmp(pname[a], pname[b]));
    const p2 = idx.map((i) => pp[i]), ns2 = idx.map((i) => pns[i]), n2 = idx.map((i) => pname[i]);
    for (let i = 0; i < idx.length; i++) { pp[i] = p2[i]; pns[i] = ns2[i]; pname[i] = n2[i]; }
}

// malformed_lines: these 7 lines are inserted (they name no real pod); every good line stays.
function malformedLines(now) {
    return [
        'container_cpu_usage_seconds_total{container="bad",namespace="default",pod="malformed-1"} not-a-number ' + now + '\n',
        'container_memory_working_set_bytes{container="bad",namespace="default",pod="malformed-2" 12345 ' + now + '\n',
        'container_cpu_usage_seconds_total{container="bad,namespace="default",pod="malformed-3"} 1 ' + now + '\n',
        'container_memory_working_set_bytes{container="bad",namespace="default",pod="malformed-4"}\n',
        'this is not a metric line at all\n',
        'container_cpu_usage_seconds_total{container="bad",namespace="default",pod="malformed-6"} 1.5 12x34\n',
        '{container="bad",namespace="default",pod="malformed-7"} 1 ' + now + '\n',
    ];
}

// ---------------------------------------------------------------------------------------------
// the kubelet (TLS server)

function logRequest(P, r, n, st) {
    const v = r.variables;
    const clean = (s) => (s === undefined || s === null ? '' : String(s).replace(/[\t\n\r]/g, ' '));
    const authz = r.headersIn['Authorization'];
    const line = [Date.now(), n, clean(v.ssl_client_verify || 'NONE'), clean(v.ssl_client_s_dn),
                  authz ? 1 : 0, clean(authz), clean(v.connection_requests),
                  clean(v.ssl_session_reused), clean(r.uri), clean(r.headersIn['Accept-Encoding']),
                  clean(st.mode + (st.arg ? ' ' + st.arg : '')), clean(r.httpVersion),
                  clean(r.headersIn['User-Agent'])].join('\t') + '\n';
    fs.appendFileSync(P.dir + '/state/requests.log', line);
}

function text(r, code, body) {
    r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
    r.return(code, body);
}

function sendMetrics(r, P, n, st, extra) {
    const now = Date.now();
    const parts = metricsBody(P, n, st, now);
    if (extra === 'malformed') {
        const bad = malformedLines(now);
        // spread them: after the first HELP/TYPE, in the middle, before the node family, at end
        const at = [1, 3, Math.floor(parts.length / 2), Math.floor(parts.length / 2) + 1,
                    parts.length - 5, parts.length - 3, parts.length];
        for (let k = bad.length - 1; k >= 0; k--) { parts.splice(at[k], 0, bad[k]); }
    }
    r.headersOut['Content-Type'] = CT;
    r.return(200, parts.join(''));
}

function statusBody(code) {
    switch (code) {
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden (user=system:metrics-server, verb=get, resource=nodes, subresource=metrics)';
    case 404: return '404 page not found\n';
    case 500: return 'Internal Error: failed to get summary stats\n';
    case 503: return 'Service Unavailable\n';
    default: return 'simulated status ' + code + '\n';
    }
}

function randomBytes(len) {
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) { b[i] = Math.floor(Math.random() * 256); }
    return b;
}

// filler lines of oversize bodies: all of the same length (fixed-width pod numbers)
function fillerLine(i, now) {
    return 'container_memory_working_set_bytes{container="filler",namespace="oversize",pod="filler-'
           + pad(i, 9) + '"} 1.048576e+06 ' + now + '\n';
}

function serve(r) {
    const P = params(r);
    const n = nodeOfIp(P, r.variables.server_addr);
    if (!n) {
        text(r, 404, 'no simulated node at ' + r.variables.server_addr + '\n');
        return;
    }
    const st = readState(P, n);
    logRequest(P, r, n, st);

    // authentication as a kubelet with --anonymous-auth=false: a presented client certificate
    // must verify against the cluster CA; otherwise a bearer token is needed.
    const verify = r.variables.ssl_client_verify || 'NONE';
    const authz = r.headersIn['Authorization'] || '';
    if (verify !== 'NONE' && verify !== 'SUCCESS') {
        text(r, 401, 'Unauthorized');
        return;
    }
    if (P.auth && verify !== 'SUCCESS' && !/^Bearer \S+/.test(authz)) {
        text(r, 401, 'Unauthorized');
        return;
    }

    const uri = r.uri;
    if (uri === '/healthz') { text(r, 200, 'ok'); return; }
    if (uri === '/redirected') { sendMetrics(r, P, n, st); return; }
    if (uri !== P.path) { text(r, 404, '404 page not found\n'); return; }

    const arg = st.arg || '';
    switch (st.mode) {
    case 'garbage':
        r.headersOut['Content-Type'] = CT;
        r.return(200, randomBytes(Number(arg) || 4096));
        return;
    case 'empty':
        r.headersOut['Content-Type'] = CT;
        r.return(200, '');
        return;
    case 'status': {
        const code = Number(arg) || 500;
        text(r, code, statusBody(code));
        return;
    }
    case 'hang': {
        const secs = Number(arg) || 120;
        setTimeout(() => { text(r, 504, 'simulated hang over\n'); }, secs * 1000);
        return;
    }
    case 'slow':
        r.internalRedirect('/_sim/slow?n=' + n);
        return;
    case 'close_mid_body':
        r.internalRedirect('/_sim/close');
        return;
    case 'gzip':
        r.internalRedirect('/_sim/gzip');
        return;
    case 'redirect':
        r.return(302, arg || ('https://' + ipOfNode(P, n) + ':' + P.port + '/redirected'));
        return;
    case 'malformed_lines':
        sendMetrics(r, P, n, st, 'malformed');
        return;
    case 'oversize':
    case 'oversize_chunked': {
        const want = Number(arg) || 17 * 1024 * 1024;
        const now = Date.now();
        const parts = metricsBody(P, n, st, now);
        let len = 0;
        for (let i = 0; i < parts.length; i++) { len += parts[i].length; }
        const L = fillerLine(0, now).length;
        const fill = Math.max(0, Math.ceil((want - len) / L));
        r.status = 200;
        r.headersOut['Content-Type'] = CT;
        if (st.mode === 'oversize') { r.headersOut['Content-Length'] = String(len + fill * L); }
        r.sendHeader();
        r.send(parts.join(''));
        let chunk = [];
        for (let i = 0; i < fill; i++) {
            chunk.push(fillerLine(i, now));
            if (chunk.length === 512) { r.send(chunk.join('')); chunk = []; }
        }
        if (chunk.length) { r.send(chunk.join('')); }
        r.finish();
        return;
    }
    default:
        sendMetrics(r, P, n, st);
    }
}

// internal locations reached by internalRedirect from serve()

function gzipBody(r) {
    const P = params(r);
    const n = nodeOfIp(P, r.variables.server_addr);
    sendMetrics(r, P, n, readState(P, n));
}

function closeBody(r) {
    const P = params(r);
    const n = nodeOfIp(P, r.variables.server_addr);
    const body = metricsBody(P, n, readState(P, n), Date.now()).join('');
    r.status = 200;
    r.headersOut['Content-Type'] = CT;
    r.headersOut['Content-Length'] = String(body.length);
    r.sendHeader();
    r.send(body.slice(0, Math.floor(body.length / 2)));
    r.finish();   // keepalive_timeout 0 in this location: nginx closes the connection now
}

// control-server side of `slow`: /_sim/drip?n=N sends the body RATE bytes per second (arg of the
// mode, default 1) for at most 300 s, through a proxy_buffering-off proxy that flushes each piece.
function drip(r) {
    const P = params(r);
    const n = Number(r.args.n);
    const st = readState(P, n);
    const rate = Math.max(1, Number(st.arg) || 1);
    const body = metricsBody(P, n, st, Date.now()).join('');
    r.status = 200;
    r.headersOut['Content-Type'] = CT;
    r.headersOut['Content-Length'] = String(body.length);
    r.sendHeader();
    let off = 0, ticks = 0;
    const tick = () => {
        try {
            if (off >= body.length || ticks++ >= 300) { r.finish(); return; }
            r.send(body.slice(off, off + rate));
        } catch (e) {
            return;   // the client (the proxy) is gone
        }
        off += rate;
        setTimeout(tick, 1000);
    };
    tick();
}

// ---------------------------------------------------------------------------------------------
// control server

function json(r, code, obj) {
    r.headersOut['Content-Type'] = 'application/json';
    r.return(code, JSON.stringify(obj) + '\n');
}

function nodeList(P, spec) {
    if (spec === 'all') {
        const all = [];
        for (let n = 1; n <= P.nodes; n++) { all.push(n); }
        return all;
    }
    const out = [];
    const items = String(spec || '').split(',');
    for (let i = 0; i < items.length; i++) {
        const n = parseNode(P, items[i]);
        if (!n) { return null; }
        out.push(n);
    }
    return out.length ? out : null;
}

// "pod-00001-003", "3" -> 3 (any pod number the node has or had), -1 if not
function parsePod(P, n, st, s) {
    if (s === undefined || s === '') { return -1; }
    let p = -1;
    const pre = 'pod-' + pad(n, 5) + '-';
    if (String(s).indexOf(pre) === 0) { p = Number(String(s).slice(pre.length)); }
    else if (/^\d+$/.test(s)) { p = Number(s); }
    return (p >= 0 && p < P.pods + st.added.length) ? p : -1;
}

function parseContainer(P, s) {
    for (let c = 0; c < P.containers; c++) {
        if (containerName(c) === s || String(c) === s) { return c; }
    }
    return -1;
}

function applyMode(P, n, st, mode, arg, a) {
    const now = Date.now();
    switch (mode) {
    case 'reset':
        return pristine();
    case 'normal':
        st.mode = 'normal';
        st.arg = '';
        return st;
    case 'restart': {
        // arg "POD/CONTAINER" (or pod= and container= parameters)
        let pod = a.pod, ctr = a.container;
        if (arg) { const k = arg.lastIndexOf('/'); pod = arg.slice(0, k); ctr = arg.slice(k + 1); }
        const p = parsePod(P, n, st, pod);
        const c = parseContainer(P, ctr);
        if (p < 0 || c < 0) { throw new Error('restart: unknown pod/container "' + arg + '"'); }
        st.restarts[p + ':' + c] = now;
        return st;
    }
    case 'counter_reset':
        st.reset_at = now;
        return st;
    case 'swap':
        // arg BYTES: container c of every pod uses BYTES x (c + 1) of swap
        if (!/^\d+$/.test(arg || '')) { throw new Error('swap: need a number of bytes as arg'); }
        st.swap = Number(arg);
        return st;
    case 'drop_pod': {
        const p = parsePod(P, n, st, arg || a.pod);
        if (p < 0) { throw new Error('drop_pod: unknown pod "' + arg + '"'); }
        st.dropped[p] = now;
        return st;
    }
    case 'add_pod': {
        const count = Number(arg) || 1;
        for (let k = 0; k < count; k++) {
            st.added.push({ p: P.pods + st.added.length, at: now });
        }
        return st;
    }
    case 'claim_pod': {
        // arg "NS/NAME[,NS/NAME...]": pods of any name, another node's included
        const list = String(arg || '').split(',');
        for (let k = 0; k < list.length; k++) {
            const m = /^([a-z0-9.-]+)\/([a-z0-9.-]+)$/.exec(list[k]);
            if (!m) { throw new Error('claim_pod: need NS/NAME[,NS/NAME...], not "' + list[k] + '"'); }
            st.claimed.push({ ns: m[1], name: m[2] });
        }
        return st;
    }
    case 'status':
        if (!/^\d{3}$/.test(arg)) { throw new Error('status: need a 3-digit code as arg'); }
        st.mode = mode;
        st.arg = arg;
        return st;
    default:
        st.mode = mode;
        st.arg = arg || '';
        return st;
    }
}

function stateView(P, n, st) {
    const added = [];
    for (let k = 0; k < st.added.length; k++) {
        added.push({ pod: podName(n, st.added[k].p), at_ms: st.added[k].at });
    }
    const restarts = {};
    for (const k in st.restarts) {
        const pc = k.split(':');
        restarts[podName(n, +pc[0]) + '/' + containerName(+pc[1])] = st.restarts[k];
    }
    const dropped = {};
    for (const p in st.dropped) { dropped[podName(n, +p)] = st.dropped[p]; }
    return { node: nodeName(n), ip: ipOfNode(P, n), mode: st.mode, arg: st.arg,
             counter_reset_ms: st.reset_at, restarts: restarts, dropped: dropped, added: added,
             claimed: st.claimed.map((c) => c.ns + '/' + c.name) };
}

function ctlMode(r) {
    const P = params(r);
    const a = r.args;
    const mode = a.mode;
    const nodes = nodeList(P, a.node);
    if (!nodes) { json(r, 400, { error: 'unknown node "' + a.node + '"' }); return; }
    if (MODES.indexOf(mode) < 0) {
        json(r, 400, { error: 'unknown mode "' + mode + '"', modes: MODES });
        return;
    }
    const arg = a.arg === undefined ? '' : decodeURIComponent(String(a.arg).replace(/\+/g, ' '));
    const res = {};
    try {
        for (let i = 0; i < nodes.length; i++) {
            const n = nodes[i];
            const st = applyMode(P, n, readState(P, n), mode, arg, a);
            writeState(P, n, st);
            if (nodes.length <= 100) { res[nodeName(n)] = stateView(P, n, st); }
        }
    } catch (e) {
        json(r, 400, { error: e.message });
        return;
    }
    json(r, 200, nodes.length <= 100 ? res : { nodes: nodes.length, mode: mode, arg: arg });
}

function ctlState(r) {
    const P = params(r);
    const nodes = nodeList(P, r.args.node);
    if (!nodes) { json(r, 400, { error: 'unknown node "' + r.args.node + '"' }); return; }
    const res = {};
    for (let i = 0; i < nodes.length; i++) {
        res[nodeName(nodes[i])] = stateView(P, nodes[i], readState(P, nodes[i]));
    }
    json(r, 200, res);
}

// expected values of node N at now_ms (default: now), from the same model that makes the body
function ctlExpected(r) {
    const P = params(r);
    const n = parseNode(P, r.args.node);
    if (!n) { json(r, 400, { error: 'unknown node "' + r.args.node + '"' }); return; }
    const now = Number(r.args.now_ms) || Date.now();
    const M = model(P, n, readState(P, n), now);
    const pods = [];
    for (let i = 0; i < M.pods.length; i++) {
        const p = M.pods[i];
        const cs = [];
        for (let k = 0; k < p.cs.length; k++) {
            const c = p.cs[k];
            cs.push({ name: c.name, cpu_nanocores: c.m * 1000000, memory_bytes: c.mem,
                      start_ms: c.start, cpu_counter_ns: c.cpuNs });
        }
        pods.push({ namespace: p.ns, name: p.name, cpu_counter_ns: p.cpuNs, memory_bytes: p.mem,
                    containers: cs });
    }
    json(r, 200, { node: nodeName(n), now_ms: now, cpu_nanocores: M.nodeM * 1000000,
                   memory_bytes: M.nodeMem, cpu_counter_ns: M.nodeCpuNs, pods: pods });
}

function ctlParams(r) {
    const P = params(r);
    json(r, 200, { dir: P.dir, t0_ms: P.t0, nodes: P.nodes, pods: P.pods,
                   containers: P.containers, base_ip: P.base, port: Number(P.port),
                   control_port: Number(P.cport), require_auth: P.auth, path: P.path });
}

// /stats: folds DIR/state/requests.log into DIR/state/stats.json incrementally (from the last
// offset, whole lines only) and answers per-node counters.
function loadStats(P) {
    const path = P.dir + '/state/stats.json';
    let S;
    try { S = JSON.parse(fs.readFileSync(path, 'utf8')); } catch (e) { S = null; }
    if (!S) { S = { offset: 0, total: 0, nodes: {} }; }
    const log = P.dir + '/state/requests.log';
    let fd;
    try { fd = fs.openSync(log, 'r'); } catch (e) { return S; }
    let size;
    try {
        size = fs.fstatSync(fd).size;
        if (size < S.offset) { S = { offset: 0, total: 0, nodes: {} }; }
        if (size > S.offset) {
            const b = Buffer.alloc(size - S.offset);
            const got = fs.readSync(fd, b, 0, size - S.offset, S.offset);
            const s = b.toString('utf8', 0, got);
            const end = s.lastIndexOf('\n');
            if (end >= 0) {
                const lines = s.slice(0, end).split('\n');
                for (let i = 0; i < lines.length; i++) { foldLine(P, S, lines[i]); }
                S.offset += Buffer.byteLength(s.slice(0, end + 1));
            }
        }
    } finally {
        fs.closeSync(fd);
    }
    fs.writeFileSync(path + '.tmp', JSON.stringify(S));
    fs.renameSync(path + '.tmp', path);
    return S;
}

function foldLine(P, S, line) {
    const f = line.split('\t');
    if (f.length < 13) { return; }
    const name = nodeName(Number(f[1]));
    let x = S.nodes[name];
    if (!x) {
        x = S.nodes[name] = { requests: 0, connections: 0, tls_resumed: 0,
                              with_client_cert: 0, with_authorization: 0, uris: {} };
    }
    x.requests++;
    S.total++;
    if (f[6] === '1') { x.connections++; }
    if (f[6] === '1' && f[7] === 'r') { x.tls_resumed++; }
    if (f[2] === 'SUCCESS') { x.with_client_cert++; }
    if (f[4] === '1') { x.with_authorization++; }
    x.uris[f[8]] = (x.uris[f[8]] || 0) + 1;
    x.last_time_ms = Number(f[0]);
    x.last_client_verify = f[2];
    x.last_client_subject = f[3];
    x.last_authorization = f[4] === '1';
    x.last_authorization_value = f[5];
    x.last_uri = f[8];
    x.last_accept_encoding = f[9];
    x.last_mode = f[10];
    x.last_http_version = f[11];
    x.last_user_agent = f[12];
}

function emptyStats() {
    return { requests: 0, connections: 0, tls_resumed: 0, with_client_cert: 0,
             with_authorization: 0, uris: {}, last_time_ms: 0, last_client_verify: '',
             last_client_subject: '', last_authorization: false, last_authorization_value: '',
             last_uri: '', last_accept_encoding: '', last_mode: '', last_http_version: '',
             last_user_agent: '' };
}

function ctlStats(r) {
    const P = params(r);
    const S = loadStats(P);
    if (r.args.node) {
        const nodes = nodeList(P, r.args.node);
        if (!nodes) { json(r, 400, { error: 'unknown node "' + r.args.node + '"' }); return; }
        const res = {};
        for (let i = 0; i < nodes.length; i++) {
            res[nodeName(nodes[i])] = S.nodes[nodeName(nodes[i])] || emptyStats();
        }
        json(r, 200, { total_requests: S.total, nodes: res });
        return;
    }
    json(r, 200, { total_requests: S.total, nodes_seen: Object.keys(S.nodes).length,
                   nodes: S.nodes });
}

function ctlStatsReset(r) {
    const P = params(r);
    const S = loadStats(P);
    const path = P.dir + '/state/stats.json';
    fs.writeFileSync(path + '.tmp', JSON.stringify({ offset: S.offset, total: 0, nodes: {} }));
    fs.renameSync(path + '.tmp', path);
    json(r, 200, { reset: true });
}

function ctlHealth(r) {
    text(r, 200, 'ok\n');
}

export default { serve, gzipBody, closeBody, drip, ctlMode, ctlState, ctlExpected, ctlParams,
                 ctlStats, ctlStatsReset, ctlHealth, gofloat, fmtScaled, metricsBody, model, readState };
