#!/usr/bin/python3
"""A complete rill client in Python: pyzmq + msgpack (Debian: python3-zmq,
python3-msgpack), nothing else. It speaks PROTOCOL.md directly:

  * commands and batches to rill-core's ROUTER `command` endpoint (DEALER,
    pipelining-safe: every request carries `req`, every reply echoes it);
  * queries to a read model's `model.<name>` endpoint, with `after` for
    read-your-writes;
  * the event feed: SUB to `events`, caught up and gap-filled from the
    `replay` endpoint (subscribe first, then replay, then drop what was
    already delivered: the ZeroMQ guide's clone pattern).

Run it against a running rill:

    rill up --detach --data /tmp/d
    /usr/bin/python3 examples/python/client.py --data /tmp/d

It creates a customer, retries a command with the same idempotency key,
creates two orders (EUR and USD) in one atomic batch, reads its writes, and
follows the event feed until the exchange-rate saga has priced the USD
order. Exit status 0 when every expectation held.
"""

import argparse
import collections
import json
import os
import sys
import time
import uuid

import msgpack
import zmq


def load_endpoints(data_dir):
    """D/run/endpoints.json (written by `rill up`), else the default ipc endpoints."""
    run = os.path.join(os.path.abspath(data_dir), "run")
    defaults = {
        "command": "ipc://" + os.path.join(run, "command"),
        "events": "ipc://" + os.path.join(run, "events"),
        "replay": "ipc://" + os.path.join(run, "replay"),
        "notify": "ipc://" + os.path.join(run, "notify"),
        "models": {},
    }
    try:
        with open(os.path.join(run, "endpoints.json")) as f:
            found = json.load(f)
    except (OSError, ValueError):
        return defaults
    defaults.update({k: v for k, v in found.items() if v})
    return defaults


class RillError(Exception):
    """A reply with ok = false: `code` is the PROTOCOL.md error code."""

    def __init__(self, reply):
        self.code = reply.get("error", "?")
        self.reply = reply
        super().__init__("%s: %s" % (self.code, reply.get("message", "")))


class RillClient:
    """Request/reply with rill's ROUTER endpoints over DEALER sockets."""

    def __init__(self, data_dir, timeout_ms=5000):
        self.ctx = zmq.Context.instance()
        self.data_dir = data_dir
        self.endpoints = load_endpoints(data_dir)
        self.timeout_ms = timeout_ms
        self._sockets = {}
        self._next_req = 1

    def close(self):
        for s in self._sockets.values():
            s.close(linger=0)
        self._sockets.clear()

    def _socket(self, endpoint):
        s = self._sockets.get(endpoint)
        if s is None:
            s = self.ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(endpoint)
            self._sockets[endpoint] = s
        return s

    def call(self, endpoint, request, timeout_ms=None):
        """Sends one request; returns the reply that echoes its `req`."""
        req = self._next_req
        self._next_req += 1
        s = self._socket(endpoint)
        s.send(msgpack.packb(dict(request, req=req), use_bin_type=True))
        deadline = time.monotonic() + (timeout_ms or self.timeout_ms) / 1000.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from %s" % endpoint)
            if not s.poll(int(left * 1000) + 1):
                continue
            frames = s.recv_multipart()
            try:
                reply = msgpack.unpackb(frames[-1], raw=False)
            except ValueError:
                continue  # not MessagePack: ignore it
            if isinstance(reply, dict) and reply.get("req", req) == req:
                return reply

    def _checked(self, reply):
        if not reply.get("ok"):
            raise RillError(reply)
        return reply

    # -- commands -----------------------------------------------------------

    def send(self, cmd, agg, agg_id, data=None, key=None, expect=None, corr=None):
        """One command; returns {"ok", "seq", "ver", "dup"} or raises RillError."""
        request = {"cmd": cmd, "agg": agg, "id": agg_id, "data": data or {}}
        if key is not None:
            request["key"] = key
        if expect is not None:
            request["expect"] = expect
        if corr is not None:
            request["corr"] = corr
        return self._checked(self.call(self.endpoints["command"], request))

    def send_batch(self, commands, atomic=False):
        """Many commands in one message; returns the list of per-command results."""
        reply = self._checked(self.call(self.endpoints["command"],
                                        {"batch": commands, "atomic": atomic}))
        return reply["results"]

    def status(self):
        return self._checked(self.call(self.endpoints["command"], {"op": "status"}))

    # -- queries ------------------------------------------------------------

    def model_endpoint(self, model):
        ep = self.endpoints.get("models", {}).get(model)
        return ep or "ipc://" + os.path.join(os.path.abspath(self.data_dir), "run", "model." + model)

    def query(self, model, q, args=None, after=None, timeout_ms=2000):
        """A read model query; with `after` it waits until the model has applied that seq."""
        request = {"model": model, "q": q, "args": args or {}, "timeout_ms": timeout_ms}
        if after is not None:
            request["after"] = after
        reply = self.call(self.model_endpoint(model), request, timeout_ms + 3000)
        return self._checked(reply)["result"]

    # -- replay -------------------------------------------------------------

    def replay(self, from_seq, max_events=1000):
        """Stored events with seq >= from_seq: (events, head)."""
        reply = self._checked(self.call(self.endpoints["replay"],
                                        {"from": from_seq, "max": max_events}))
        return reply["events"], reply["head"]


