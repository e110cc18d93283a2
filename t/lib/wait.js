// For the suites: GET /wait?path=P[&status=S][&match=TEXT][&absent=TEXT]
// [&header=NAME:VALUE][&timeout=MS][&after=MS][&body=1][&revalidate=1] polls
// http://127.0.0.1:$server_port$P until it answers S (default 200) with TEXT in
// its body (and the other TEXT not in it), then answers 200 "ready" (with
// body=1: that answer's status and body); 504 when time runs out.  after=MS
// starts polling only then: under the real Test::Nginx, whose error_log checks
// see only what each request of a block logged, a request that lasts more
// than a resolution sees a scrape cycle's log lines.
// Scrapes happen on nginx's timer: a test waits for them instead of sleeping.

function pause(ms) {
    return new Promise(function(resolve) { setTimeout(resolve, ms); });
}

async function wait(r) {
    var url = 'http://127.0.0.1:' + r.variables.server_port
              + decodeURIComponent(r.args.path || '/anon/readyz');
    var status = r.args.status ? Number(r.args.status) : 200;
    var match = r.args.match ? decodeURIComponent(r.args.match) : null;
    var absent = r.args.absent ? decodeURIComponent(r.args.absent) : null;
    var deadline = Date.now() + (r.args.timeout ? Number(r.args.timeout) : 20000);
    var after = r.args.after ? Number(r.args.after) : 0;
    var last = '';
    var headers = {};

    if (r.args.header) {
        var h = decodeURIComponent(r.args.header);
        var colon = h.indexOf(':');
        headers[h.slice(0, colon)] = h.slice(colon + 1);
    }

    if (after) {
        await pause(after);
    }

    while (Date.now() < deadline) {
        try {
            var res = await ngx.fetch(url, { headers: headers,
                                             max_response_body_size: 1 << 26 });
            var body = await res.text();
            last = res.status + ' ' + body.slice(0, 200);

            if (res.status == status
                && (match === null || body.indexOf(match) >= 0)
                && (absent === null || body.indexOf(absent) < 0))
            {
                if (r.args.body) {
                    r.return(res.status, body);
                } else if (r.args.revalidate) {
                    await revalidate(r, url, headers, res);
                } else {
                    r.return(200, 'ready\n');
                }
                return;
            }
        } catch (e) {
            last = String(e);
        }

        await pause(100);
    }

    r.return(504, 'not ready: ' + last + '\n');
}

// revalidate=1: the answer's ETag sent back in If-None-Match: "etag E,
// again: STATUS BYTES" (E the ETag, quoted as it came)
async function revalidate(r, url, headers, res) {
    var etag = res.headers.get('ETag');
    var again = {};

    for (var k in headers) { again[k] = headers[k]; }
    again['If-None-Match'] = etag || '';

    var res2 = await ngx.fetch(url, { headers: again });
    var body2 = await res2.text();

    r.return(200, 'etag ' + etag + ', again: ' + res2.status + ' ' + body2.length + '\n');
}

export default { wait };
