#include "daemons/rill_rates/rates_server.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/msgpack.h"
#include "core/msgpack_check.h"
#include "core/msgpack_cursor.h"
#include "core/request.h"
#include "core/utf8.h"
#include "transport/server_socket.h"

namespace rill::daemon {

namespace {

using packer = msgpack::packer<out_buffer>;

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_req(out_buffer& out, packer& pk, std::span<const char> req) {
  if (req.empty()) return;
  pack_str(pk, "req");
  out.write(req.data(), req.size());
}

void encode_error(out_buffer& out, errc code, std::string_view message, std::span<const char> req) {
  packer pk(out);
  pk.pack_map(req.empty() ? 3 : 4);
  pack_str(pk, "ok");
  pk.pack_false();
  pack_str(pk, "error");
  pack_str(pk, to_string(code));
  pack_str(pk, "message");
  pack_str(pk, message);
  pack_req(out, pk, req);
}

struct rate_request {
  std::optional<std::string_view> op;
  std::optional<std::string_view> base, currency;
  std::span<const char> req;
};

// Decodes a request map; bad_request with `message` if malformed.
errc decode(std::span<const char> body, const limits& lim, rate_request& r, std::string& message) {
  if (body.size() > lim.max_request_bytes) {
    message = "request of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
              std::to_string(lim.max_request_bytes);
    return errc::too_large;
  }
  if (errc e = check_msgpack(body, lim, message); e != errc::ok) return e;
  msgpack_cursor c(body);
  uint32_t n = 0;
  if (!c.read_map_header(n)) {
    message = "request is not a map";
    return errc::bad_request;
  }
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name, s;
    if (!c.read_str(name)) {
      message = "field names must be strings";
      return errc::bad_request;
    }
    std::optional<std::string_view>* slot = nullptr;
    if (name == "op") {
      slot = &r.op;
    } else if (name == "base") {
      slot = &r.base;
    } else if (name == "currency") {
      slot = &r.currency;
    } else if (name == "req") {
      const size_t at = c.offset();
      if (!r.req.empty() || !c.skip()) {
        message = "duplicate or malformed 'req'";
        return errc::bad_request;
      }
      r.req = c.bytes_since(at);
      continue;
    } else {
      message = "unknown field '" + std::string(utf8_prefix(name, 64)) + "'";
      return errc::bad_request;
    }
    if (slot->has_value()) {
      message = "duplicate field '" + std::string(name) + "'";
      return errc::bad_request;
    }
    if (!c.read_str(s)) {
      message = "'" + std::string(name) + "' must be a string";
      return errc::bad_request;
    }
    *slot = s;
  }
  return errc::ok;
}

}  // namespace

rates_server::rates_server(zmq::context_t& ctx, const rates_server_options& opt, rates_table table,
                           const transport::server_security* sec)
    : opt_(opt), table_(std::move(table)), socket_(ctx, zmq::socket_type::rep) {
  lim_.max_request_bytes = opt.max_request_bytes;
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::maxmsgsize, int64_t{64} << 20);
  // A CURVE client whose key is not on the allow-list is admitted and told
  // `forbidden` (as rill-core's endpoints do), not left to wait in silence.
  transport::apply_server_security(socket_, opt.endpoint, sec, transport::refused_clients::answer);
  transport::bind_endpoint(socket_, opt.endpoint);
}

bool rates_server::take_signals(int signal_fd) {
  bool stop = false;
  signalfd_siginfo si{};
  while (::read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGHUP && opt_.rates_file.empty()) {
      spdlog::warn(
          "rill-rates: SIGHUP, but the rates are the built-in ones: nothing to reload "
          "(give a file with --rates)");
    } else if (si.ssi_signo == SIGHUP) {
      std::string error;
      if (auto t = rates_table::load(opt_.rates_file, error)) {
        table_ = std::move(*t);
        ++reloads_;
        spdlog::info("rill-rates: reloaded {} ({} currencies)", opt_.rates_file.string(),
                     table_.size());
      } else {
        spdlog::warn("rill-rates: reload refused, keeping the old rates: {}", error);
      }
    } else {
      spdlog::info("rill-rates: signal {}, stopping", si.ssi_signo);
      stop = true;
    }
  }
  return stop;
}

bool rates_server::sleep_interruptibly(uint64_t ms, int signal_fd) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  zmq::pollitem_t item{nullptr, signal_fd, ZMQ_POLLIN, 0};
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return false;
    try {
      zmq::poll(&item, 1, std::chrono::ceil<std::chrono::milliseconds>(until - now));
    } catch (const zmq::error_t&) {
    }
    if ((item.revents & ZMQ_POLLIN) && take_signals(signal_fd)) return true;
  }
}

