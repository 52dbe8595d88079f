#include "readmodels/change_reporter.h"

#include <algorithm>
#include <vector>

#include "transport/notifier_codec.h"

namespace rill::readmodels {

change_reporter::change_reporter(zmq::context_t& ctx, change_reporter_options opt,
                                 const transport::client_security* sec)
    : opt_(std::move(opt)), enabled_(!opt_.endpoint.empty()) {
  if (!enabled_) return;
  socket_ = zmq::socket_t(ctx, zmq::socket_type::push);
  socket_.set(zmq::sockopt::sndhwm, std::max(1, opt_.send_hwm));
  socket_.set(zmq::sockopt::linger, 0);
  // A notifier that binds after this model started is found within tens of
  // ms: at libzmq's default retry (100-200 ms) the model's first reports
  // reached it in one go, so a client watching right after `rill up` got
  // one whole-model note for its first changes (seen in loaded test runs).
  socket_.set(zmq::sockopt::reconnect_ivl, 10);
  socket_.set(zmq::sockopt::reconnect_ivl_max, 100);
  // Reports only go to a notifier that is connected; none are queued for one
  // that has not shown up yet beyond the high-water mark.
  transport::apply_client_security(socket_, opt_.endpoint, sec);
  socket_.connect(opt_.endpoint);
  if (sec != nullptr)
    watch_ = std::make_unique<transport::handshake_watch>(ctx, socket_, opt_.endpoint,
                                                          "notify-in (change reports)");
}

void change_reporter::report(std::string_view model, change_batch& batch, uint64_t seq) {
  if (batch.empty()) return;
  if (!enabled_) {
    batch.clear();
    return;
  }
  buf_.clear();
  // Sorted by key, so a report is the same whatever the hash map's order.
  entries_.clear();
  entries_.reserve(batch.keys().size());
  for (const auto& [k, s] : batch.keys()) entries_.emplace_back(k, s);
  std::sort(entries_.begin(), entries_.end());
  keys_.clear();
  seqs_.clear();
  for (const auto& [k, s] : entries_) {
    keys_.push_back(k);
    seqs_.push_back(s);
  }
  transport::notify::encode_report(buf_, model, keys_, seq, seqs_, batch.all());
  batch.clear();
  try {
    if (socket_.send(zmq::const_buffer(buf_.data(), buf_.size()), zmq::send_flags::dontwait))
      ++sent_;
    else
      ++dropped_;
  } catch (const zmq::error_t&) {
    ++dropped_;
  }
}

}  // namespace rill::readmodels
