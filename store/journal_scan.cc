#include "store/journal_scan.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <set>

#include "store/journal_format.h"
#include "store/record_check.h"
#include "store/segment_dir.h"
#include "store/segment_file.h"

namespace rill::store {

namespace {

using format::kHeaderSize;

std::string where(uint32_t index, uint64_t off) {
  return "segment " + format::segment_file_name(index) + " offset " + std::to_string(off);
}

class scanner {
 public:
  explicit scanner(const std::filesystem::path& dir, const std::vector<uint32_t>* listing = nullptr)
      : dir_(dir), listing_(listing) {}

  // Set when the scan saw the journal change under it (a file missed by the
  // listing, the end word stored since it was read): its result is then not
  // a verdict.
  bool stale_listing() const { return stale_listing_; }

  scan_result run() {
    std::string error;
    if (listing_) {
      idx_ = *listing_;
    } else if (list_segments(dir_, idx_, error) != io_status::ok) {
      return fail_io(error);
    }
    r_.segments = static_cast<uint32_t>(idx_.size());
    if (idx_.empty()) return r_;
    gap_at_ = idx_.size();
    for (size_t i = 1; i < idx_.size(); ++i) {
      if (idx_[i] != idx_[i - 1] + 1) {
        gap_at_ = i;
        break;
      }
    }
    if (!follow_chain()) return r_;
    examine_beyond_end();
    // On a live journal the writer may have stored the word where the log
    // ended since it was read: what lies beyond (later records, a header
    // naming a first seq) was then published meanwhile, not damage.
    if (r_.status == io_status::corrupt && kind_ == end_kind::empty) {
      record_info info;
      if (check_record(seg_->data(), seg_->size(), end_off_, expected_, true, info) !=
          record_state::empty)
        stale_listing_ = true;
    }
    return r_;
  }

 private:
  enum class end_kind { empty, bad, sealed };

  scan_result fail_io(const std::string& why) {
    r_.status = io_status::io_error;
    r_.reason = why;
    return r_;
  }

  void corrupt(uint32_t index, uint64_t off, uint64_t seq, std::string why) {
    if (r_.status == io_status::corrupt) return;
    r_.status = io_status::corrupt;
    r_.corrupt_segment = index;
    r_.corrupt_offset = off;
    r_.corrupt_seq = seq;
    r_.reason = std::move(why);
    r_.repairs.clear();
  }

  // Opens idx_[i] read-only. ok, corrupt (bad header: *bad_header set) or io_error.
  io_status open_seg(size_t i, std::unique_ptr<segment_file>& out, std::string& error) {
    io_status s = segment_file::open(dir_ / format::segment_file_name(idx_[i]),
                                     segment_file::access::read_only, true, idx_[i], out, error,
                                     true);
    if (s == io_status::ok && out->truncated() && !extended_.contains(idx_[i])) {
      extended_.insert(idx_[i]);
      // Bytes past the last whole word are cut off before extending.
      r_.repairs.push_back({scan_repair::kind::extend_file, idx_[i], out->size(),
                            out->file_size(), out->header().segment_size});
      r_.dropped_bytes += out->file_size() - out->size();
      truncated_note_ = "segment file " + format::segment_file_name(idx_[i]) + " truncated to " +
                        std::to_string(out->file_size()) + " bytes";
    }
    return s;
  }

