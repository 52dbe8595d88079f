#include "readmodels/models/rates_channel.h"

#include <cmath>

#include "core/msgpack_cursor.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/models/settings.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

rates_channel::rates_channel(zmq::context_t& ctx, options opts)
    : opts_(std::move(opts)), link_(ctx, opts_.endpoint, "the rates service", opts_.keys) {}

bool rates_channel::send(std::string_view base, std::string_view currency, time_point now) {
  if (!can_send()) return false;
  buf_.clear();
  packer pk(buf_);
  pk.pack_map(2);
  pack_str(pk, "base");
  pack_str(pk, base);
  pack_str(pk, "currency");
  pack_str(pk, currency);
  if (!link_.send(buf_.span())) return false;
  in_flight_.emplace_back(std::string(currency), now);
  return true;
}

rates_channel::answer rates_channel::decode(std::span<const char> body, const std::string& expected,
                                            bool& in_sync) {
  answer a;
  a.currency = expected;
  in_sync = true;
  msgpack_cursor cur(body);
  uint32_t n = 0;
  bool has_ok = false, ok = false, has_rate = false;
  double rate = 0;
  std::string error, message;
  if (!cur.read_map_header(n)) {
    in_sync = false;
    a.error = "reply is not a map";
    return a;
  }
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view k, s;
    if (!cur.read_str(k)) {
      in_sync = false;
      a.error = "malformed reply";
      return a;
    }
    if (k == "ok" && cur.read_bool(ok)) {
      has_ok = true;
    } else if (k == "rate" && cur.read_number(rate)) {
      has_rate = true;
    } else if (k == "currency" && cur.read_str(s)) {
      std::string c;
      if (!normalize_currency(s, c) || c != expected) in_sync = false;
    } else if (k == "error" && cur.read_str(s)) {
      error.assign(s.substr(0, 64));
    } else if (k == "message" && cur.read_str(s)) {
      message.assign(s.substr(0, 256));
    } else if (!cur.skip()) {
      in_sync = false;
      a.error = "malformed reply";
      return a;
    }
  }
  if (!in_sync) {
    a.error = "reply for another currency";
  } else if (!has_ok) {
    a.error = "reply without 'ok'";
  } else if (ok) {
    if (has_rate && std::isfinite(rate) && rate > 0) {
      a.result = outcome::ok;
      a.rate = rate;
    } else {
      a.error = "reply without a positive rate";
    }
  } else {
    a.result = error == "not_found" ? outcome::not_found : outcome::retry;
    a.error =
        (error.empty() ? std::string("error") : error) + (message.empty() ? "" : ": " + message);
  }
  return a;
}

void rates_channel::fail_all(std::string_view why, std::vector<answer>& out) {
  for (auto& [currency, at] : in_flight_) {
    answer a;
    a.currency = std::move(currency);
    a.error.assign(why);
    out.push_back(std::move(a));
  }
  in_flight_.clear();
  link_.reset();
}

void rates_channel::poll(time_point now, std::vector<answer>& out) {
  zmq::message_t msg;
  while (link_.receive(msg)) {
    if (in_flight_.empty()) {  // a reply nobody asked for: start afresh
      link_.reset();
      break;
    }
    bool in_sync = true;
    answer a = decode({static_cast<const char*>(msg.data()), msg.size()}, in_flight_.front().first,
                      in_sync);
    if (!in_sync) {
      fail_all("out of step with the rates service: " + a.error, out);
      return;
    }
    in_flight_.pop_front();
    out.push_back(std::move(a));
  }
  if (!in_flight_.empty() && now - in_flight_.front().second >= opts_.timeout)
    fail_all(
        "no reply from the rates service within " + std::to_string(opts_.timeout.count()) + " ms",
        out);
}

}  // namespace rill::readmodels
