#include "readmodels/change_reporter.h"

#include <algorithm>
#include <vector>

#include "core/msgpack.h"

namespace rill::readmodels {

change_reporter::change_reporter(zmq::context_t& ctx, change_reporter_options opt,
                                 const transport::client_security* sec)
    : opt_(std::move(opt)), enabled_(!opt_.endpoint.empty()) {
  if (!enabled_) return;
  socket_ = zmq::socket_t(ctx, zmq::socket_type::push);
  socket_.set(zmq::sockopt::sndhwm, std::max(1, opt_.send_hwm));
  socket_.set(zmq::sockopt::linger, 0);
  // Reports only go to a notifier that is connected; none are queued for one
  // that has not shown up yet beyond the high-water mark.
  transport::apply_client_security(socket_, opt_.endpoint, sec);
  socket_.connect(opt_.endpoint);
}

void change_reporter::report(std::string_view model, change_batch& batch, uint64_t seq) {
  if (batch.empty()) return;
  if (!enabled_) {
    batch.clear();
    return;
  }
  buf_.clear();
  msgpack::packer<out_buffer> pk(buf_);
  pk.pack_map(batch.all() ? 4 : 3);
  pk.pack("model");
  pk.pack(model);
  pk.pack("keys");
  // Sorted, so a report is the same whatever the hash set's order.
  std::vector<std::string_view> keys;
  keys.reserve(batch.keys().size());
  for (const auto& k : batch.keys()) keys.emplace_back(k);
  std::sort(keys.begin(), keys.end());
  pk.pack_array(static_cast<uint32_t>(keys.size()));
  for (auto k : keys) pk.pack(k);
  pk.pack("seq");
  pk.pack(seq);
  if (batch.all()) {
    pk.pack("all");
    pk.pack(true);
  }
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
