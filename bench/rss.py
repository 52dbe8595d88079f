#!/usr/bin/python3
"""Resident memory of rill's daemons under the loads that could make it grow
without bound (issue 8, "Resource bounds"). Starts each daemon on its own temp
data directory, drives it over ipc, samples VmRSS / VmHWM from /proc, stops it
by pid and removes the directory. Prints a Markdown table.

  bench/rss.py [BIN_DIR]          (default build/bin)
  RSS_KEYS=1000000 RSS_MAX_KEYS=200000 RSS_CLIENTS=10000 bench/rss.py

Rows:
  keys        rill-core, RSS_KEYS updates of 1,000 customers, each with a new
              idempotency key, --max-keys RSS_MAX_KEYS: RSS must level off
              once the retention limit is reached (the index stays at 1,000
              aggregates, so the keys are what could grow)
  oversized   rill-core, 40 requests of 16 MiB and 40 of 2 MiB (too_large):
              RSS after them, against before
  watchers    rill-notify, RSS_CLIENTS DEALER clients each watching a key
  slow query  rill-proj (customers), 200 clients each sending 500 queries and
              never reading a reply
"""
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/bin")
KEYS = int(os.environ.get("RSS_KEYS", "1000000"))
MAX_KEYS = int(os.environ.get("RSS_MAX_KEYS", "200000"))
CLIENTS = int(os.environ.get("RSS_CLIENTS", "10000"))