  // Phase 1: follows the chain of valid records. false when it already
  // decided the outcome (corrupt / io_error).
  bool follow_chain() {
    std::string error;
    size_t i = 0;
    io_status s = open_seg(i, seg_, error);
    if (s == io_status::io_error) {
      fail_io(error);
      return false;
    }
    if (s == io_status::corrupt) {
      corrupt(idx_[0], 0, 0, error);
      return false;
    }
    uint64_t off = kHeaderSize;
    uint64_t expected = 0;
    bool first_in_seg = true;
    for (;;) {
      record_info info;
      record_state st = check_record(seg_->data(), seg_->size(), off, expected, true, info);
      if (st == record_state::ok) {
        if (first_in_seg) {
          const uint64_t hfs = seg_->load_first_seq();
          if (hfs == 0) {
            r_.repairs.push_back({scan_repair::kind::set_first_seq, idx_[i], 0, 0, info.seq});
          } else if (hfs != info.seq) {
            corrupt(idx_[i], kHeaderSize, info.seq,
                    "header first seq " + std::to_string(hfs) + " does not match first record seq " +
                        std::to_string(info.seq));
            return false;
          }
          first_in_seg = false;
        }
        if (r_.first_seq == 0) r_.first_seq = info.seq;
        r_.head = info.seq;
        ++r_.records;
        r_.bytes += info.size;
        expected = info.seq + 1;
        off += info.size;
        continue;
      }
      // The listing was taken before the chain was followed: on a live
      // journal (verify, dump) the writer may have created the next file
      // since. Look for it before calling it missing.
      if (st == record_state::end_marker && i + 1 >= gap_at_) relist_after(i);
      if (st == record_state::end_marker && i + 1 < gap_at_) {
        // Sealed before its first record, the segment holds none: its header
        // must not name a first seq (readers order the segments by it).
        if (first_in_seg && seg_->load_first_seq() != 0) {
          r_.repairs.push_back({scan_repair::kind::set_first_seq, idx_[i], 0, 0, 0});
        }
        ++i;
        s = open_seg(i, seg_, error);
        if (s == io_status::io_error) {
          fail_io(error);
          return false;
        }
        if (s == io_status::corrupt) {
          corrupt(idx_[i], 0, expected, error);
          return false;
        }
        off = kHeaderSize;
        first_in_seg = true;
        continue;
      }
      end_i_ = i;
      end_off_ = off;
      expected_ = expected;
      if (st == record_state::end_marker) {
        // The writer commits an end marker only once the next file exists
        // (created whole, then renamed, then the directory synced), and
        // recovery unseals a segment whose next file it removes: a sealed
        // segment without its successor lost a file.
        corrupt(idx_[i] + 1, 0, expected,
                "missing segment file " + format::segment_file_name(idx_[i] + 1) + " (segment " +
                    format::segment_file_name(idx_[i]) + " is sealed, so it was created)");
        return false;
      } else if (st == record_state::empty) {
        kind_ = end_kind::empty;
      } else {
        kind_ = end_kind::bad;
        bad_ = st;
      }
      // A segment without records (empty, bad from its first word, or sealed
      // before its first record) must not name a first seq.
      if (first_in_seg && seg_->load_first_seq() != 0) {
        r_.repairs.push_back({scan_repair::kind::set_first_seq, idx_[i], 0, 0, 0});
      }
      return true;
    }
  }

  // Adds segment files created since the listing (or missed by it), from
  // idx_[i] + 1 up to the next listed file.
  void relist_after(size_t i) {
    std::error_code ec;
    std::vector<uint32_t> added;
    const uint64_t listed_next = i + 1 < idx_.size() ? idx_[i + 1] : uint64_t{1} << 32;
    for (uint64_t next = uint64_t{idx_[i]} + 1;
         next < listed_next &&
         std::filesystem::exists(dir_ / format::segment_file_name(static_cast<uint32_t>(next)), ec);
         ++next)
      added.push_back(static_cast<uint32_t>(next));
    if (added.empty()) return;
    idx_.insert(idx_.begin() + static_cast<ptrdiff_t>(i + 1), added.begin(), added.end());
    r_.segments = static_cast<uint32_t>(idx_.size());
    gap_at_ = idx_.size();
    for (size_t k = 1; k < idx_.size(); ++k) {
      if (idx_[k] != idx_[k - 1] + 1) {
        gap_at_ = k;
        break;
      }
    }
  }

  bool gap_file_exists_now() const {
    std::error_code ec;
    return std::filesystem::exists(dir_ / format::segment_file_name(idx_[gap_at_ - 1] + 1), ec);
  }

  // Whether a segment file whose header cannot be used (its index does not
  // match its name, a bad checksum...) still holds a valid record after the
  // header: then it is data in the wrong place, not a file to remove.
  bool raw_file_holds_records(uint32_t index) {
    const auto path = dir_ / format::segment_file_name(index);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    bool holds = false;
    if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > kHeaderSize) {
      const auto size = static_cast<size_t>(st.st_size);
      void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m != MAP_FAILED) {
        record_info info;
        holds = check_record(static_cast<const char*>(m), size, kHeaderSize, 0, true, info) ==
                record_state::ok;
        ::munmap(m, size);
      }
    }
    ::close(fd);
    return holds;
  }

