#!/usr/bin/env python3
"""Load on a running `aded serve`, loopback only: K clients stream completions for T seconds.

Reports requests ok / failed (by status), time to first token p50/p99 (from sending the request
to the first streamed token, queueing included), tokens/s per stream and in total, and the
server's RSS before and after (with --pid). Standard library only.

  bench/server_load.py --port 8080 --clients 4 --seconds 20 --max-tokens 64 [--pid PID]
"""
import argparse
import http.client
import json
import statistics
import threading
import time


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def one_request(args, body):
    """Streams one completion; returns (status, ttft_seconds, tokens, decode_seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["Authorization"] = "Bearer " + args.api_key
    start = time.perf_counter()
    conn.request("POST", "/v1/completions", body=body, headers=headers)
    response = conn.getresponse()
    if response.status != 200:
        response.read()
        conn.close()
        return response.status, None, 0, 0
    first = None
    tokens = 0
    buffer = b""
    while True:
        chunk = response.read1(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            if not event.startswith(b"data: ") or event == b"data: [DONE]":
                continue
            data = json.loads(event[6:])
            n = len(data["choices"][0].get("tokens", []))
            if n and first is None:
                first = time.perf_counter()
            tokens += n
    end = time.perf_counter()
    conn.close()
    return 200, (first - start) if first else None, tokens, (end - first) if first else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--prompt", default='def read_config(path):\n    """Read the configuration file."""\n')
    p.add_argument("--method", default=None, help="speculative.method for every request")
    p.add_argument("--temperature", type=float, default=0)
    p.add_argument("--api-key", default=None)
    p.add_argument("--pid", type=int, default=None, help="the server's pid, for RSS before and after")
    args = p.parse_args()

    request = {"prompt": args.prompt, "max_tokens": args.max_tokens, "temperature": args.temperature,
               "stream": True, "return_tokens": True}
    if args.method:
        request["speculative"] = {"method": args.method}
    body = json.dumps(request)
    rss_before = rss_kb(args.pid) if args.pid else None
    results, lock = [], threading.Lock()
    deadline = time.perf_counter() + args.seconds

    def client():
        while time.perf_counter() < deadline:
            try:
                r = one_request(args, body)
            except Exception as e:  # a failed request is counted, not fatal
                r = (f"error: {e.__class__.__name__}", None, 0, 0)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    rss_after = rss_kb(args.pid) if args.pid else None

    ok = [r for r in results if r[0] == 200]
    failed = {}
    for r in results:
        if r[0] != 200:
            failed[str(r[0])] = failed.get(str(r[0]), 0) + 1
    ttfts = sorted(r[1] for r in ok if r[1] is not None)
    stream_tps = [(r[2] - 1) / r[3] for r in ok if r[3] > 0 and r[2] > 1]
    total_tokens = sum(r[2] for r in ok)

    def pct(values, q):
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]

    print(f"clients {args.clients}, {wall:.1f} s, max_tokens {args.max_tokens}, method {args.method or 'server default'}")
    print(f"requests ok {len(ok)}, failed {sum(failed.values())} {failed if failed else ''}")
    print(f"time to first token: p50 {1e3 * pct(ttfts, 0.5):.1f} ms, p99 {1e3 * pct(ttfts, 0.99):.1f} ms")
    if stream_tps:
        print(f"tokens/s per stream: median {statistics.median(stream_tps):.1f}; total {total_tokens / wall:.1f} tokens/s")
    if rss_before is not None:
        print(f"server RSS: before {rss_before / 1024:.1f} MB, after {rss_after / 1024:.1f} MB")


if __name__ == "__main__":
    main()