bool rates_server::answer(std::span<const char> body, bool extra_frames, bool forbidden,
                          int signal_fd) {
  ++requests_;
  out_.clear();
  rate_request r;
  std::string message;
  if (forbidden) {
    // Not read any further: only its req, to echo.
    ++forbidden_;
    encode_error(out_, errc::forbidden, "this client's CURVE key is not on the server's allow-list",
                 find_req(body, lim_));
    return true;
  }
  errc e = extra_frames ? errc::bad_request : decode(body, lim_, r, message);
  if (extra_frames) message = "a request is one body frame";
  if (e != errc::ok) {
    ++bad_;
    // A request refused before its req was read still gets it back
    // (core/request.h: the top-level req, when well-formed).
    if (r.req.empty()) r.req = find_req(body, lim_);
    encode_error(out_, e, message, r.req);
    return true;
  }
  packer pk(out_);
  if (r.op) {
    if (*r.op == "ping") {
      pk.pack_map(r.req.empty() ? 2 : 3);
      pack_str(pk, "ok");
      pk.pack_true();
      pack_str(pk, "op");
      pack_str(pk, "ping");
      pack_req(out_, pk, r.req);
    } else if (*r.op == "status") {
      pk.pack_map(r.req.empty() ? 11 : 12);
      pack_str(pk, "ok");
      pk.pack_true();
      pack_str(pk, "op");
      pack_str(pk, "status");
      pack_str(pk, "requests");
      pk.pack_uint64(requests_);
      pack_str(pk, "lookups");
      pk.pack_uint64(lookups_);
      pack_str(pk, "failed_on_purpose");
      pk.pack_uint64(failed_on_purpose_);
      pack_str(pk, "bad_requests");
      pk.pack_uint64(bad_);
      pack_str(pk, "currencies");
      pk.pack_uint64(table_.size());
      pack_str(pk, "anchor");
      pack_str(pk, table_.anchor());
      pack_str(pk, "reloads");
      pk.pack_uint64(reloads_);
      pack_str(pk, "forbidden_requests");
      pk.pack_uint64(forbidden_);
      pack_str(pk, "pid");
      pk.pack_uint64(static_cast<uint64_t>(::getpid()));
      pack_req(out_, pk, r.req);
    } else {
      ++bad_;
      encode_error(out_, errc::bad_request, "unknown op '" + std::string(r.op->substr(0, 64)) + "'",
                   r.req);
    }
    return true;
  }
  std::string base, currency;
  if (!r.base || !r.currency) {
    ++bad_;
    encode_error(out_, errc::bad_request, "'base' and 'currency' are required", r.req);
    return true;
  }
  if (!currency_code(*r.base, base) || !currency_code(*r.currency, currency)) {
    ++bad_;
    encode_error(out_, errc::bad_request, "'base' and 'currency' must be three-letter codes",
                 r.req);
    return true;
  }
  ++lookups_;
  if (opt_.delay_ms > 0 && sleep_interruptibly(opt_.delay_ms, signal_fd)) return false;
  if (opt_.fail_every > 0 && lookups_ % opt_.fail_every == 0) {
    ++failed_on_purpose_;
    encode_error(out_, errc::unavailable, "the rates service is unavailable (fail-every)", r.req);
    return true;
  }
  const auto rate = table_.rate(base, currency);
  if (!rate) {
    encode_error(out_, errc::not_found, "no rate for " + base + "/" + currency, r.req);
    return true;
  }
  pk.pack_map(r.req.empty() ? 4 : 5);
  pack_str(pk, "ok");
  pk.pack_true();
  pack_str(pk, "rate");
  pk.pack_double(*rate);
  pack_str(pk, "base");
  pack_str(pk, base);
  pack_str(pk, "currency");
  pack_str(pk, currency);
  pack_req(out_, pk, r.req);
  return true;
}

void rates_server::run(int signal_fd) {
  zmq::pollitem_t items[2] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                              {nullptr, signal_fd, ZMQ_POLLIN, 0}};
  zmq::message_t body, extra;
  for (;;) {
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(-1));
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      continue;
    }
    if ((items[1].revents & ZMQ_POLLIN) && take_signals(signal_fd)) return;
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    bool extra_frames = false;
    try {
      if (!socket_.recv(body, zmq::recv_flags::dontwait)) continue;
      bool more = body.more();  // REP hands over the body frames only
      while (more) {
        extra_frames = true;
        (void)socket_.recv(extra, zmq::recv_flags::none);  // parts of one message arrive together
        more = extra.more();
      }
    } catch (const zmq::error_t&) {
      continue;
    }
    // The ZAP user id of a client whose key is not allowed (see the socket).
    const char* user = zmq_msg_gets(body.handle(), "User-Id");
    const bool forbidden = user != nullptr && std::strcmp(user, transport::kForbiddenUserId) == 0;
    if (!answer({static_cast<const char*>(body.data()), body.size()}, extra_frames, forbidden,
                signal_fd))
      return;
    try {
      (void)socket_.send(zmq::const_buffer(out_.data(), out_.size()), zmq::send_flags::none);
    } catch (const zmq::error_t&) {
      // The requester is gone; REP drops the reply and is ready for the next.
    }
  }
}

}  // namespace rill::daemon
