#pragma once
// rates_server: the REP loop of rill-rates (DOMAIN.md, the exchange-rates
// saga's external service). REQ clients and DEALER clients that send the
// empty delimiter frame are served; one body frame per request:
//
//   {"base":B, "currency":C, "req"?}  -> {"ok":true, "rate":r, "base":B, "currency":C, "req"?}
//                                        r = units of B per 1 unit of C (codes answered in
//                                        upper case; any letter case is accepted)
//                                     -> {"ok":false, "error":"not_found", ...}    unknown code
//                                     -> {"ok":false, "error":"unavailable", ...}  every Nth
//                                     (fail_every)
//   {"op":"ping", "req"?}             -> {"ok":true, "op":"ping", "req"?}
//   {"op":"status", "req"?}           -> {"ok":true, "op":"status", "requests":u, ...}
//   anything else                     -> {"ok":false, "error":"bad_request"|"too_large", "message"}
//   tcp://, a CURVE key not allowed   -> {"ok":false, "error":"forbidden", "message", "req"?}
//
// Only rate requests are delayed (delay_ms) and counted for fail_every, so
// pings stay prompt for supervisors. SIGHUP reloads the rates file (the old
// table stays if the new file is bad).
//
// Ownership: borrows the context; owns its socket and table. Thread-safety:
// one thread (construct and run on it).
#include <cstdint>
#include <filesystem>
#include <string>

#include <zmq.hpp>

#include "core/buffer.h"
#include "core/limits.h"
#include "daemons/rill_rates/rates_table.h"
#include "transport/security.h"

namespace rill::daemon {

struct rates_server_options {
  std::string endpoint;
  std::filesystem::path rates_file;  // for SIGHUP reloads
  uint64_t delay_ms = 0;
  uint64_t fail_every = 0;
  size_t max_request_bytes = 64 << 10;
};

class rates_server {
 public:
  // Binds the REP socket; throws at startup if it cannot.
  rates_server(zmq::context_t& ctx, const rates_server_options& opt, rates_table table,
               const transport::server_security* sec);
  // Serves until SIGINT / SIGTERM arrives on `signal_fd` (a signalfd that
  // also carries SIGHUP).
  void run(int signal_fd);

 private:
  // Encodes the reply to `body` into out_; returns false if the run must stop
  // (a stop signal came while delaying).
  // forbidden: from a CURVE client not on the allow-list (answered so).
  bool answer(std::span<const char> body, bool extra_frames, bool forbidden, int signal_fd);
  // Waits up to `ms` for a signal; true if a stop signal arrived.
  bool sleep_interruptibly(uint64_t ms, int signal_fd);
  // Reads pending signals: reloads on SIGHUP; true on a stop signal.
  bool take_signals(int signal_fd);

  rates_server_options opt_;
  rates_table table_;
  zmq::socket_t socket_;
  limits lim_;
  out_buffer out_;
  uint64_t requests_ = 0;
  uint64_t lookups_ = 0;
  uint64_t failed_on_purpose_ = 0;
  uint64_t bad_ = 0;
  uint64_t reloads_ = 0;
  uint64_t forbidden_ = 0;
};

}  // namespace rill::daemon
