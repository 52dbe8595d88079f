// rill demo, step 5: a client watching a customer is notified of its change.
#include "daemons/rill/demo_scenario.h"

namespace rill::cli {

namespace {

bool send_msg(zmq::socket_t& s, const nlohmann::json& j) {
  auto b = nlohmann::json::to_msgpack(j);
  try {
    return s.send(zmq::const_buffer(b.data(), b.size()), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

// The next message from the notifier (last frame, as JSON) within `timeout`.
nlohmann::json receive_msg(zmq::socket_t& s, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  try {
    if (zmq::poll(&item, 1, timeout) <= 0) return nullptr;
    zmq::message_t m;
    if (!s.recv(m, zmq::recv_flags::dontwait)) return nullptr;
    while (m.more()) {
      zmq::message_t next;
      if (!s.recv(next, zmq::recv_flags::none)) break;
      m = std::move(next);
    }
    auto j =
        nlohmann::json::from_msgpack(static_cast<const uint8_t*>(m.data()),
                                     static_cast<const uint8_t*>(m.data()) + m.size(), true, false);
    return j.is_discarded() ? nlohmann::json(nullptr) : j;
  } catch (const zmq::error_t&) {
    return nullptr;
  }
}

}  // namespace

void demo_notify(demo_session& s, const demo_cast& c, demo_progress& p) {
  const auto& who = c.customers[1];
  s.step("A client watching " + who.id + " is notified when it changes");
  zmq::socket_t sock(s.context(), zmq::socket_type::dealer);
  sock.set(zmq::sockopt::linger, 0);
  sock.connect(s.endpoints().notify);
  using clock = std::chrono::steady_clock;
  s.say("> watch customers " + who.id + "   (rill-notify, " + s.endpoints().notify + ")");
  send_msg(sock, {{"op", "watch"}, {"model", "customers"}, {"key", who.id}});
  bool acked = false;
  for (auto deadline = clock::now() + s.step_timeout(); !acked && clock::now() < deadline;) {
    auto m = receive_msg(sock, std::chrono::milliseconds(200));
    if (m.is_object() && m.value("ok", false) && str_of(m, "op") == "watch") acked = true;
  }
  if (!s.check(acked, "rill-notify accepted the watch")) return;

  auto r = s.send({{"cmd", "UPDATE_CUSTOMER"},
                   {"agg", "customer"},
                   {"id", who.id},
                   {"data", {{"email", c.updated_email}}},
                   {"key", "demo:update:" + who.id}});
  const uint64_t seq = r.is_object() && r.value("ok", false) ? seq_of(r) : 0;
  if (!s.check(seq > 0, "UPDATE_CUSTOMER accepted")) return;
  p.last_seq = std::max(p.last_seq, seq);

  nlohmann::json note;
  for (auto deadline = clock::now() + s.step_timeout(); clock::now() < deadline;) {
    auto m = receive_msg(sock, std::chrono::milliseconds(200));
    if (m.is_object() && str_of(m, "note") == "changed" && str_of(m, "model") == "customers" &&
        str_of(m, "key") == who.id && seq_of(m) >= seq) {
      note = m;
      break;
    }
  }
  if (note.is_object()) s.say("note  " + note.dump());
  s.check(note.is_object(),
          "the watcher got {\"note\": \"changed\", \"model\": \"customers\", \"key\": \"" + who.id +
              "\"} for seq " + std::to_string(seq));
  send_msg(sock, {{"op", "unwatch"}, {"model", "customers"}, {"key", who.id}});

  auto q = s.query("customers", "get", {{"id", who.id}}, seq);
  auto res = q.is_object() ? q.value("result", nlohmann::json(nullptr)) : nlohmann::json(nullptr);
  s.show(res);
  s.check(str_of(res, "email") == c.updated_email,
          "read-your-writes: the customers model shows the new email");
}

}  // namespace rill::cli
