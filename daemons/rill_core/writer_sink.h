#pragma once
// writer_sink: the command processor's journal_sink over the real journal
// writer. Maps store::io_status to protocol error codes. Borrows the writer.
// Thread-safety: none; used by the command thread only.
#include "core/journal_sink.h"
#include "store/journal_writer.h"

namespace rill::daemon {

class writer_sink final : public journal_sink {
 public:
  explicit writer_sink(store::journal_writer& w) : w_(w) {}
  uint64_t head() const override { return w_.head(); }
  errc append(uint64_t seq, std::span<const char> body) override {
    switch (w_.append(seq, body)) {
      case store::io_status::ok: return errc::ok;
      case store::io_status::too_large: return errc::too_large;
      default: return errc::unavailable;
    }
  }
  void publish() override { w_.publish(); }
  void discard_unpublished() override { w_.discard_unpublished(); }
  errc flush() override {
    return w_.flush() == store::io_status::ok ? errc::ok : errc::unavailable;
  }

 private:
  store::journal_writer& w_;
};

}  // namespace rill::daemon