def rss_mib(pid):
    """(anonymous RSS, peak RSS) in MiB. Anonymous memory is the heap and
    stacks: what could grow without bound. File-backed pages (the mapped
    journal segments, shared with the page cache) are left out of the first
    figure; the peak (VmHWM) includes them."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "VmHWM:")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) / 1024
    return out.get("RssAnon", 0.0), out.get("VmHWM", 0.0)


# Every process this script starts, so that main() can stop them (by pid)
# whatever row failed.
STARTED = []


def stop_all():
    for p in STARTED:
        if isinstance(p, subprocess.Popen):
            if p.poll() is None:
                p.kill()
                p.wait()
        elif p.is_alive():  # a multiprocessing.Process (watcher group)
            p.kill()
            p.join()


class Daemon:
    def __init__(self, work, name, args):
        self.data = tempfile.mkdtemp(prefix=name + "-", dir=work)
        self.log = open(self.data + ".log", "w")
        self.proc = subprocess.Popen([os.path.join(BIN, name), "--data", self.data] + args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        STARTED.append(self.proc)

    def ep(self, name):
        return "ipc://" + os.path.join(self.data, "run", name)

    def wait_socket(self, name):
        path = os.path.join(self.data, "run", name)
        for _ in range(200):
            if os.path.exists(path):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{path} did not appear")

    def rss(self):
        return rss_mib(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def call(sock, req, timeout_ms=30000):
    sock.send(msgpack.packb(req))
    if not sock.poll(timeout_ms):
        raise RuntimeError("no reply")
    return msgpack.unpackb(sock.recv(), raw=False)


def keys_row(ctx, work, rows):
    core = Daemon(work, "rill-core", ["--max-keys", str(MAX_KEYS), "--checkpoint-every", "0"])
    core.wait_socket("command")
    s = ctx.socket(zmq.DEALER)
    s.connect(core.ep("command"))
    cust = [{"cmd": "CREATE_CUSTOMER", "agg": "customer", "id": f"c{i}",
             "data": {"name": f"Customer {i}", "email": f"c{i}@example.com"}} for i in range(1000)]
    assert call(s, {"batch": cust})["ok"]
    samples = [(0, core.rss()[0])]
    sent = 0
    step = max(KEYS // 10, 1000)
    while sent < KEYS:
        batch = []
        for _ in range(1000):
            batch.append({"cmd": "UPDATE_CUSTOMER", "agg": "customer", "id": f"c{sent % 1000}",
                          "key": f"key-{sent:012d}", "data": {"name": f"n{sent}"}})
            sent += 1
        r = call(s, {"batch": batch})
        assert r["ok"] and all(x["ok"] for x in r["results"]), r
        if sent % step == 0:
            samples.append((sent, core.rss()[0]))
    st = call(s, {"op": "status"})
    rss, hwm = core.rss()
    s.close(0)
    core.stop()
    curve = ", ".join(f"{n // 1000}k: {m:.0f}" for n, m in samples)
    rows.append(("rill-core, keys", f"{KEYS:,} keyed commands, --max-keys {MAX_KEYS:,}",
                 f"{samples[0][1]:.0f}", f"{rss:.0f}", f"{hwm:.0f}",
                 f"anon RSS MiB by commands sent: {curve}; keys retained {st.get('keys', '?')}"))


def oversized_row(ctx, work, rows):
    core = Daemon(work, "rill-core", ["--checkpoint-every", "0"])
    core.wait_socket("command")
    s = ctx.socket(zmq.DEALER)
    s.connect(core.ep("command"))
    assert call(s, {"op": "ping"})["ok"]
    before = core.rss()[0]
    codes = set()
    for size in [16 << 20] * 40 + [2 << 20] * 40:
        r = call(s, {"cmd": "CREATE_CUSTOMER", "agg": "customer", "id": "x",
                     "data": {"name": "a" * size, "email": "x@example.com"}, "req": 1})
        codes.add(r.get("error"))
    assert call(s, {"op": "ping"})["ok"]
    rss, hwm = core.rss()
    s.close(0)
    core.stop()
    rows.append(("rill-core, oversized", "40 x 16 MiB + 40 x 2 MiB requests",
                 f"{before:.0f}", f"{rss:.0f}", f"{hwm:.0f}", f"replies: {sorted(c for c in codes if c)}"))


def watcher_group(ep, first, count, conn):
    """One client process: `count` DEALER clients watching one key each
    (three descriptors per client, so 10k clients take several processes)."""
    ctx = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, count + 16)
    socks = []
    for i in range(first, first + count):
        d = ctx.socket(zmq.DEALER)
        d.setsockopt(zmq.LINGER, 0)
        d.connect(ep)
        d.send(msgpack.packb({"op": "watch", "model": "customers", "key": f"c{i}"}))
        socks.append(d)
    poller = zmq.Poller()
    for d in socks:
        poller.register(d, zmq.POLLIN)
    pending = set(socks)
    deadline = time.time() + 120
    while pending and time.time() < deadline:
        for d, _ in poller.poll(1000):
            d.recv()
            pending.discard(d)
    conn.send(count - len(pending))
    conn.recv()  # hold the connections until the parent has measured
    for d in socks:
        d.close(0)
    ctx.destroy(0)


def watchers_row(_, work, rows):
    ntf = Daemon(work, "rill-notify", [])
    ntf.wait_socket("notify")
    before = ntf.rss()[0]
    per = 4000
    groups = []
    for first in range(0, CLIENTS, per):
        parent, child = multiprocessing.Pipe()
        p = multiprocessing.Process(target=watcher_group,
                                    args=(ntf.ep("notify"), first, min(per, CLIENTS - first), child))
        p.start()
        STARTED.append(p)
        groups.append((p, parent))
    acked = sum(conn.recv() for _, conn in groups)
    rss, hwm = ntf.rss()
    for p, conn in groups:
        conn.send(0)
        p.join(30)
    ntf.stop()
    rows.append(("rill-notify, watchers", f"{CLIENTS:,} DEALER clients, one key each",
                 f"{before:.0f}", f"{rss:.0f}", f"{hwm:.0f}", f"{acked:,} watches acknowledged"))


def slow_query_row(ctx, work, rows):
    # rill-proj tails the journal directly; it needs one (an empty one is fine).
    core = Daemon(work, "rill-core", ["--checkpoint-every", "0"])
    core.wait_socket("command")
    proj_data = core.data  # same data dir: the model reads D/journal
    log = open(proj_data + ".proj.log", "w")
    proj = subprocess.Popen([os.path.join(BIN, "rill-proj"), "--data", proj_data, "--models",
                             "customers", "--notify-in", "none"], stdout=log, stderr=subprocess.STDOUT)
    STARTED.append(proj)
    ep = "ipc://" + os.path.join(proj_data, "run", "model.customers")
    path = os.path.join(proj_data, "run", "model.customers")
    for _ in range(200):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    q = ctx.socket(zmq.DEALER)
    q.connect(ep)
    assert call(q, {"model": "customers", "q": "ping"})["ok"]
    before = rss_mib(proj.pid)[0]
    socks = []
    for c in range(200):
        d = ctx.socket(zmq.DEALER)
        d.setsockopt(zmq.LINGER, 0)
        d.setsockopt(zmq.RCVHWM, 1)
        d.setsockopt(zmq.RCVBUF, 4096)
        d.connect(ep)
        for k in range(500):
            d.send(msgpack.packb({"model": "customers", "q": "list", "args": {"limit": 10000},
                                  "req": k}), zmq.NOBLOCK)
        socks.append(d)
    time.sleep(3)
    alive = call(q, {"model": "customers", "q": "ping"}, 10000)["ok"]
    rss, hwm = rss_mib(proj.pid)
    for d in socks:
        d.close(0)
    q.close(0)
    proj.send_signal(signal.SIGTERM)
    proj.wait(20)
    log.close()
    core.stop()
    rows.append(("rill-proj, slow query clients", "200 clients x 500 queries, never reading",
                 f"{before:.0f}", f"{rss:.0f}", f"{hwm:.0f}", f"still answers a ping: {alive}"))


def main():
    # Three descriptors per client socket here, one per connection in the
    # notifier (which inherits this limit).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="rill-rss-")
    ctx = zmq.Context()
    rows = []
    try:
        for fn in (keys_row, oversized_row, watchers_row, slow_query_row):
            t0 = time.time()
            fn(ctx, work, rows)
            print(f"# {fn.__name__}: {time.time() - t0:.1f} s", file=sys.stderr)
    finally:
        stop_all()
        ctx.destroy(0)
        shutil.rmtree(work, ignore_errors=True)
    print("| daemon, load | what | anon RSS before (MiB) | anon RSS after (MiB) | peak RSS incl. mapped journal (MiB) | notes |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
