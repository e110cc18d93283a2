// For the suites: GET /wait?path=P[&status=S][&match=TEXT][&timeout=MS]
// polls http://127.0.0.1:$server_port$P until it answers S (default 200)
// with TEXT in its body, then answers 200 "ready"; 504 when time runs out.
// Scrapes happen on nginx's timer: a test waits for them instead of sleeping.

function pause(ms) {
    return new Promise(function(resolve) { setTimeout(resolve, ms); });
}

async function wait(r) {
    var url = 'http://127.0.0.1:' + r.variables.server_port
              + decodeURIComponent(r.args.path || '/anon/readyz');
    var status = r.args.status ? Number(r.args.status) : 200;
    var match = r.args.match ? decodeURIComponent(r.args.match) : null;
    var deadline = Date.now() + (r.args.timeout ? Number(r.args.timeout) : 20000);
    var last = '';

    while (Date.now() < deadline) {
        try {
            var res = await ngx.fetch(url);
            var body = await res.text();
            last = res.status + ' ' + body.slice(0, 200);

            if (res.status == status && (match === null || body.indexOf(match) >= 0)) {
                r.return(200, 'ready\n');
                return;
            }
        } catch (e) {
            last = String(e);
        }

        await pause(100);
    }

    r.return(504, 'not ready: ' + last + '\n');
}

export default { wait };