class EventFeed:
    """Every event with seq >= from_seq, in order, without gaps: the live
    feed for speed, the replay endpoint for the start and for any gap."""

    def __init__(self, client, from_seq):
        self.client = client
        self.next_seq = max(1, from_seq)
        self.ready = collections.deque()
        self.sub = client.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")  # subscribe first ...
        self.sub.connect(client.endpoints["events"])
        self._catch_up()                          # ... then catch up

    def close(self):
        self.sub.close(linger=0)

    def _catch_up(self, upto=None):
        while upto is None or self.next_seq <= upto:
            events, head = self.client.replay(self.next_seq)
            for ev in events:
                if ev["seq"] == self.next_seq:
                    self.ready.append(ev)
                    self.next_seq += 1
            if not events or self.next_seq > head:
                return

    def next(self, timeout_s):
        """The next event, or None after timeout_s."""
        deadline = time.monotonic() + timeout_s
        last_check = time.monotonic()
        while not self.ready:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.sub.poll(int(min(left, 0.2) * 1000) + 1):
                topic, body = self.sub.recv_multipart()[:2]
                ev = msgpack.unpackb(body, raw=False)
                seq = ev.get("seq", 0)
                if seq < self.next_seq:
                    continue                       # already delivered from replay
                if seq > self.next_seq:
                    self._catch_up(seq - 1)        # a gap: read what we missed
                if seq == self.next_seq:
                    self.ready.append(ev)
                    self.next_seq += 1
                last_check = time.monotonic()
            elif time.monotonic() - last_check > 0.5:
                self._catch_up()                   # a quiet feed may hide a lost tail
                last_check = time.monotonic()
        return self.ready.popleft()


def describe(ev):
    extra = "  key=%s" % ev["key"] if ev.get("key") else ""
    return "#%d %s/%s %s v%d %s%s" % (ev["seq"], ev["agg"], ev["type"], ev["id"], ev["ver"],
                                      json.dumps(ev.get("data", {}), sort_keys=True), extra)


def main():
    ap = argparse.ArgumentParser(description="rill example client (pyzmq + msgpack)")
    ap.add_argument("--data", default=os.environ.get("RILL_DATA", "./rill-data"),
                    help="rill data directory (default ./rill-data or $RILL_DATA)")
    ap.add_argument("--timeout", type=float, default=20.0,
                    help="seconds to wait for the sagas (default 20)")
    args = ap.parse_args()

    client = RillClient(args.data)
    failures = []

    def expect(ok, what):
        print("  [%s] %s" % ("ok" if ok else "FAILED", what))
        if not ok:
            failures.append(what)

    try:
        head = client.status()["head"]
        print("rill at %s: journal head %d" % (os.path.abspath(args.data), head))
        run = uuid.uuid4().hex[:8]
        customer = "py-" + run

        print("\n1. A command, then the same command again with the same idempotency key")
        first = client.send("CREATE_CUSTOMER", "customer", customer,
                            {"name": "Barbara Liskov", "email": "barbara@example.com", "country": "US"},
                            key="py:create:" + customer)
        again = client.send("CREATE_CUSTOMER", "customer", customer,
                            {"name": "Barbara Liskov", "email": "barbara@example.com", "country": "US"},
                            key="py:create:" + customer)
        print("  seq %d ver %d; retried: seq %d dup %s" % (first["seq"], first["ver"], again["seq"], again["dup"]))
        expect(again["dup"] and again["seq"] == first["seq"], "the retry appended nothing (dup)")

        print("\n2. A refused command")
        try:
            client.send("CREATE_CUSTOMER", "customer", customer,
                        {"name": "Barbara Liskov", "email": "barbara@example.com"})
            expect(False, "creating the customer twice is refused")
        except RillError as e:
            print("  refused: %s" % e)
            expect(e.code == "already_exists", "creating the customer twice is refused (already_exists)")

        print("\n3. Two orders in one atomic batch")
        eur, usd = customer + "-o1", customer + "-o2"
        results = client.send_batch([
            {"cmd": "CREATE_ORDER", "agg": "order", "id": eur,
             "data": {"customer_id": customer, "amount": 1500, "currency": "EUR"}},
            {"cmd": "CREATE_ORDER", "agg": "order", "id": usd,
             "data": {"customer_id": customer, "amount": 250.5, "currency": "USD"}},
        ], atomic=True)
        for r in results:
            print("  %s" % r)
        expect(all(r["ok"] for r in results), "both orders created")
        expect(results[1]["seq"] == results[0]["seq"] + 1, "with consecutive seqs")

        print("\n4. Read your writes: query with after = the command's seq")
        order = client.query("orders", "get", {"id": eur}, after=results[0]["seq"])
        print("  orders get %s -> %s" % (eur, order))
        expect(order["customer_name"] == "Barbara Liskov" and order["amount_base"] == 1500,
               "the orders model knows the EUR order and its customer")

        print("\n5. Follow the event feed (caught up from replay, then live)")
        feed = EventFeed(client, first["seq"])
        rate_event = None
        deadline = time.monotonic() + args.timeout
        while rate_event is None and time.monotonic() < deadline:
            ev = feed.next(deadline - time.monotonic())
            if ev is None:
                break
            if ev["id"].startswith(customer):
                print("  " + describe(ev))
            if ev["type"] == "EXCHANGE_RATE_SET" and ev["id"] == usd:
                rate_event = ev
        feed.close()
        expect(rate_event is not None, "the exchange-rate saga set the USD order's rate")

        if rate_event is not None:
            order = client.query("orders", "get", {"id": usd}, after=rate_event["seq"])
            print("  orders get %s -> %s" % (usd, order))
            expect("rate" in order and "amount_base" in order, "the USD order now has a rate and an EUR amount")

        print("\n6. The customer as the customers model sees it")
        print("  %s" % client.query("customers", "get", {"id": customer}, after=first["seq"]))
    except (TimeoutError, RillError, KeyError, zmq.ZMQError) as e:
        failures.append(repr(e))
        print("error: %r" % (e,), file=sys.stderr)
    finally:
        client.close()

    if failures:
        print("\n%d expectation(s) failed" % len(failures))
        return 1
    print("\nall expectations held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
