#include "readmodels/snapshot_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <utility>

namespace rill::readmodels {
namespace fs = std::filesystem;

namespace {

std::string errno_text(const std::string& what, const fs::path& p) {
  return what + " " + p.string() + ": " + std::strerror(errno);
}

// Writes every byte of the iovecs, retrying short writes and EINTR.
bool write_all(int fd, iovec* iov, int n) {
  while (n > 0) {
    const ssize_t w = ::writev(fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    size_t left = static_cast<size_t>(w);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

bool fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

const char* to_string(snapshot_status s) {
  switch (s) {
    case snapshot_status::ok:
      return "ok";
    case snapshot_status::not_found:
      return "not_found";
    case snapshot_status::corrupt:
      return "corrupt";
    case snapshot_status::io_error:
      return "io_error";
  }
  return "unknown";
}

// ------------------------------------------------------------ loaded_snapshot

loaded_snapshot::~loaded_snapshot() {
  reset();
}

loaded_snapshot::loaded_snapshot(loaded_snapshot&& o) noexcept
    : hdr(std::move(o.hdr)),
      body(std::exchange(o.body, {})),
      path(std::move(o.path)),
      map_(std::exchange(o.map_, nullptr)),
      map_size_(std::exchange(o.map_size_, 0)) {}

loaded_snapshot& loaded_snapshot::operator=(loaded_snapshot&& o) noexcept {
  if (this != &o) {
    reset();
    hdr = std::move(o.hdr);
    body = std::exchange(o.body, {});
    path = std::move(o.path);
    map_ = std::exchange(o.map_, nullptr);
    map_size_ = std::exchange(o.map_size_, 0);
  }
  return *this;
}

void loaded_snapshot::reset() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
  map_ = nullptr;
  map_size_ = 0;
  body = {};
}

// ------------------------------------------------------------- snapshot_store

snapshot_store::snapshot_store(fs::path dir, std::string model, size_t keep)
    : dir_(std::move(dir)), model_(std::move(model)), keep_(keep == 0 ? 1 : keep) {}

fs::path snapshot_store::path_of(uint64_t seq) const {
  return dir_ / snapshot_format::file_name(seq);
}

snapshot_status snapshot_store::open(std::string& message) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    message = "cannot create " + dir_.string() + ": " + ec.message();
    return snapshot_status::io_error;
  }
  ::chmod(dir_.c_str(), 0700);
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.ends_with(snapshot_format::kPartialSuffix)) fs::remove(it->path(), ec);
  }
  if (ec) {
    message = "cannot clean " + dir_.string() + ": " + ec.message();
    return snapshot_status::io_error;
  }
  return snapshot_status::ok;
}

std::vector<uint64_t> snapshot_store::list(std::string& message) const {
  std::vector<uint64_t> seqs;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    uint64_t seq = 0;
    if (snapshot_format::parse_file_name(it->path().filename().string(), seq)) seqs.push_back(seq);
  }
  if (ec && ec != std::errc::no_such_file_or_directory) message = ec.message();
  std::sort(seqs.rbegin(), seqs.rend());
  return seqs;
}

snapshot_status snapshot_store::read(uint64_t seq, loaded_snapshot& out,
                                     std::string& message) const {
  out = loaded_snapshot();
  out.path = path_of(seq);
  const int fd = ::open(out.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    message = errno_text("cannot open", out.path);
    return errno == ENOENT ? snapshot_status::not_found : snapshot_status::io_error;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    message = errno_text("cannot stat", out.path);
    ::close(fd);
    return snapshot_status::io_error;
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size < snapshot_format::kHeaderSize) {
    ::close(fd);
    message = out.path.string() + ": truncated";
    return snapshot_status::corrupt;
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    message = errno_text("cannot map", out.path);
    return snapshot_status::io_error;
  }
  ::madvise(p, size, MADV_SEQUENTIAL);
  out.map_ = p;
  out.map_size_ = size;
  std::span<const char> body;
  const auto c = snapshot_format::decode({static_cast<const char*>(p), size}, out.hdr, body);
  if (c != snapshot_format::check::ok) {
    message = out.path.string() + ": " + snapshot_format::to_string(c);
    out.reset();
    return snapshot_status::corrupt;
  }
  if (out.hdr.model != model_) {
    message = out.path.string() + ": written by model '" + out.hdr.model + "'";
    out.reset();
    return snapshot_status::corrupt;
  }
  if (out.hdr.seq != seq) {
    message = out.path.string() + ": header seq " + std::to_string(out.hdr.seq) +
              " does not match its name";
    out.reset();
    return snapshot_status::corrupt;
  }
  out.body = body;
  return snapshot_status::ok;
}

