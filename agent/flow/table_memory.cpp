#include "agent/flow/table_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>
#include <utility>

namespace vigil::agent::flow {

TableMemory::TableMemory(size_t bytes) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  // Blocks of at least half a huge page are rounded up to whole huge pages
  // (a huge page can only back a fully covered, aligned 2 MiB range); small
  // ones (tests, tiny tables) stay page-granular.
  const size_t unit = bytes >= kHugePage / 2 ? kHugePage : page;
  page_ = unit;
  size_ = (bytes + unit - 1) / unit * unit;
  if (size_ == 0) size_ = page;
  // Over-map by one huge page and trim, so the block starts on a 2 MiB
  // boundary whatever address the kernel picks.
  const size_t span = unit == kHugePage ? size_ + kHugePage : size_;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    size_ = 0;
    throw std::bad_alloc();
  }
  auto* base = static_cast<uint8_t*>(raw);
  if (unit == kHugePage) {
    const auto addr = reinterpret_cast<uintptr_t>(base);
    const size_t head = (kHugePage - addr % kHugePage) % kHugePage;
    if (head > 0) munmap(base, head);
    const size_t tail = span - head - size_;
    if (tail > 0) munmap(base + head + size_, tail);
    base += head;
    // A hint: failure (THP disabled, old kernel) leaves small pages.
    (void)madvise(base, size_, MADV_HUGEPAGE);
  }
  data_ = base;
}

TableMemory::~TableMemory() {
  if (data_ != nullptr) munmap(data_, size_);
}

TableMemory::TableMemory(TableMemory&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      page_(std::exchange(o.page_, 0)) {}

TableMemory& TableMemory::operator=(TableMemory&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    page_ = std::exchange(o.page_, 0);
  }
  return *this;
}

}  // namespace vigil::agent::flow
