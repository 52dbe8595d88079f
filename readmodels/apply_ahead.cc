#include "readmodels/apply_ahead.h"

#include <algorithm>

namespace rill::readmodels {

apply_ahead::apply_ahead(read_model& model, change_set& changed, size_t depth)
    : model_(model), changed_(changed), filter_(model), ring_(std::max<size_t>(1, depth)) {}

void apply_ahead::push(uint64_t seq, std::span<const char> body) {
  if (event_kind_head kind; filter_.skips(body, kind)) {
    ++skipped_;
    if (count_ == 0) {
      applied_ = seq;
    } else {
      size_t last = head_ + count_ - 1;
      if (last >= ring_.size()) last -= ring_.size();
      ring_[last].through = seq;
    }
    return;
  }
  size_t i = head_ + count_;
  if (i >= ring_.size()) i -= ring_.size();
  slot& s = ring_[i];
  s.seq = seq;
  s.through = seq;
  s.ok = s.decoder.decode(body, s.view, why_) == errc::ok;
  ++count_;
  if (s.ok && ring_.size() > 1) model_.prefetch(s.view);
  if (count_ == ring_.size()) apply_oldest();
}

void apply_ahead::flush() {
  while (count_ > 0) apply_oldest();
}

void apply_ahead::apply_oldest() {
  slot& s = ring_[head_];
  if (s.ok) {
    model_.apply(s.view, changed_);  // may throw: the slot stays queued, applied_ unchanged
  } else {
    ++undecodable_;
  }
  applied_ = s.through;
  if (++head_ == ring_.size()) head_ = 0;
  --count_;
}

}  // namespace rill::readmodels