snapshot_status snapshot_store::write(uint64_t seq, uint64_t event_fingerprint, uint64_t created_ns,
                                      std::span<const char> body, std::string& message) {
  snapshot_format::header h;
  h.seq = seq;
  h.body_length = body.size();
  h.body_checksum = snapshot_format::checksum(body);
  h.event_fingerprint = event_fingerprint;
  h.created_ns = created_ns;
  h.model = model_;
  std::string prefix;
  snapshot_format::encode_prefix(h, prefix);

  const fs::path final_path = path_of(seq);
  fs::path partial = final_path;
  partial += snapshot_format::kPartialSuffix;
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    message = errno_text("cannot create", partial);
    return snapshot_status::io_error;
  }
  iovec iov[2] = {{prefix.data(), prefix.size()}, {const_cast<char*>(body.data()), body.size()}};
  bool ok = write_all(fd, iov, body.empty() ? 1 : 2);
  if (!ok) message = errno_text("cannot write", partial);
  if (ok && ::fdatasync(fd) != 0) {
    ok = false;
    message = errno_text("cannot flush", partial);
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    message = errno_text("cannot close", partial);
  }
  if (ok && ::rename(partial.c_str(), final_path.c_str()) != 0) {
    ok = false;
    message = errno_text("cannot rename", partial);
  }
  if (!ok) {
    ::unlink(partial.c_str());
    return snapshot_status::io_error;
  }
  if (!fsync_dir(dir_)) {
    message = errno_text("cannot fsync", dir_);
    return snapshot_status::io_error;
  }
  prune();
  return snapshot_status::ok;
}

snapshot_status snapshot_store::use_settings(const std::string& settings, bool& discarded,
                                             std::string& previous, std::string& message) {
  discarded = false;
  previous.clear();
  const fs::path file = dir_ / kSettingsFile;
  bool had_record = false;
  {
    std::ifstream in(file, std::ios::binary);
    if (in) {
      had_record = true;
      constexpr size_t kMax = 16u << 20;
      std::string text(kMax + 1, '\0');
      in.read(text.data(), static_cast<std::streamsize>(text.size()));
      text.resize(static_cast<size_t>(in.gcount()));
      previous = std::move(text);
    }
  }
  if (had_record && previous == settings) return snapshot_status::ok;
  std::string ignored;
  const auto seqs = list(ignored);
  for (uint64_t seq : seqs) {
    std::error_code ec;
    fs::remove(path_of(seq), ec);
    if (ec) {
      message = "cannot delete " + path_of(seq).string() + ": " + ec.message();
      return snapshot_status::io_error;
    }
  }
  discarded = !seqs.empty();
  // Durable before the new record: a crash in between must not leave old
  // snapshots next to a record of the new settings.
  if (discarded && !fsync_dir(dir_)) {
    message = "cannot sync " + dir_.string();
    return snapshot_status::io_error;
  }
  const fs::path tmp = dir_ / (std::string(kSettingsFile) + snapshot_format::kPartialSuffix);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  if (ok) {
    ok = ::write(fd, settings.data(), settings.size()) == static_cast<ssize_t>(settings.size()) &&
         ::fdatasync(fd) == 0;
    ok = ::close(fd) == 0 && ok;
  }
  std::error_code ec;
  if (ok) fs::rename(tmp, file, ec);
  if (!ok || ec || !fsync_dir(dir_)) {
    fs::remove(tmp, ec);
    message = "cannot write " + file.string();
    return snapshot_status::io_error;
  }
  return snapshot_status::ok;
}

void snapshot_store::remove(uint64_t seq) {
  std::error_code ec;
  fs::remove(path_of(seq), ec);
}

bool snapshot_store::remove_all() {
  std::string ignored;
  bool ok = true;
  for (const uint64_t seq : list(ignored)) {
    std::error_code ec;
    fs::remove(path_of(seq), ec);
    if (ec) ok = false;
  }
  return fsync_dir(dir_) && ok;
}

void snapshot_store::prune() {
  std::string ignored;
  const auto seqs = list(ignored);
  for (size_t i = keep_; i < seqs.size(); ++i) remove(seqs[i]);
}

}  // namespace rill::readmodels
