#include "daemons/rill/load_workload.h"

namespace rill::cli {

namespace {
enum kind : uint32_t { k_create, k_update, k_order };
}

load_workload::load_workload(const load_config& cfg, std::string run_tag, uint32_t connection)
    : cfg_(cfg),
      tag_(run_tag + "-" + std::to_string(connection) + "-"),
      corr_prefix_(run_tag + ":"),
      buf_(4096),
      pk_(buf_),
      rng_(0x9E3779B97F4A7C15ull * (connection + 1) ^ std::hash<std::string>{}(run_tag)) {
  name_ = "Load customer";
  if (cfg.payload > name_.size()) name_.append(cfg.payload - name_.size(), 'x');
  scratch_.reserve(256);
}

uint64_t load_workload::random() {  // xorshift64*
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545F4914F6CDD1Dull;
}

uint32_t load_workload::pick_kind() {
  if (customers_ == 0) return k_create;
  const uint32_t r = static_cast<uint32_t>(random() % 100);
  if (r < cfg_.mix.create) return k_create;
  if (r < cfg_.mix.create + cfg_.mix.update) return k_update;
  return k_order;
}

void load_workload::pack_str(std::string_view s) {
  pk_.pack_str(static_cast<uint32_t>(s.size()));
  pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void load_workload::pack_command(int64_t stamp_ns) {
  const uint32_t k = pick_kind();
  pk_.pack_map(stamp_ns != 0 ? 5 : 4);
  switch (k) {
    case k_create: {
      scratch_.assign(tag_).push_back('c');
      scratch_ += std::to_string(customers_++);
      pack_str("cmd"), pack_str("CREATE_CUSTOMER");
      pack_str("agg"), pack_str("customer");
      pack_str("id"), pack_str(scratch_);
      pack_str("data");
      pk_.pack_map(2);
      pack_str("name"), pack_str(name_);
      pack_str("email");
      scratch_ += "@load.example";
      pack_str(scratch_);
      break;
    }
    case k_update: {
      scratch_.assign(tag_).push_back('c');
      scratch_ += std::to_string(random() % customers_);
      pack_str("cmd"), pack_str("UPDATE_CUSTOMER");
      pack_str("agg"), pack_str("customer");
      pack_str("id"), pack_str(scratch_);
      pack_str("data");
      pk_.pack_map(1);
      pack_str("name"), pack_str(name_);
      break;
    }
    default: {
      scratch_.assign(tag_).push_back('o');
      scratch_ += std::to_string(orders_++);
      pack_str("cmd"), pack_str("CREATE_ORDER");
      pack_str("agg"), pack_str("order");
      pack_str("id"), pack_str(scratch_);
      scratch_.assign(tag_).push_back('c');
      scratch_ += std::to_string(random() % customers_);
      pack_str("data");
      pk_.pack_map(3);
      pack_str("customer_id"), pack_str(scratch_);
      pack_str("amount"), pk_.pack_double(1.0 + static_cast<double>(random() % 100000) / 100.0);
      pack_str("currency"), pack_str("EUR");
      break;
    }
  }
  if (stamp_ns != 0) {
    scratch_.assign(corr_prefix_);
    scratch_ += std::to_string(stamp_ns);
    pack_str("corr"), pack_str(scratch_);
  }
}

std::span<const char> load_workload::next(uint64_t req, int64_t stamp_ns, uint32_t size) {
  buf_.clear();
  if (cfg_.batch <= 1) {
    // The command map with one more entry, req: pack_command wrote a fixmap
    // header (4 or 5 entries, one byte 0x84/0x85), so bump its count.
    const size_t start = buf_.size();
    pack_command(stamp_ns);
    buf_.data()[start] = static_cast<char>(buf_.data()[start] + 1);
    pack_str("req"), pk_.pack_uint64(req);
    return buf_.span();
  }
  pk_.pack_map(cfg_.atomic ? 3 : 2);
  pack_str("batch");
  pk_.pack_array(size);
  for (uint32_t i = 0; i < size; ++i) pack_command(stamp_ns);
  if (cfg_.atomic) pack_str("atomic"), pk_.pack_true();
  pack_str("req"), pk_.pack_uint64(req);
  return buf_.span();
}

}  // namespace rill::cli
