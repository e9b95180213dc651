#pragma once
// TableMemory: a zero-filled block of memory for the flow table's big
// arrays (flow chunks, the hash index), mapped on its own and aligned to
// 2 MiB with transparent huge pages requested (madvise(MADV_HUGEPAGE)).
//
// Why: the flow table is touched at random, one or two cache lines per
// packet, over tens of megabytes. With 4 KiB pages nearly every such access
// also misses the TLB (a few thousand entries cover ~10 MiB) and pays a page
// walk; with 2 MiB pages the whole table fits in a few dozen entries. Where
// the kernel has no huge page to give (THP "never", fragmentation) the
// mapping still works with small pages: huge pages are a hint, not a need.
// Pages are only made resident when touched, so a table sized for its cap
// costs what its flows use.
//
// Owned by the FlowTable (one per chunk and one for the index). Move-only,
// not thread-safe.

#include <cstddef>

namespace vigil::agent::flow {

class TableMemory {
 public:
  /// Huge page size the blocks are aligned to.
  static constexpr size_t kHugePage = size_t{2} << 20;

  TableMemory() = default;
  /// Maps `bytes` (rounded up to the page size) of zeroed memory. Throws
  /// std::bad_alloc when the address space is exhausted, like operator new.
  explicit TableMemory(size_t bytes);
  ~TableMemory();
  TableMemory(TableMemory&& o) noexcept;
  TableMemory& operator=(TableMemory&& o) noexcept;
  TableMemory(const TableMemory&) = delete;
  TableMemory& operator=(const TableMemory&) = delete;

  void* data() const { return data_; }
  /// Bytes mapped (the request rounded up).
  size_t size() const { return size_; }
  /// The granule the block was rounded to: kHugePage, or the base page for
  /// blocks too small for huge pages.
  size_t page() const { return page_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
  size_t page_ = 0;
};

}  // namespace vigil::agent::flow