  void drop(uint32_t index, const byte_range& ext) {
    if (ext.empty()) return;
    r_.repairs.push_back({scan_repair::kind::zero_range, index, ext.begin, ext.end, 0});
    r_.dropped_bytes += ext.end - ext.begin;
  }

  bool valid_first_record(const segment_file& seg) {
    record_info info;
    return check_record(seg.data(), seg.size(), kHeaderSize, 0, true, info) == record_state::ok;
  }

  // Phase 2: what lies after the end of the log.
  void examine_beyond_end() {
    const uint32_t end_index = idx_[end_i_];
    bool spill = false;
    std::string note;
    if (kind_ == end_kind::empty) {
      byte_range ext = nonzero_extent(seg_->data(), seg_->fd(), end_off_ + 8, seg_->size());
      spill = !ext.empty() && contains_end_marker(seg_->data(), ext.begin, ext.end);
      // Records behind a zero commit word are the leftovers of a group whose
      // publish() never stored its first word. append() wrote that first
      // record's seq before any word of the group was stored, so a seq field
      // that is not the expected one means the record was damaged, not cut
      // short: every record behind it was published (and acknowledged).
      // A header first seq is stored only after every commit word of its
      // group, the first included (and both share the file's first page):
      // records behind a zero first word of such a segment were published.
      if (!ext.empty() && end_off_ == kHeaderSize && seg_->load_first_seq() != 0) {
        corrupt(end_index, end_off_, expected_,
                "the first commit word of the segment is zero, but its header names first seq " +
                    std::to_string(seg_->load_first_seq()) + ": its records were published");
        return;
      }
      if (!ext.empty() && end_off_ + format::kRecordHeaderSize <= seg_->size()) {
        const uint64_t seq_field = format::load_u64(seg_->data() + end_off_ + format::kRecSeq);
        const bool seq_ok = expected_ != 0 ? seq_field == expected_ : seq_field != 0;
        if (!seq_ok && (spill || find_valid_record_after(seg_->data(), seg_->size(), end_off_,
                                                         seg_->size(), expected_) != 0)) {
          corrupt(end_index, end_off_, expected_,
                  "a zeroed record header (seq field " + std::to_string(seq_field) +
                      "), and valid records follow it");
          return;
        }
      }
      drop(end_index, ext);
      if (!ext.empty()) note = "garbage after the end at " + where(end_index, end_off_);
    } else if (kind_ == end_kind::bad) {
      if (find_valid_record_after(seg_->data(), seg_->size(), end_off_, seg_->size(), expected_) != 0) {
        corrupt(end_index, end_off_, expected_,
                std::string(describe(bad_)) + ", and valid records follow in the segment");
        return;
      }
      byte_range ext = nonzero_extent(seg_->data(), seg_->fd(), end_off_, seg_->size());
      drop(end_index, ext);
      note = std::string("torn record at ") + where(end_index, end_off_) + " (" + describe(bad_) + ")";
    }
    // Later segments up to a gap.
    std::string error;
    size_t j = end_i_ + 1;
    for (; j < gap_at_; ++j) {
      std::unique_ptr<segment_file> later;
      io_status s = open_seg(j, later, error);
      if (s == io_status::io_error) {
        fail_io(error);
        return;
      }
      if (s == io_status::corrupt) break;  // bad header beyond the end: removed below
      if (valid_first_record(*later) && !spill) {
        if (kind_ == end_kind::bad) {
          corrupt(end_index, end_off_, expected_,
                  std::string(describe(bad_)) + ", and segment " +
                      format::segment_file_name(idx_[j]) + " holds later records");
        } else {
          corrupt(end_index, end_off_, expected_,
                  "empty record, but segment " + format::segment_file_name(idx_[j]) +
                      " holds later records");
        }
        return;
      }
      // publish() names a segment's first seq in its header only after
      // storing every commit word of the group, the first one included: a
      // segment whose header names one was published, so the empty word
      // before it is damage, not an unfinished group.
      if (spill && later->load_first_seq() != 0 && valid_first_record(*later)) {
        corrupt(end_index, end_off_, expected_,
                "empty record, but segment " + format::segment_file_name(idx_[j]) +
                    " holds published records from seq " + std::to_string(later->load_first_seq()));
        return;
      }
      byte_range ext = nonzero_extent(later->data(), later->fd(), kHeaderSize, later->size());
      if (!ext.empty()) {
        drop(idx_[j], ext);
        if (note.empty()) note = "garbage in segment " + format::segment_file_name(idx_[j]);
        if (spill) note += "; leftovers of an unpublished group removed";
      }
      if (later->load_first_seq() != 0) {
        r_.repairs.push_back({scan_repair::kind::set_first_seq, idx_[j], 0, 0, 0});
      }
    }
    // From a bad header or a gap on: files that must hold no records.
    const size_t remove_from = j;
    for (size_t k = remove_from; k < idx_.size(); ++k) {
      std::unique_ptr<segment_file> later;
      io_status s = open_seg(k, later, error);
      if (s == io_status::io_error) {
        fail_io(error);
        return;
      }
      const bool holds =
          s == io_status::ok ? valid_first_record(*later) : raw_file_holds_records(idx_[k]);
      if (s == io_status::corrupt && holds) {
        corrupt(idx_[k], 0, expected_,
                "segment " + format::segment_file_name(idx_[k]) + " holds records, but " + error);
        return;
      }
      if (holds) {
        if (k >= gap_at_ && gap_file_exists_now()) {
          // A live journal: the listing missed a file the writer created
          // while the directory was read. The caller scans again.
          stale_listing_ = true;
          return;
        }
        if (k >= gap_at_) {
          corrupt(idx_[gap_at_ - 1] + 1, 0, expected_,
                  "missing segment file " + format::segment_file_name(idx_[gap_at_ - 1] + 1));
        } else {
          corrupt(idx_[remove_from], 0, expected_,
                  "bad segment header, and segment " + format::segment_file_name(idx_[k]) +
                      " holds later records");
        }
        return;
      }
    }
    for (size_t k = remove_from; k < idx_.size(); ++k) {
      r_.repairs.push_back({scan_repair::kind::remove_file, idx_[k], 0, 0, 0});
    }
    if (remove_from < idx_.size()) {
      if (!note.empty()) note += "; ";
      note += std::to_string(idx_.size() - remove_from) + " empty or unreadable segment file(s) after " +
              format::segment_file_name(idx_[remove_from - 1]) + " removed";
    }
    if (!truncated_note_.empty()) {
      if (!note.empty()) note += "; ";
      note += truncated_note_;
    }
    r_.tail_index = end_index;
    r_.tail_offset = end_off_;
    r_.tail_sealed = kind_ == end_kind::sealed;
    r_.tail_note = note;
  }

