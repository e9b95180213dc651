#pragma once
// PooledAllocation<T>: class-specific operator new/delete that recycle
// freed objects of T through a per-thread free list instead of malloc.
//
// Why: the capture thread creates and destroys a per-flow object (flow
// extension, protocol analyzer) for most flows, hundreds of thousands per
// second, with lifetimes that end out of order (timeouts of different
// lengths). glibc's per-thread cache keeps only a few chunks per size, so
// that pattern lands in malloc's slow paths (bin searches, consolidation).
// A LIFO free list per type makes it a pointer pop and hands back a chunk
// that is still warm in cache. At most kMaxFree chunks per type and thread
// are kept; beyond that they go back to the heap, so the pool's memory is
// bounded by the peak churn, not the peak population.
//
// Usage: `class Foo : public PooledAllocation<Foo> { ... };` then plain
// new/delete or std::make_unique. Thread-safe: each thread has its own
// list; an object may be freed on another thread than the one that made it.

#include <cstddef>
#include <new>

namespace vigil::agent::analyzers {

template <typename T>
class PooledAllocation {
 public:
  static constexpr size_t kMaxFree = 4096;

  static void* operator new(size_t size) {
    FreeList& list = List();
    if (size == sizeof(T) && list.head != nullptr && !list.closed) {
      Node* n = list.head;
      list.head = n->next;
      --list.count;
      return n;
    }
    return ::operator new(size < sizeof(Node) ? sizeof(Node) : size);
  }

  static void operator delete(void* p, size_t size) noexcept {
    if (p == nullptr) return;
    FreeList& list = List();
    if (size == sizeof(T) && list.count < kMaxFree && !list.closed) {
      auto* n = static_cast<Node*>(p);
      n->next = list.head;
      list.head = n;
      ++list.count;
      return;
    }
    ::operator delete(p);
  }

 private:
  struct Node {
    Node* next;
  };
  struct FreeList {
    Node* head = nullptr;
    size_t count = 0;
    bool closed = false;  // the thread is exiting: plain heap from now on
    ~FreeList() {
      closed = true;
      while (head != nullptr) {
        Node* n = head;
        head = n->next;
        ::operator delete(n);
      }
    }
  };
  static FreeList& List() {
    thread_local FreeList list;
    return list;
  }
};

}  // namespace vigil::agent::analyzers