  std::filesystem::path dir_;
  const std::vector<uint32_t>* listing_;  // the first listing, when given
  std::vector<uint32_t> idx_;
  std::set<uint32_t> extended_;
  std::string truncated_note_;
  size_t gap_at_ = 0;
  bool stale_listing_ = false;
  scan_result r_;
  std::unique_ptr<segment_file> seg_;  // the segment where the log ends
  size_t end_i_ = 0;
  uint64_t end_off_ = 0;
  uint64_t expected_ = 0;
  end_kind kind_ = end_kind::empty;
  record_state bad_ = record_state::ok;
};

}  // namespace

scan_result scan_journal(const std::filesystem::path& dir) {
  return scan_journal_listed(dir, {});
}

scan_result scan_journal_listed(const std::filesystem::path& dir,
                                const std::optional<std::vector<uint32_t>>& first_listing) {
  // A live journal changes while it is scanned: a directory read while files
  // are created may miss one of them (readdir makes no promise for entries
  // added meanwhile), and records are published behind the end the scan
  // found. Such a scan is taken again before anything is called damage. On a
  // journal no one writes, the first scan is final.
  for (int attempt = 1;; ++attempt) {
    scanner s(dir, attempt == 1 && first_listing ? &*first_listing : nullptr);
    scan_result r = s.run();
    if (!s.stale_listing()) return r;
    if (attempt == 16) {
      r.status = io_status::io_error;
      r.reason = "the journal kept changing while " + dir.string() + " was scanned";
      return r;
    }
  }
}

}  // namespace rill::store
